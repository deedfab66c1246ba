"""Planted cases of watch-list screening, borrower rings, loan proceeds moved on and account churn.

Called once from :func:`regwatch.demo.generate` with its own random stream (so the
rest of the platform draws exactly what it drew before), it changes the generated
tables in place of nothing else than:

- ``watchlist.csv``: a first delivery on day 1 and a second mid-period that drops one
  entry and adds one (a delivery is the whole list). Every listed name is invented
  and chosen so that no name the generator can draw for an ordinary customer or
  counterparty scores within 6 points of the match threshold.
- customers renamed to listed names in the variants real data carries (case and
  punctuation, word order, diacritics, spacing, spelling, an alias, a company's legal
  form written otherwise) and to similar-but-different names (near misses);
  counterparties with listed names in transfers, before and after the list changes.
- rings of 3 and more borrowers sharing a device or the external account their
  repayments come from (one ring formed only mid-period), and near misses: two
  borrowers, or two borrowers and a customer who never borrowed.
- loans whose proceeds go to third parties within the window (at exactly the share,
  above it, in one or several transfers) and near misses (just under the share, after
  the window, to the borrower's own account).
- customers opening and closing accounts (exactly the count, above it) and near
  misses (one event short; one event before the window).

Ordinary repayments arrive from the borrower's own card (in the borrower's name): a
platform-wide pool of counterparty accounts would otherwise link strangers. Thresholds
are the pack's parameters, read by :mod:`regwatch.demo.calibration`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from regwatch.demo.calibration import Calibration
from regwatch.screening import score

if TYPE_CHECKING:
    from regwatch.demo.base import Table as _Table

CUSTOMER_RULE = "cn.aml.watchlist_customer_match"
COUNTERPARTY_RULE = "cn.aml.watchlist_counterparty_match"
RING_RULE = "cn.aml.borrower_ring"
PROCEEDS_RULE = "cn.aml.loan_proceeds_moved_on"
CHURN_RULE = "cn.aml.account_churn"
RULES = (CUSTOMER_RULE, COUNTERPARTY_RULE, RING_RULE, PROCEEDS_RULE, CHURN_RULE)

WATCHLIST_COLUMNS = ("list_id", "name", "aliases", "date_of_birth", "country", "list_name")
_DAY_SECONDS = 86_400
_UN = "UN Security Council Consolidated List"
_MPS = "MPS Terrorist Organisations and Persons"
_PBOC = "PBOC High-Risk Persons"

Row = tuple[str, str, str, str, str, str]


@dataclass(frozen=True)
class _Entry:
    list_id: str
    name: str
    aliases: tuple[str, ...]
    country: str
    list_name: str
    entity: bool = False


# (entry, must-fire customer variant, kind) — the customer's birth date becomes the listed one.
_ENTRIES: tuple[_Entry, ...] = (
    _Entry("WL-0001", "Ouyang Baoshan", ("Au-Yeung Po Shan",), "CN", _MPS),
    _Entry("WL-0002", "Sima Tianxiong", (), "CN", _MPS),
    _Entry("WL-0003", "Murong Xiaofeng", ("Murong Hsiao-feng",), "CN", _PBOC),
    _Entry("WL-0004", "Karim Al-Masri", ("Abu Yusuf", "K. Masri"), "SY", _UN),
    _Entry("WL-0005", "José Muñoz Peña", (), "CO", _UN),
    _Entry("WL-0006", "Dmitri Volkonsky", ("Dmitrii Volkonskii",), "RU", _UN),
    _Entry("WL-0007", "Tariq Bin Suleiman", (), "YE", _UN),
    _Entry("WL-0008", "Mustafa Kemal Aydin", (), "TR", _PBOC),
    _Entry("WL-0009", "Golden Crescent Trading LLC", ("GCT General Trading",), "AE", _UN, entity=True),
    _Entry("WL-0010", "Leila Farahani", (), "IR", _UN),
    _Entry("WL-0011", "Nadia Okonkwo-Bassey", (), "NG", _PBOC),
    _Entry("WL-0012", "Shangguan Ruoxue", (), "CN", _MPS),
    _Entry("WL-0013", "Ignacio Barrientos Ruiz", (), "VE", _UN),
    _Entry("WL-0014", "Omar Sheikh Abdirahman", ("Omar Abdi",), "SO", _UN),
    _Entry("WL-0015", "Farid Haqqani Rahimi", (), "AF", _UN),
    _Entry("WL-0016", "Zhuge Kunpeng", (), "CN", _PBOC),
    _Entry("WL-0017", "Sokolova Irina", (), "RU", _PBOC),
    _Entry("WL-0018", "Viktor Sergeyevich Orlov", (), "RU", _UN),
    _Entry("WL-0019", "Situ Yingqiong", (), "CN", _MPS),
    _Entry("WL-0020", "Nguyen Thi Phuong Thao", (), "VN", _PBOC),
)
#: Dropped by the second delivery, and added by it.
_REMOVED = "WL-0019"
_ADDED = _Entry("WL-0021", "Ahmad Zaki Yamani Baig", ("Zaki Baig",), "PK", _UN)

# Customers renamed to a listed name: (list id, the name as the platform holds it, kind, fires).
_CUSTOMER_CASES: tuple[tuple[str, str, str, bool], ...] = (
    ("WL-0001", "OUYANG bao-shan.", "case_and_punctuation", True),
    ("WL-0003", "Xiaofeng MURONG", "word_order", True),
    ("WL-0005", "Jose Munoz Pena", "diacritics_dropped", True),
    ("WL-0008", "Mustafa Kemal Aydın", "diacritics_added", True),
    ("WL-0002", "Tian Xiong Sima", "spacing_and_order", True),
    ("WL-0006", "Dmitry Volkonsky", "spelling_variant", True),
    ("WL-0004", "Abu Yusuf", "alias", True),
    ("WL-0012", "Shangguan Ruoxue", "exact", True),
    ("WL-0009", "GOLDEN CRESCENT TRADING L.L.C.", "entity_legal_form", True),
    ("WL-0019", "Situ Yingqiong", "delisted_later", True),
    ("WL-0021", "BAIG Ahmad Zaki Yamani", "listed_later", True),
    ("WL-0010", "Leila Faraji", "similar_name", False),
    ("WL-0016", "Zhuge Kunming", "similar_name", False),
    ("WL-0017", "Irina Sokolovskaya", "similar_name", False),
    ("WL-0011", "Nadia Okonkwo", "name_part", False),
    ("WL-0009", "Golden Crescent Trading Co. Ltd.", "similar_company", False),
)
# Counterparties named like a listed party in a transfer: (list id, name, kind, fires, when).
# when: "early" = before the second delivery, "late" = from it on.
_COUNTERPARTY_CASES: tuple[tuple[str, str, str, bool, str], ...] = (
    ("WL-0007", "Tariq Bin Sulaiman", "spelling_variant", True, "early"),
    ("WL-0013", "Ignacio Barrientos Ruíz", "diacritics_added", True, "early"),
    ("WL-0018", "Orlov Viktor Sergeyevich", "word_order", True, "late"),
    ("WL-0014", "Omar Abdi", "alias", True, "late"),
    ("WL-0019", "Situ Ying-Qiong", "delisted_later", True, "early"),
    ("WL-0019", "SITU Yingqiong", "after_delisting", False, "late"),
    ("WL-0021", "Zaki Baig", "before_listing", False, "early"),
    ("WL-0021", "Ahmad Zaki Yamani Baig", "listed_later", True, "late"),
    ("WL-0015", "Farid Rahimi", "name_part", False, "early"),
    ("WL-0014", "Omar Sharif Abdirahman", "similar_name", False, "late"),
    ("WL-0020", "Nguyen Thi Phuong Thao", "exact", True, "early"),
)


@dataclass
class ScreeningPlant:
    """What :func:`plant` adds: the changed tables, the list deliveries and the truth rows."""

    accounts: _Table
    transactions: _Table
    deliveries: dict[int, list[tuple[str, ...]]]
    planted: list[Row] = field(default_factory=list)
    near: list[Row] = field(default_factory=list)


def _stamp(ordinal: int, seconds: int) -> str:
    day = date.fromordinal(ordinal + seconds // _DAY_SECONDS)
    s = seconds % _DAY_SECONDS
    return f"{day.isoformat()} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _birth(id_number: str) -> str:
    """The birth date in an 18-character resident ID (GB 11643), or '' for other identifiers."""
    if len(id_number) == 18 and id_number[:17].isdigit():
        try:
            return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])).isoformat()
        except ValueError:
            return ""
    return ""


def _seconds(stamp: str) -> int:
    day_text, _, time_text = stamp.partition(" ")
    h, m, sec = (int(x) for x in time_text.split(":"))
    return date.fromisoformat(day_text).toordinal() * _DAY_SECONDS + h * 3600 + m * 60 + sec


def _own_card(customer_id: str) -> str:
    """The bank card a customer repays from, in the customer's own name (19 digits, never pooled)."""
    digits = "".join(ch for ch in customer_id if ch.isdigit())
    return f"6217{int(digits or 0):015d}"


