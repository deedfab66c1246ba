"""PII masking for everything a report shows (private by default).

ID numbers keep their first 6 characters (issuing region) and last 4 — enough for
an analyst to tell two people apart on screen — and phones keep their first 3 and
last 4, the way Chinese banks print them. Free text is scanned too, so an ID number
or phone inside an evidence field or a quarantined raw record never escapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# 18-character resident ID / unified social credit code, 15-digit legacy ID,
# mainland mobile, landline with area code. Bounded so longer digit runs (amounts,
# transaction ids) are left alone.
_ID_18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Z]{18}(?![0-9A-Za-z])")
_ID_15 = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{5})([0-9]{4})(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0[0-9]{2,3})-([0-9]{4})([0-9]{3,4})(?![0-9])")
_PII_KEYS = ("id_number", "phone", "mobile")


def _is_id_like(text: str) -> bool:
    # An 18-character token is an ID only if it is mostly digits (codes like
    # "PAY-L0001234-12" or hashes are not).
    return sum(ch.isdigit() for ch in text) >= 14


def mask_id_number(value: str) -> str:
    value = value.strip()
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every ID number and phone number found anywhere in ``text``."""

    def id_18(match: re.Match[str]) -> str:
        token = match.group(0)
        return mask_id_number(token) if _is_id_like(token) else token

    text = _ID_18.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _CREDIT_CODE.sub(id_18, text)
    text = _ID_15.sub(lambda m: m.group(1) + "*****" + m.group(3), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


def mask_value(key: str, value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    lowered = key.lower()
    if "id_number" in lowered:
        return mask_id_number(value)
    if "phone" in lowered or "mobile" in lowered:
        return mask_phone(value)
    return mask_text(value)


def mask_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with PII fields masked by name and free text scanned."""
    return {key: mask_value(key, value) for key, value in record.items()}


def is_pii_key(key: str) -> bool:
    return any(part in key.lower() for part in _PII_KEYS)
