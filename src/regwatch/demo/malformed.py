"""Malformed rows of every bad-input class, injected into the written landing files, with their
truth (``malformed.csv``): what ingest must quarantine, row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from regwatch.contract import CONTRACTS
from regwatch.demo.base import BoolArray
from regwatch.demo.base import Table as _Table

BAD_INPUT_CLASSES: tuple[str, ...] = (
    "wrong_type",
    "missing_required",
    "negative_amount",
    "unknown_enum",
    "duplicate_key",
    "unparseable_date",
    "unknown_currency",
    "invalid_utf8",
)
# Lone surrogates encode (surrogateescape) to the raw bytes 0xff 0xfe: invalid UTF-8.
_INVALID_UTF8 = "\udcff\udcfe"


_Corruption = tuple[str, Callable[[str], str]]


def _wrong_number(value: str) -> str:
    return value.replace("0", "o", 1) if "0" in value else value[:1] + "o" + value[1:]


def _bad_date(value: str) -> str:
    day, _, time = value.partition(" ")
    y, m, d = day.split("-")
    text = f"{d}/{m}/{y}" if int(d) % 2 else f"{y}-02-30"
    return f"{text} {time}" if time else text


# file -> class -> options (column, how to corrupt the value)
_CORRUPTIONS: dict[str, dict[str, list[_Corruption]]] = {
    "transactions": {
        "wrong_type": [("amount", _wrong_number)],
        "missing_required": [
            ("account_id", lambda v: ""),
            ("amount", lambda v: ""),
            ("txn_at", lambda v: ""),
        ],
        "negative_amount": [("amount", lambda v: "-" + v)],
        "unknown_enum": [("channel", lambda v: "atm"), ("direction", lambda v: "in")],
        "unparseable_date": [("txn_at", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
        "invalid_utf8": [("purpose", lambda v: v[:2] + _INVALID_UTF8 + v[2:])],
    },
    "repayments": {
        "wrong_type": [("principal_paid", _wrong_number), ("installment_no", lambda v: "one")],
        "missing_required": [("loan_id", lambda v: ""), ("paid_at", lambda v: "")],
        "negative_amount": [("interest_paid", lambda v: "-" + v), ("penalty_paid", lambda v: "-12.50")],
        "unknown_enum": [("payer_type", lambda v: "insurer")],
        "unparseable_date": [("paid_at", _bad_date)],
    },
    "fundings": {
        "wrong_type": [("amount", _wrong_number)],
        "missing_required": [("funder_id", lambda v: ""), ("loan_id", lambda v: "")],
        "negative_amount": [("amount", lambda v: "-" + v)],
        "unknown_enum": [("funder_type", lambda v: "bank")],
        "unparseable_date": [("funded_at", _bad_date)],
    },
    "loans": {
        "wrong_type": [("principal", _wrong_number), ("term_months", lambda v: "twelve")],
        "missing_required": [("borrower_id", lambda v: ""), ("contract_date", lambda v: "")],
        "negative_amount": [("principal", lambda v: "-" + v)],
        "unknown_enum": [("repayment_method", lambda v: "balloon")],
        "unparseable_date": [("contract_date", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
    },
    "schedules": {
        "wrong_type": [("principal_due", _wrong_number)],
        "missing_required": [("due_date", lambda v: "")],
        "negative_amount": [("interest_due", lambda v: "-" + v)],
        "unparseable_date": [("due_date", _bad_date)],
    },
    "accounts": {
        "missing_required": [("phone", lambda v: ""), ("id_number", lambda v: "")],
        "unknown_enum": [("status", lambda v: "suspended"), ("customer_type", lambda v: "person")],
        "unparseable_date": [("opened_at", _bad_date)],
        "invalid_utf8": [("full_name", lambda v: v[:3] + _INVALID_UTF8 + v[3:])],
    },
    "fx_rates": {
        "wrong_type": [("cny_per_unit", _wrong_number)],
        "negative_amount": [("cny_per_unit", lambda v: "-" + v)],
        "unparseable_date": [("rate_date", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
    },
}
# How much each file attracts bad rows: ordinary traffic most, reference-like files least.
_FILE_WEIGHTS = {
    "transactions": 4.0,
    "repayments": 2.0,
    "fundings": 2.0,
    "loans": 1.0,
    "schedules": 1.0,
    "accounts": 1.0,
    "fx_rates": 0.2,
}
# Rows of these files are corrupted in place (they tie to no planted case); other files
# get extra rows so every planted loan, schedule and account stays exact.
_IN_PLACE = ("transactions", "repayments", "fundings")


@dataclass
class _Injection:
    file: str
    day: int
    bad_class: str


@dataclass
class _DayFile:
    lines: list[str]
    marks: list[tuple[str, str] | None] = field(default_factory=list)


def plan_malformed(
    rng: np.random.Generator, tables: dict[str, _Table], n_days: int, count: int, every_class: bool
) -> list[_Injection]:
    eligible_days: dict[str, list[int]] = {}
    for name, table in tables.items():
        ok = table.day[~table.protected]
        eligible_days[name] = sorted(set(np.unique(ok).tolist()))
    plan: list[_Injection] = []
    for i in range(count):
        bad_class = (
            BAD_INPUT_CLASSES[i]
            if every_class and i < len(BAD_INPUT_CLASSES)
            else str(rng.choice(BAD_INPUT_CLASSES))
        )
        files = [
            f
            for f in _FILE_WEIGHTS
            if eligible_days[f] and (bad_class == "duplicate_key" or bad_class in _CORRUPTIONS[f])
        ]
        if not files:
            continue
        weights = np.array([_FILE_WEIGHTS[f] for f in files])
        file = files[int(rng.choice(len(files), p=weights / weights.sum()))]
        day = eligible_days[file][int(rng.integers(0, len(eligible_days[file])))]
        plan.append(_Injection(file, day, bad_class))
    return plan


def inject(
    rng: np.random.Generator,
    name: str,
    cols: list[list[str]],
    protected: BoolArray,
    injections: list[_Injection],
) -> _DayFile:
    """Apply one day's bad rows to one file: corruptions in place, extra rows, duplicate copies."""
    columns = CONTRACTS[name].column_names
    position = {c: i for i, c in enumerate(columns)}
    n_rows = len(protected)
    n_free = int((~protected).sum())
    used: set[int] = set()  # corrupted in place, or the source of an extra row
    extras: list[tuple[int, list[str], tuple[str, str]]] = []  # (insert after this row, fields, mark)
    marks: list[tuple[str, str] | None] = [None] * n_rows
    changed: dict[int, list[str]] = {}

    def take() -> int | None:
        if len(used) >= n_free:
            return None
        while True:
            i = int(rng.integers(0, n_rows))
            if not protected[i] and i not in used:
                used.add(i)
                return i

    for inj in injections:
        if inj.bad_class == "duplicate_key":
            src = take()
            if src is None:
                continue
            copy = [col[src] for col in cols]
            if rng.random() < 0.5:
                money = [
                    c
                    for c in columns
                    if CONTRACTS[name].column(c).type in ("decimal", "rate") and copy[position[c]]
                ]
                if money:
                    c = money[int(rng.integers(0, len(money)))]
                    copy[position[c]] = _altered_amount(copy[position[c]])
            after = int(rng.integers(src, n_rows))
            extras.append((after, copy, ("duplicate_key", ", ".join(CONTRACTS[name].key))))
            continue
        options = _CORRUPTIONS[name][inj.bad_class]
        column, corrupt = options[int(rng.integers(0, len(options)))]
        target = take()
        if target is None:
            continue
        fields = [col[target] for col in cols]
        fields[position[column]] = corrupt(fields[position[column]])
        if name in _IN_PLACE:
            changed[target] = fields
            marks[target] = (inj.bad_class, column)
        else:
            extras.append((int(rng.integers(-1, n_rows)), fields, (inj.bad_class, column)))
    lines = list(map(",".join, zip(*cols, strict=True))) if cols else []
    for i, fields in changed.items():
        lines[i] = ",".join(fields)
    if not extras:
        return _DayFile(lines, marks)
    # Insert from the back so earlier positions stay valid; a copy lands after its original.
    extras.sort(key=lambda e: e[0])
    for after, fields, mark in reversed(extras):
        lines.insert(after + 1, ",".join(fields))
        marks.insert(after + 1, mark)
    return _DayFile(lines, marks)


def _altered_amount(value: str) -> str:
    whole, _, frac = value.partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2]) + 100
    return f"{cents // 100}.{cents % 100:02d}" + ("0" * (len(frac) - 2) if len(frac) > 2 else "")
