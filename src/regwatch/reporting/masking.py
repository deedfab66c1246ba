"""PII masking for everything a report shows (private by default).

ID numbers keep their first 6 characters (issuing region) and last 4 — enough for
an analyst to tell two people apart on screen — and phones keep their first 3 and
last 4, the way Chinese banks print them. Bank-card numbers are personal financial
information (JR/T 0171-2020, account information): they are masked like ID numbers,
first 6 (the issuer's BIN) and last 4, as card receipts print them.

Masking is by field first: a field named for an ID number or a phone is masked as
one, an account or card field holding a card number (16-19 digits, Luhn-valid) as a
card, and a decimal number (an amount, a rate: it has a fractional part) is never
touched - an amount of ``14812345312.16`` is no phone number (issue 14). Every other
string is free text (names, notes, messages, a quarantined raw record), scanned for
ID numbers, phones and card numbers, so none escapes; the patterns never match
inside a decimal number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

# Not part of a longer digit run, and not the integer or fractional part of a decimal.
_BEFORE = r"(?<![0-9])(?<![0-9]\.)"
_AFTER = r"(?![0-9])(?!\.[0-9])"
# 18-character resident ID / unified social credit code, 15-digit legacy ID,
# mainland mobile, landline with area code, bank card. Bounded so longer digit runs
# (transaction ids) and decimals (amounts) are left alone.
_ID_18 = re.compile(_BEFORE + r"[0-9]{17}[0-9Xx]" + _AFTER)
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])(?<![0-9]\.)[0-9A-Z]{18}(?![0-9A-Za-z])(?!\.[0-9])")
_ID_15 = re.compile(_BEFORE + r"([0-9]{6})([0-9]{5})([0-9]{4})" + _AFTER)
_MOBILE = re.compile(_BEFORE + r"(1[3-9][0-9])([0-9]{4})([0-9]{4})" + _AFTER)
_LANDLINE = re.compile(_BEFORE + r"(0[0-9]{2,3})-([0-9]{4})([0-9]{3,4})" + _AFTER)
_CARD = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]\.)[0-9]{16,19}(?![0-9A-Za-z])(?!\.[0-9])"
)  # not inside an id like T00..
_DECIMAL = re.compile(r"^\s*[+-]?[0-9]+\.[0-9]+\s*$")
_CARD_KEYS = ("account", "card")
#: Any place one of the patterns above matches: where none does, :func:`mask_text` changes
#: nothing (each substitution then sees the text unchanged), so one scan decides it.
_ANY = re.compile(
    "|".join(f"(?:{p.pattern})" for p in (_ID_18, _CREDIT_CODE, _CARD, _ID_15, _MOBILE, _LANDLINE))
)
_SEPARATORS = re.compile(r"[ -]")
#: Luhn: a doubled digit's digit sum (2 x 7 = 14 -> 5).
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _is_id_like(text: str) -> bool:
    # An 18-character token is an ID only if it is mostly digits (codes like
    # "PAY-L0001234-12" or hashes are not).
    return sum(ch.isdigit() for ch in text) >= 14


def is_card_number(value: str) -> bool:
    """16-19 digits (spaces or hyphens between groups allowed) passing the Luhn check (ISO/IEC 7812)."""
    digits = _SEPARATORS.sub("", value.strip())
    if not (digits.isdigit() and 16 <= len(digits) <= 19):
        return False
    backwards = digits[::-1]
    total = sum(int(char) for char in backwards[0::2]) + sum(_DOUBLED[int(char)] for char in backwards[1::2])
    return total % 10 == 0


def mask_id_number(value: str) -> str:
    value = value.strip()
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_card_number(value: str) -> str:
    """First 6 and last 4 digits of a card number (separators dropped)."""
    return mask_id_number(re.sub(r"[ -]", "", value))


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every ID number, phone number and bank-card number found in free ``text``."""
    if _ANY.search(text) is None:  # most values (names, purposes, transaction ids): nothing to mask
        return text

    def id_18(match: re.Match[str]) -> str:
        token = match.group(0)
        return mask_id_number(token) if _is_id_like(token) else token

    def card(match: re.Match[str]) -> str:
        token = match.group(0)
        return mask_card_number(token) if is_card_number(token) else token

    text = _ID_18.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _CREDIT_CODE.sub(id_18, text)
    text = _CARD.sub(card, text)
    text = _ID_15.sub(lambda m: m.group(1) + "*****" + m.group(3), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


@functools.lru_cache(maxsize=4096)
def _field_kind(key: str) -> str:
    """What a field's name says it holds: ``id_number``, ``phone``, ``card`` (may hold a card) or ``text``."""
    lowered = key.lower()
    if "id_number" in lowered:
        return "id_number"
    if "phone" in lowered or "mobile" in lowered:
        return "phone"
    if any(part in lowered for part in _CARD_KEYS):
        return "card"
    return "text"


def mask_value(key: str, value: Any) -> Any:
    """One field masked by what its name says it holds; other strings scanned as free text."""
    if value is None or not isinstance(value, str):
        return value
    kind = _field_kind(key)
    if kind == "id_number":
        return mask_id_number(value)
    if kind == "phone":
        return mask_phone(value)
    if kind == "card" and is_card_number(value):
        return mask_card_number(value)
    if _DECIMAL.match(value):
        return value  # an amount or a rate: never PII
    return mask_text(value)


def mask_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with PII fields masked by name and free text scanned."""
    return {key: mask_value(key, value) for key, value in record.items()}
