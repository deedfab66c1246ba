"""No ID number or phone survives masking, wherever it hides."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from regwatch.masking import mask_id_number, mask_phone, mask_record, mask_text

ID_18 = re.compile(r"[0-9]{17}[0-9X]")
MOBILE = re.compile(r"1[3-9][0-9]{9}")


def test_partial_masks() -> None:
    assert mask_id_number("110101199003074477") == "110101********4477"
    assert mask_phone("13812345678") == "138****5678"


def test_record_masks_by_name_and_by_content() -> None:
    record = {
        "id_number": "91440300MA5ABCDE12",
        "phone": "021-55501234",
        "note": "call 13912345678 about 11010119900307447X",
        "amount": "50000.00",
        "transaction_ids": "T000000123,T000000124",
    }
    masked = mask_record(record)
    assert masked["id_number"] == "914403********DE12"
    assert masked["phone"] == "021*****1234"
    assert masked["note"] == "call 139****5678 about 110101********447X"
    assert masked["amount"] == "50000.00" and masked["transaction_ids"] == record["transaction_ids"]


@given(
    prefix=st.text(alphabet="abc ,;:|-", max_size=5),
    digits=st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
    mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
)
def test_nothing_survives_in_free_text(prefix: str, digits: str, mobile: str) -> None:
    text = f"{prefix}{digits} {prefix}{mobile}{prefix}"
    masked = mask_text(text)
    assert not ID_18.search(masked) and not MOBILE.search(masked)
