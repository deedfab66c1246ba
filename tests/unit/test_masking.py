"""No ID number or phone survives masking, wherever it hides."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch.reporting.masking import mask_id_number, mask_phone, mask_record, mask_text

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


def _luhn_ok(number: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if n % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


CARD_19 = "6222020200112233446"  # a 19-digit debit card number, Luhn-valid
CARD_16 = "4111111111111111"


def test_amounts_are_never_masked() -> None:
    """Issue 14 point 4: an 11-digit amount is no phone number, an 18-digit one no ID."""
    record = {
        "amount": "14812345312.16",
        "amount_cny": "-14812345312.16",
        "largest_amount_cny": "110101199003074477.00",
        "message": "Transfers of CNY 14812345312.16 on 2025-06-02 (call 13912345678.)",
    }
    masked = mask_record(record)
    assert masked["amount"] == "14812345312.16"
    assert masked["amount_cny"] == "-14812345312.16"
    assert masked["largest_amount_cny"] == "110101199003074477.00"
    assert masked["message"] == "Transfers of CNY 14812345312.16 on 2025-06-02 (call 139****5678.)"
    assert (
        mask_text("T9,A1,credit,14812345312.16,CNY,13812345678")
        == "T9,A1,credit,14812345312.16,CNY,138****5678"
    )


def test_bank_card_numbers_are_masked_like_id_numbers() -> None:
    """Issue 15 point 9: card numbers are personal financial information (JR/T 0171-2020)."""
    assert _luhn_ok(CARD_19) and _luhn_ok(CARD_16)
    masked = mask_record(
        {
            "counterparty_account": CARD_19,
            "account": CARD_16,
            "card_number": "6222 0202 0011 2233 446",
            "note": f"paid to card {CARD_19}; raw row T1,A1,{CARD_16},Zhang Wei",
        }
    )
    assert masked["counterparty_account"] == "622202*********3446"
    assert masked["account"] == "411111******1111"
    assert masked["card_number"] == "622202*********3446"
    assert masked["note"] == "paid to card 622202*********3446; raw row T1,A1,411111******1111,Zhang Wei"
    # not a card: a 20-digit corporate account, a 19-digit number failing Luhn, an account id
    kept = {
        "counterparty_account": "11050162510000000001",
        "account_id": "A1",
        "other": "6222020200112233445",
    }
    assert mask_record(kept) == kept


# --------------------------------------------------------------------------- the fast paths are exact


# The masking as it was before its fast paths (one scan deciding that nothing can match, the
# field's kind by name cached, Luhn over slices): every value must come out the same.
def _reference_is_card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value.strip())
    if not (digits.isdigit() and 16 <= len(digits) <= 19):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _reference_text(text: str) -> str:
    from regwatch.reporting import masking as m

    def id_18(match: re.Match[str]) -> str:
        token = match.group(0)
        return m.mask_id_number(token) if m._is_id_like(token) else token

    def card(match: re.Match[str]) -> str:
        token = match.group(0)
        return m.mask_card_number(token) if _reference_is_card(token) else token

    text = m._ID_18.sub(lambda x: m.mask_id_number(x.group(0)), text)
    text = m._CREDIT_CODE.sub(id_18, text)
    text = m._CARD.sub(card, text)
    text = m._ID_15.sub(lambda x: x.group(1) + "*****" + x.group(3), text)
    text = m._MOBILE.sub(lambda x: x.group(1) + "****" + x.group(3), text)
    return m._LANDLINE.sub(lambda x: f"{x.group(1)}-****{x.group(3)}", text)


def _reference_value(key: str, value: str) -> str:
    lowered = key.lower()
    if "id_number" in lowered:
        return mask_id_number(value)
    if "phone" in lowered or "mobile" in lowered:
        return mask_phone(value)
    if any(part in lowered for part in ("account", "card")) and _reference_is_card(value):
        return mask_id_number(re.sub(r"[ -]", "", value))
    if re.match(r"^\s*[+-]?[0-9]+\.[0-9]+\s*$", value):
        return value
    return _reference_text(value)


# Digit runs of every length that matters (7 for a landline's number, 11 mobiles, 14-19 IDs,
# credit codes and cards), Luhn-valid card numbers, separators and letters around them.
_PIECES = st.one_of(
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"0[0-9]{2,3}-[0-9]{7,8}", fullmatch=True),
    st.from_regex(r"[0-9A-Z]{18}", fullmatch=True),
    st.from_regex(r"[0-9]{17}[0-9Xx]", fullmatch=True),
    st.sampled_from([CARD_16, CARD_19, "6222 0202 0011 2233 446", "TB0010000012345", "AB000012345"]),
    st.text(alphabet="abcXT .,;:|-+", max_size=4),
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # from_regex draws on a loaded machine
@given(
    pieces=st.lists(_PIECES, max_size=8),
    key=st.sampled_from(["note", "counterparty_account", "id_number", "phone", "card_no", "purpose"]),
)
def test_fast_masking_equals_the_reference(pieces: list[str], key: str) -> None:
    text = "".join(pieces)
    assert mask_text(text) == _reference_text(text)
    assert mask_record({key: text})[key] == _reference_value(key, text)
