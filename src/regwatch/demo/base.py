"""What the synthetic generator's modules share: input tables built column-wise, timestamps, names, customers.

:mod:`regwatch.demo` draws the platform; :mod:`regwatch.demo.typologies` and
:mod:`regwatch.demo.screening` plant their cases into the same tables with these helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from regwatch.contract import CONTRACTS

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]

DAY_SECONDS = 86_400


def iso(ordinals: IntArray) -> list[str]:
    cache: dict[int, str] = {}
    result: list[str] = []
    for o in ordinals.tolist():
        text = cache.get(o)
        if text is None:
            text = cache[o] = date.fromordinal(o).isoformat()
        result.append(text)
    return result


def stamps(seconds: IntArray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS`` from seconds counted from day 1 of the proleptic calendar."""
    days = iso(seconds // DAY_SECONDS)
    secs = (seconds % DAY_SECONDS).tolist()
    return [f"{d} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for d, s in zip(days, secs, strict=True)]


@dataclass
class Table:
    """Rows of one input file over the whole run, column-wise, with the folder of each row."""

    name: str
    columns: dict[str, list[str]]
    day: IntArray
    protected: BoolArray  # rows tied to a planted case: never corrupted, never copied

    def __len__(self) -> int:
        return len(self.day)


def table(name: str, parts: Sequence[Table]) -> Table:
    names = CONTRACTS[name].column_names
    columns: dict[str, list[str]] = {c: [] for c in names}
    for part in parts:
        for c in names:
            columns[c].extend(part.columns[c])
    day = np.concatenate([p.day for p in parts]) if parts else np.zeros(0, np.int64)
    protected = np.concatenate([p.protected for p in parts]) if parts else np.zeros(0, np.bool_)
    return Table(name, columns, day.astype(np.int64), protected.astype(np.bool_))


def part(
    name: str, columns: dict[str, list[str]], day: IntArray, protected: BoolArray | None = None
) -> Table:
    n = len(day)
    for c in CONTRACTS[name].column_names:
        if len(columns[c]) != n:
            raise AssertionError(f"{name}.{c}: {len(columns[c])} values for {n} rows")
    return Table(name, columns, day, protected if protected is not None else np.zeros(n, np.bool_))


SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Gao",
    "Luo",
    "Zheng",
    "Liang",
    "Xie",
    "Song",
    "Tang",
    "Han",
    "Feng",
    "Deng",
    "Cao",
    "Peng",
    "Zeng",
    "Xiao",
    "Tian",
    "Dong",
    "Pan",
    "Yuan",
    "Cai",
    "Jiang",
    "Yu",
    "Du",
]
SYLLABLES = [
    "wei",
    "fang",
    "na",
    "min",
    "jing",
    "li",
    "qiang",
    "lei",
    "jun",
    "yang",
    "yong",
    "yan",
    "jie",
    "tao",
    "ming",
    "chao",
    "xiu",
    "ying",
    "hua",
    "ping",
    "gang",
    "hui",
    "xin",
    "bo",
    "yu",
    "hao",
    "lin",
    "dan",
    "kai",
    "rui",
    "jian",
    "guo",
    "zhi",
    "hong",
    "mei",
    "xia",
    "long",
    "peng",
    "fei",
    "lan",
]


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    surname = rng.integers(0, len(SURNAMES), n).tolist()
    first = rng.integers(0, len(SYLLABLES), n).tolist()
    second = rng.integers(0, len(SYLLABLES), n).tolist()
    two = (rng.random(n) < 0.6).tolist()
    return [
        f"{SURNAMES[s]} {SYLLABLES[a].capitalize()}{SYLLABLES[b] if t else ''}"
        for s, a, b, t in zip(surname, first, second, two, strict=True)
    ]


@dataclass
class Customers:
    ids: list[str]
    is_entity: BoolArray
    open_day: IntArray  # folder index the customer's first account arrives in
    accounts_of: list[list[int]]  # account indexes per customer
    account_ids: list[str]
    account_customer: IntArray
    account_open_day: IntArray
    account_active: BoolArray
    country: list[str]


#: The currencies of the platform (CNY first); the FX file gives CNY per unit of the others.
FX_CURRENCIES: tuple[str, ...] = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY")
FOREIGN_COUNTRIES = ("HK", "SG", "US", "GB", "JP", "DE", "AU", "MO")


class DemoError(ValueError):
    """The arguments describe no platform (e.g. no business day in the range)."""


def money(cents: IntArray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def ids(prefix: str, numbers: IntArray, width: int) -> list[str]:
    return [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]


def rates(values: FloatArray, places: int) -> list[str]:
    return [f"{v:.{places}f}" for v in values.tolist()]


def round_half_up(x: npt.NDArray[np.floating[Any]] | npt.NDArray[np.int64]) -> IntArray:
    result: IntArray = np.floor(x + 0.5).astype(np.int64)
    return result


def to_datetime64(ordinals: IntArray) -> DateArray:
    epoch = date(1970, 1, 1).toordinal()
    return (ordinals - epoch).astype("datetime64[D]")