def _cents(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _Rows:
    """Rows added to one input file, column-wise, with the folder (day index) of each."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns: dict[str, list[str]] = {c: [] for c in columns}
        self.day: list[int] = []

    def add(self, day: int, **values: str) -> None:
        for c, column in self.columns.items():
            column.append(values.get(c, ""))
        self.day.append(day)


@dataclass
class _Platform:
    """What the generated platform holds, per customer: what every planter reads (never changes)."""

    days: Sequence[date]
    ords: list[int]
    mid: int  # the day index of the second list delivery (0 for a one-day platform)
    accounts: _Table
    transactions: _Table
    loans: _Table
    row_of_account: dict[str, int]  # each account's first version
    accounts_of: dict[str, list[str]]
    customer_of: dict[str, str]
    borrowers: dict[str, list[int]]  # loan rows per borrower
    written_off: set[str]
    day0: set[str]  # individuals whose accounts are all active and delivered on day 1

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def acc(self) -> dict[str, list[str]]:
        return self.accounts.columns

    def first_row(self, customer: str) -> int:
        return self.row_of_account[self.accounts_of[customer][0]]


def _platform(days: Sequence[date], accounts: _Table, transactions: _Table, loans: _Table) -> _Platform:
    n_days = len(days)
    acc = accounts.columns
    row_of_account: dict[str, int] = {}
    accounts_of: dict[str, list[str]] = {}
    for i, (a, c) in enumerate(zip(acc["account_id"], acc["customer_id"], strict=True)):
        if a not in row_of_account:
            row_of_account[a] = i
            accounts_of.setdefault(c, []).append(a)
    borrowers: dict[str, list[int]] = {}
    for i, b in enumerate(loans.columns["borrower_id"]):
        borrowers.setdefault(b, []).append(i)
    written_off = {
        loans.columns["borrower_id"][i] for i, s in enumerate(loans.columns["status"]) if s == "written_off"
    }
    day0 = {
        c
        for c, accs in accounts_of.items()
        if all(accounts.day[row_of_account[a]] == 0 for a in accs)
        and acc["customer_type"][row_of_account[accs[0]]] == "individual"
        and all(acc["status"][row_of_account[a]] == "active" for a in accs)
    }
    return _Platform(
        days=days,
        ords=[d.toordinal() for d in days],
        mid=max(1, n_days // 2) if n_days > 1 else 0,
        accounts=accounts,
        transactions=transactions,
        loans=loans,
        row_of_account=row_of_account,
        accounts_of=accounts_of,
        customer_of={a: acc["customer_id"][i] for a, i in row_of_account.items()},
        borrowers=borrowers,
        written_off=written_off,
        day0=day0,
    )


@dataclass
class _Planting:
    """What the planters share as they go: the random stream, the customers taken, the rows
    added and the truth. Each planter draws in turn, in a fixed order (same seed, same bytes)."""

    rng: np.random.Generator
    used: set[str]
    new_accounts: _Rows
    new_txns: _Rows
    account_number: int = 900_000_000
    txn_number: int = 0
    planted: list[Row] = field(default_factory=list)
    near: list[Row] = field(default_factory=list)

    def pick(self, pool: Sequence[str], k: int) -> list[str]:
        """``k`` customers of ``pool`` no planter has taken yet (none if fewer are free)."""
        free = sorted(c for c in pool if c not in self.used)
        if len(free) < k:
            return []
        chosen = [free[i] for i in sorted(self.rng.choice(len(free), size=k, replace=False).tolist())]
        self.used.update(chosen)
        return chosen

    def next_txn(self) -> str:
        self.txn_number += 1
        return f"TS{self.txn_number:09d}"

    def truth(self, fires: bool, rule: str, key: str, day: date, kind: str, detail: str) -> None:
        """A case that must fire (``planted.csv``) or a near miss that must not, from ``day`` on."""
        (self.planted if fires else self.near).append(("", rule, key, day.isoformat(), kind, detail))


def plant(
    rng: np.random.Generator,
    days: Sequence[date],
    accounts: _Table,
    transactions: _Table,
    loans: _Table,
    busy_customers: set[str],
    calibration: Calibration,
    fx: dict[str, npt.NDArray[np.float64]] | None = None,
) -> ScreeningPlant:
    """Plant every case of the five rules into the generated ``accounts`` and ``transactions``.

    ``fx`` (CNY per unit, per currency and day) converts foreign-currency transfers when
    ordinary outflows after a disbursement are kept clear of the proceeds line.
    """
    from regwatch.demo.base import part as _part
    from regwatch.demo.base import table as _table

    p = _platform(days, accounts, transactions, loans)
    s = _Planting(
        rng, set(busy_customers), _Rows(tuple(accounts.columns)), _Rows(tuple(transactions.columns))
    )
    renamed, births = _plant_listed_customers(p, s, calibration)
    _plant_listed_counterparties(p, s, calibration)
    deliveries = _list_deliveries(p, births)
    device_of = _plant_rings(p, s, calibration)
    names = {c: p.acc["full_name"][p.row_of_account[accs[0]]] for c, accs in p.accounts_of.items()}
    _plant_proceeds(p, s, calibration, names)
    _plant_churn(p, s, calibration)
    _repay_from_own_cards(p, calibration, names)

    accounts_out = _table(
        "accounts",
        [
            accounts,
            _part(
                "accounts",
                s.new_accounts.columns,
                np.array(s.new_accounts.day, np.int64),
                np.ones(len(s.new_accounts.day), np.bool_),
            ),
        ],
    )
    accounts_out.protected |= np.array(
        [a in device_of or p.customer_of.get(a) in renamed for a in accounts_out.columns["account_id"]],
        np.bool_,
    )
    transactions_out = _table(
        "transactions",
        [
            transactions,
            _part(
                "transactions",
                s.new_txns.columns,
                np.array(s.new_txns.day, np.int64),
                np.ones(len(s.new_txns.day), np.bool_),
            ),
        ],
    )
    planted = s.planted + _calm_ordinary_outflows(
        transactions_out, loans, p.customer_of, names, p.accounts_of, fx, s.planted, calibration
    )
    return ScreeningPlant(accounts_out, transactions_out, deliveries, planted, s.near)


_ENTRIES_BY_ID = {e.list_id: e for e in (*_ENTRIES, _ADDED)}
_CHANGING = (_REMOVED, _ADDED.list_id)  # the entries the second delivery drops or adds


def _plant_listed_customers(
    p: _Platform, s: _Planting, calibration: Calibration
) -> tuple[dict[str, str], dict[str, str]]:
    """Customers renamed to a listed name (and near misses); returns the new names and, per list
    entry, the date of birth of the person who matches it (the list then carries it)."""
    acc = p.acc
    births: dict[str, str] = {}
    people = sorted(p.day0 - set(p.borrowers))  # renamed customers need not borrow
    firms = sorted(
        c
        for c, accs in p.accounts_of.items()
        if acc["customer_type"][p.row_of_account[accs[0]]] == "entity"
        and p.accounts.day[p.row_of_account[accs[0]]] == 0
    )
    renamed: dict[str, str] = {}
    for list_id, name, kind, fires in _CUSTOMER_CASES:
        if p.mid == 0 and list_id in _CHANGING:
            continue
        entry = _ENTRIES_BY_ID[list_id]
        chosen = s.pick(firms if entry.entity else (people or sorted(p.day0)), 1)
        if not chosen:
            continue
        customer = chosen[0]
        renamed[customer] = name
        birth = _birth(acc["id_number"][p.first_row(customer)])
        if fires and not entry.entity and list_id not in births:
            births[list_id] = birth
        value = score(name, entry.name)
        best = max(score(name, n) for n in (entry.name, *entry.aliases))
        if fires != (best >= calibration.watchlist_min_score):
            raise AssertionError(f"screening case {name!r} vs {entry.name!r} scores {best:.1f}")
        first_day = p.mid if list_id == _ADDED.list_id else 0
        s.truth(
            fires,
            CUSTOMER_RULE,
            f"{customer}|{list_id}",
            p.days[first_day],
            kind,
            f"name={name}; listed={entry.name}; list={entry.list_name}; score={value:.2f}; best={best:.2f}",
        )
    for i, c in enumerate(acc["customer_id"]):
        if c in renamed:
            acc["full_name"][i] = renamed[c]
    return renamed, births


def _plant_listed_counterparties(p: _Platform, s: _Planting, calibration: Calibration) -> None:
    """Counterparties named like listed parties, paid by ordinary customers (before and after
    the second delivery adds or drops their entry)."""
    early_days = list(range(0, p.mid)) or [0]
    late_days = list(range(p.mid, p.n_days))
    for n, (list_id, name, kind, fires, when) in enumerate(_COUNTERPARTY_CASES):
        choices = early_days if when == "early" else late_days
        if not choices or (p.mid == 0 and list_id in _CHANGING):
            continue
        payer = s.pick(sorted(p.day0), 1)
        if not payer:
            continue
        d = choices[int(s.rng.integers(0, len(choices)))]
        entry = _ENTRIES_BY_ID[list_id]
        listed_now = (list_id != _ADDED.list_id or d >= p.mid) and (list_id != _REMOVED or d < p.mid)
        best = max(score(name, x) for x in (entry.name, *entry.aliases))
        if fires != (listed_now and best >= calibration.watchlist_min_score):
            raise AssertionError(f"counterparty case {name!r} on day {d} is ambiguous ({best:.1f})")
        cp_account = f"6222{n + 1:015d}"
        s.new_txns.add(
            d,
            txn_id=s.next_txn(),
            account_id=p.accounts_of[payer[0]][0],
            txn_at=_stamp(p.ords[d], int(s.rng.integers(9 * 3600, 17 * 3600))),
            direction="debit",
            amount=_money(int(s.rng.integers(2_000, 9_000)) * 100),
            currency="CNY",
            channel="transfer",
            counterparty_account=cp_account,
            counterparty_name=name,
            # A domestic account: a foreign one would also be a high-risk-jurisdiction case.
            counterparty_country="CN",
            purpose="goods payment",
        )
        s.truth(
            fires,
            COUNTERPARTY_RULE,
            f"{payer[0]}|cp:{cp_account}|{list_id}",
            p.days[d],
            kind,
            f"counterparty={name}; listed={entry.name}; list={entry.list_name}; best={best:.2f}",
        )


def _list_deliveries(p: _Platform, births: dict[str, str]) -> dict[int, list[tuple[str, ...]]]:
    """The watch list as delivered: the first list on day 1, the changed one on the middle day."""

    def entry_row(e: _Entry) -> tuple[str, ...]:
        return (e.list_id, e.name, ";".join(e.aliases), births.get(e.list_id, ""), e.country, e.list_name)

    first = [entry_row(e) for e in _ENTRIES]
    second = [entry_row(e) for e in _ENTRIES if e.list_id != _REMOVED] + [entry_row(_ADDED)]
    return {0: first} if p.mid == 0 else {0: first, p.mid: second}


#: Borrower rings: (kind, borrowers, non-borrowers, fires).
_RING_CASES: tuple[tuple[str, int, int, bool], ...] = (
    ("device_ring_3", 3, 0, True),
    ("device_ring_4", 4, 0, True),
    ("device_and_repayment_account", 3, 0, True),
    ("repayment_account_ring", 3, 0, True),
    ("formed_mid_period", 3, 0, True),
    ("two_borrowers", 2, 0, False),
    ("two_borrowers_and_a_non_borrower", 2, 1, False),
)


def _plant_rings(p: _Platform, s: _Planting, calibration: Calibration) -> dict[str, str]:
    """Borrowers sharing a device or a repayment account (and near misses); returns the device of
    every account it touched (also written into the accounts)."""
    acc = p.acc
    candidates = sorted(c for c in p.day0 if c in p.borrowers)
    # Prefer borrowers who defaulted: the rings the seeds describe are of borrowers who later default.
    defaulted = [c for c in candidates if c in p.written_off]
    non_borrowers = sorted(p.day0 - set(p.borrowers))
    device_number = 0

    def ring_device() -> str:
        nonlocal device_number
        device_number += 1
        return f"DVRING{device_number:06d}"

    def share_device(customers: Sequence[str], device: str) -> None:
        for c in customers:
            for a in p.accounts_of[c]:
                device_of[a] = device

    def repay_from(customer: str, d: int, card: str) -> None:
        account = p.accounts_of[customer][0]
        _repayment(
            s.new_txns, s.next_txn(), s.rng, p.ords, d, account, card, calibration.ring_repayment_purpose
        )

    device_of: dict[str, str] = {}  # account -> device for every version
    for kind, n_borrowers, n_others, fires in _RING_CASES:
        pool_defaulted = [c for c in defaulted if c not in s.used]
        members = s.pick(pool_defaulted, n_borrowers) if len(pool_defaulted) >= n_borrowers else []
        if not members:
            members = s.pick(candidates, n_borrowers)
        others = s.pick(non_borrowers, n_others) if n_others else []
        if len(members) < n_borrowers or len(others) < n_others:
            continue
        component = sorted(members + others)
        ring_id = component[0]
        first_day = 0
        # A device of their own first: a member's ordinary household partner joins no ring.
        for c in component:
            share_device([c], ring_device())
        if kind in ("device_ring_3", "device_ring_4", "two_borrowers", "two_borrowers_and_a_non_borrower"):
            share_device(component, ring_device())
        elif kind == "device_and_repayment_account":
            share_device(component[:2], ring_device())
            shared = f"6228{len(s.planted) + 1:015d}"
            for c in component[1:]:
                repay_from(c, 0, shared)
        elif kind == "repayment_account_ring":
            shared = f"6228{len(s.planted) + 1:015d}"
            for c in component:
                d = int(s.rng.integers(0, p.n_days))
                first_day = max(first_day, d)
                repay_from(c, d, shared)
        else:  # formed mid-period: two share a device from day 1, the third's device changes to it
            device = ring_device()
            late = max(component)  # the ring id stays the smallest member's
            share_device([c for c in component if c != late], device)
            first_day = p.mid
            i = p.first_row(late)
            values = {c: acc[c][i] for c in acc}
            values["device_id"] = device
            values["updated_at"] = _stamp(p.ords[p.mid], int(s.rng.integers(8 * 3600, 10 * 3600)))
            s.new_accounts.add(p.mid, **values)
        for c in members:
            s.truth(
                fires,
                RING_RULE,
                f"{c}|ring:{ring_id}",
                p.days[first_day],
                kind,
                f"ring={','.join(component)}; borrowers={len(members)}; customers={len(component)}",
            )
    for i, a in enumerate(acc["account_id"]):
        if a in device_of:
            acc["device_id"][i] = device_of[a]
    return device_of


def _proceeds_candidates(p: _Platform, calibration: Calibration) -> tuple[dict[str, int], list[str]]:
    """Per borrower, the one loan whose window no other loan of the borrower comes near; and the
    borrowers whose ordinary traffic leaves that window clear (no large receipt, no debit to others)."""
    txn = p.transactions.columns
    window = calibration.proceeds_window_hours * 3600
    # Ordinary debits to others per customer (seconds): a planted loan's borrower has none near it.
    outgoing: dict[str, list[int]] = {}
    large_inflows: set[str] = set()  # a large receipt and the planted outflow would be rapid in-out
    for i in range(len(p.transactions)):
        if txn["direction"][i] == "credit" and _cents(txn["amount"][i]) >= 1_000_000:
            large_inflows.add(p.customer_of.get(txn["account_id"][i], ""))
        if txn["direction"][i] != "debit" or txn["channel"][i] in ("cash", "card"):
            continue
        payer_id = p.customer_of.get(txn["account_id"][i])
        if payer_id is not None:
            outgoing.setdefault(payer_id, []).append(_seconds(txn["txn_at"][i]))
    loan_cols = p.loans.columns
    only_loan: dict[str, int] = {}
    for borrower, loan_rows in p.borrowers.items():
        first_rows = {loan_cols["loan_id"][i]: i for i in reversed(loan_rows)}
        disbursed_on = {
            lid: date.fromisoformat(loan_cols["disbursement_date"][i]).toordinal()
            for lid, i in first_rows.items()
        }
        for lid, i in sorted(first_rows.items()):
            clear = all(abs(disbursed_on[o] - disbursed_on[lid]) > 7 for o in disbursed_on if o != lid)
            if disbursed_on[lid] >= p.ords[0] and clear:
                only_loan[borrower] = i
                break
    eligible = []
    for c, i in sorted(only_loan.items()):
        disbursed = date.fromisoformat(loan_cols["disbursement_date"][i]).toordinal()
        if c not in p.day0 or c in large_inflows or loan_cols["borrower_type"][i] != "individual":
            continue
        start = disbursed * _DAY_SECONDS
        if not any(start <= t < start + window + 4 * _DAY_SECONDS for t in outgoing.get(c, [])):
            eligible.append(c)
    return only_loan, eligible


def _plant_proceeds(p: _Platform, s: _Planting, calibration: Calibration, names: dict[str, str]) -> None:
    """A loan's proceeds moved on to third parties within the window (and near misses)."""
    only_loan, eligible = _proceeds_candidates(p, calibration)
    loan_cols = p.loans.columns
    window = calibration.proceeds_window_hours * 3600
    min_share = calibration.proceeds_min_share
    # (kind, share of the net amount disbursed, transfers, hours after the disbursement date began, fires)
    proceeds_specs = [
        ("share_exactly_at_threshold", min_share, 1, 14, True),
        ("whole_amount_at_once", 1.0, 1, 11, True),
        ("split_over_three_transfers", 0.93, 3, 30, True),
        ("next_day_within_window", 0.88, 2, 40, True),
        ("just_under_the_share", min_share - 0.01, 2, 10, False),
        ("after_the_window", 1.0, 1, calibration.proceeds_window_hours + 10, False),
        ("to_own_account", 1.0, 1, 12, False),
    ]
    for kind, share, legs, hours, fires in proceeds_specs:
        fitting = [
            c
            for c in eligible
            if date.fromisoformat(loan_cols["disbursement_date"][only_loan[c]]).toordinal()
            + (hours + 1) // 24
            in p.ords
        ]
        chosen = s.pick(fitting, 1)
        if not chosen:
            continue
        c = chosen[0]
        i = only_loan[c]
        loan_id = loan_cols["loan_id"][i]
        net = _cents(loan_cols["principal"][i]) - _cents(loan_cols["upfront_fee"][i])
        # At the threshold exactly: the smallest amount whose share reaches it.
        total = int(np.ceil(net * share)) if share >= min_share else int(np.floor(net * share))
        cuts = [total // legs] * legs
        cuts[-1] += total - sum(cuts)
        start = date.fromisoformat(loan_cols["disbursement_date"][i]).toordinal() * _DAY_SECONDS
        last_day = 0
        for leg, cents in enumerate(cuts):
            moment = start + hours * 3600 + leg * 1800
            d = p.ords.index(moment // _DAY_SECONDS)
            last_day = max(last_day, d)
            if kind == "to_own_account":
                cp_account, cp_name = _own_card(c), names[c]
            else:
                number = s.txn_number + 1
                cp_account, cp_name = f"6225{number:015d}", f"Trading Partner {number:05d}"
            s.new_txns.add(
                d,
                txn_id=s.next_txn(),
                account_id=p.accounts_of[c][0],
                txn_at=_stamp(moment // _DAY_SECONDS, moment % _DAY_SECONDS),
                direction="debit",
                amount=_money(cents),
                currency="CNY",
                channel="transfer",
                counterparty_account=cp_account,
                counterparty_name=cp_name,
                counterparty_country="CN",
                purpose="goods payment",
            )
        within = hours * 3600 + (legs - 1) * 1800 < window
        third_party = kind != "to_own_account"
        if fires != (within and third_party and total >= net * min_share):
            raise AssertionError(f"proceeds case {kind} is ambiguous")
        s.truth(
            fires,
            PROCEEDS_RULE,
            f"{c}|{loan_id}",
            p.days[last_day],
            kind,
            f"net_disbursed={_money(net)}; moved={_money(total)}; share={total / net:.4f}; "
            f"transfers={legs}; hours_after_disbursement_date={hours}",
        )


#: Account churn: (kind, new accounts opened, of them closed, accounts opened and closed before
#: the window, fires).
_CHURN_CASES: tuple[tuple[str, int, int, int, bool], ...] = (
    ("exactly_the_count", 2, 2, 0, True),
    ("above_the_count", 3, 2, 0, True),
    ("one_event_short", 2, 1, 0, False),
    ("older_events_outside_the_window", 2, 1, 1, False),
)


def _plant_churn(p: _Platform, s: _Planting, calibration: Calibration) -> None:
    """Customers opening and closing accounts inside the window (and near misses)."""
    acc = p.acc
    ords = p.ords
    opened_at = {a: acc["opened_at"][i] for a, i in p.row_of_account.items()}
    old_enough = sorted(
        c
        for c in p.day0
        if all(
            date.fromisoformat(opened_at[a][:10]).toordinal() < ords[0] - calibration.churn_window_days - 7
            for a in p.accounts_of[c]
        )
    )
    for kind, n_open, n_close, n_old, fires in _CHURN_CASES:
        chosen = s.pick(old_enough, 1)
        if not chosen:
            continue
        c = chosen[0]
        template = {k: acc[k][p.first_row(c)] for k in acc}
        events: list[int] = []  # the day index of each event inside the window
        open_day = int(s.rng.integers(0, max(1, p.n_days - 1)))
        close_day = min(p.n_days - 1, open_day + 1)

        # (opened, closed or None): the new accounts, then old ones delivered late (both events long before).
        lives: list[tuple[str, str | None]] = []
        for k in range(n_open):
            shut = _stamp(ords[close_day], 15 * 3600 + k * 600) if k < n_close else None
            lives.append((_stamp(ords[open_day], 9 * 3600 + k * 600), shut))
            events += [open_day] + ([close_day] if shut else [])
        before = ords[0] - calibration.churn_window_days - 10
        lives += [(_stamp(before, 10 * 3600), _stamp(before + 3, 10 * 3600))] * n_old
        for opened, shut in lives:
            s.account_number += 1
            values = dict(
                template, account_id=f"A{s.account_number:09d}", opened_at=opened, updated_at=opened
            )
            values["status"] = "active"
            s.new_accounts.add(open_day, **values)
            if shut is not None:
                s.new_accounts.add(close_day, **dict(values, status="closed", updated_at=shut))
        if fires != (len(events) >= calibration.churn_min_events):
            raise AssertionError(f"churn case {kind} is ambiguous")
        s.truth(
            fires,
            CHURN_RULE,
            f"{c}|account_churn",
            p.days[max(events)],
            kind,
            f"opened={n_open + n_old}; closed={n_close + n_old}; events_in_window={len(events)}",
        )


def _repay_from_own_cards(p: _Platform, calibration: Calibration, names: dict[str, str]) -> None:
    """Ordinary repayments arrive from the borrower's own card, in the borrower's name."""
    txn = p.transactions.columns
    for i in range(len(p.transactions)):
        repays = txn["purpose"][i] == calibration.ring_repayment_purpose and txn["direction"][i] == "credit"
        holder = (
            p.customer_of.get(txn["account_id"][i]) if repays and not p.transactions.protected[i] else None
        )
        if holder is not None:
            txn["counterparty_account"][i] = _own_card(holder)
            txn["counterparty_name"][i] = names[holder]


def _calm_ordinary_outflows(
    transactions: _Table,
    loans: _Table,
    customer_of: dict[str, str],
    names: dict[str, str],
    accounts_of: dict[str, list[str]],
    fx: dict[str, npt.NDArray[np.float64]] | None,
    planted: list[Row],
    calibration: Calibration,
) -> list[Row]:
    """Keep ordinary transfers after a disbursement clear of the proceeds line.

    Ordinary traffic is drawn without regard to loans, so a borrower may by chance send
    more than the loan to strangers the day it arrives. As ordinary cash stays under
    CNY 45,000 against the 50,000 line, ordinary transfers to third parties inside a
    loan's window are scaled down to 40 % of its net amount when they reach half of
    it. Rows planted by any module are left as they are; where those alone reach the
    line (another module's case also moving a loan's proceeds on), a truth row is
    returned, since that case legitimately trips this rule too, and the window's transfers
    are protected: a corrupted (quarantined) one would leave the truth row unmet.
    """
    txn = transactions.columns
    window = calibration.proceeds_window_hours * 3600
    by_customer: dict[str, list[int]] = {}
    for i in range(len(transactions)):
        if txn["direction"][i] != "debit" or txn["channel"][i] not in (
            "transfer",
            "internal",
            "cross_border",
        ):
            continue
        c = customer_of.get(txn["account_id"][i])
        if c is None or txn["counterparty_name"][i].strip().lower() == names[c].strip().lower():
            continue
        if txn["counterparty_account"][i] in accounts_of.get(c, ()):
            continue
        by_customer.setdefault(c, []).append(i)

    def cny(i: int) -> float:
        rate = (
            1.0
            if txn["currency"][i] == "CNY" or fx is None
            else float(fx[txn["currency"][i]][transactions.day[i]])
        )
        return _cents(txn["amount"][i]) * rate

    seen: set[str] = set()
    loan_rows = []
    for i, loan_id in enumerate(loans.columns["loan_id"]):
        if loan_id not in seen:
            seen.add(loan_id)
            loan_rows.append(i)
    mine = {(r[1], r[2]) for r in planted}
    extra: list[Row] = []
    for i in loan_rows:
        c = loans.columns["borrower_id"][i]
        debits = by_customer.get(c)
        if not debits:
            continue
        start = date.fromisoformat(loans.columns["disbursement_date"][i]).toordinal() * _DAY_SECONDS
        inside = [j for j in debits if start <= _seconds(txn["txn_at"][j]) < start + window]
        if not inside:
            continue
        net = _cents(loans.columns["principal"][i]) - _cents(loans.columns["upfront_fee"][i])
        ordinary = [j for j in inside if not transactions.protected[j]]
        total = sum(cny(j) for j in ordinary)
        if ordinary and total >= 0.5 * net:
            factor = 0.4 * net / total
            for j in ordinary:
                txn["amount"][j] = _money(max(100, int(_cents(txn["amount"][j]) * factor)))
        moved = sum(cny(j) for j in inside)
        key = (PROCEEDS_RULE, f"{c}|{loans.columns['loan_id'][i]}")
        if moved >= calibration.proceeds_min_share * net and key not in mine:
            last = max(inside, key=lambda j: txn["txn_at"][j])
            for j in inside:  # the derived case's transfers are never corrupted (malformed rows)
                transactions.protected[j] = True
            extra.append(
                (
                    "",
                    PROCEEDS_RULE,
                    key[1],
                    txn["txn_at"][last][:10],
                    "another_case_moves_the_proceeds",
                    f"net_disbursed={_money(net)}; moved={_money(int(moved))}; planted transfers of another case",
                )
            )
    return extra


def _repayment(
    rows: _Rows,
    txn_id: str,
    rng: np.random.Generator,
    ords: Sequence[int],
    d: int,
    account: str,
    card: str,
    purpose: str,
) -> None:
    """A repayment arriving from ``card`` (an external account) into ``account``."""
    rows.add(
        d,
        txn_id=txn_id,
        account_id=account,
        txn_at=_stamp(ords[d], int(rng.integers(8 * 3600, 20 * 3600))),
        direction="credit",
        amount=_money(int(rng.integers(800, 3_000)) * 100),
        currency="CNY",
        channel="transfer",
        counterparty_account=card,
        counterparty_name="",
        counterparty_country="CN",
        purpose=purpose,
    )


def write_deliveries(out: Path, days: Sequence[date], deliveries: dict[int, list[tuple[str, ...]]]) -> int:
    """Write ``watchlist.csv`` into the folder of each delivery day; returns the rows written."""
    rows = 0
    for d, entries in sorted(deliveries.items()):
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(WATCHLIST_COLUMNS)
        writer.writerows(sorted(entries))
        folder = out / days[d].isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "watchlist.csv").write_bytes(buffer.getvalue().encode("utf-8"))
        rows += len(entries)
    return rows
