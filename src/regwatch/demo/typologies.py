"""Planted AML typologies for the synthetic platform (structuring, rapid in-out, fan-in,
fan-out, dormant then active, high-risk jurisdictions, cycles), with their ground truth.

:func:`plant` is called by :func:`regwatch.demo.generate` after the ordinary traffic is
drawn. It picks customers that carry no other planted case, removes their ordinary
(unprotected) transactions so each case's totals are exactly the planted legs, and
appends the typology transactions (ids ``TY########``, protected from corruption). Each
typology is planted in variations on both sides of its thresholds and windows: cases
that must fire go to ``planted.csv`` with the business date they first fire on, the near
misses to ``near_misses.csv``. A Python re-implementation of every window rule checks
each case on every business date before anything is written (a case that would land on
the wrong side raises), so the truth never depends on the SQL it tests.

The numbers are the pack's parameters (``checks/cn/_pack.yml``), read by
:mod:`regwatch.demo.calibration` so the truth follows a recalibration. Amounts stay under the large-value lines
(cash legs under CNY 50,000 a day, transfers far below CNY 500,000 a day, cross-border
legs under the USD 10,000 equivalent).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from regwatch.demo.base import DAY_SECONDS as _DAY_SECONDS
from regwatch.demo.base import Customers as _Customers
from regwatch.demo.base import Table as _Table
from regwatch.demo.base import part as _part
from regwatch.demo.base import person_names as _person_names
from regwatch.demo.base import stamps as _stamps
from regwatch.demo.base import table as _table
from regwatch.demo.calibration import Calibration

STRUCTURING_RULE = "cn.aml.structuring"
RAPID_RULE = "cn.aml.rapid_in_out"
FAN_IN_RULE = "cn.aml.fan_in"
FAN_OUT_RULE = "cn.aml.fan_out"
DORMANT_RULE = "cn.aml.dormant_reactivated"
HIGH_RISK_RULE = "cn.aml.high_risk_jurisdiction"
CYCLE_RULE = "cn.aml.transfer_cycle"
ACTIVITY_SPIKE_RULE = "cn.aml.activity_spike"  # planted when the run holds a baseline (issue 14)
TYPOLOGY_RULES = (
    STRUCTURING_RULE,
    RAPID_RULE,
    FAN_IN_RULE,
    FAN_OUT_RULE,
    DORMANT_RULE,
    HIGH_RISK_RULE,
    CYCLE_RULE,
)
#: The window rules re-implemented here: their truth is exact on every customer's traffic.
WINDOW_RULES = (STRUCTURING_RULE, RAPID_RULE, FAN_IN_RULE, FAN_OUT_RULE, HIGH_RISK_RULE, ACTIVITY_SPIKE_RULE)
TruthRow = tuple[str, str, str, str, str, str]


@dataclass
class _Txn:
    txn_id: str
    account: int
    customer: int
    day: int  # index into the business days
    second: int  # seconds since midnight
    direction: str
    cents: int
    channel: str = "transfer"
    cp_account: str = ""
    cp_name: str = ""
    cp_country: str = "CN"
    purpose: str = "goods payment"
    priced: bool = True  # False: no FX rate for its date, the warehouse's CNY amount is null (cents 0)

    def at(self, days: Sequence[date]) -> int:
        return days[self.day].toordinal() * _DAY_SECONDS + self.second


@dataclass
class Planted:
    transactions: _Table
    accounts: _Table
    accounts_used: set[str]
    planted: list[TruthRow]
    near: list[TruthRow]
    patterns: list[tuple[str, ...]] = field(default_factory=list)  # AMLworld attempts (demo_laundering)
    benign: list[tuple[str, ...]] = field(default_factory=list)  # their benign look-alikes


@dataclass
class _Plan:
    rng: np.random.Generator
    cust: _Customers
    days: Sequence[date]
    p: dict[str, Any]
    pool: list[int]  # customers free to use (one account, active, nothing else planted)
    pool2: list[int] = field(default_factory=list)  # the same with two active accounts
    txns: list[_Txn] = field(default_factory=list)
    planted: list[TruthRow] = field(default_factory=list)
    near: list[TruthRow] = field(default_factory=list)
    used: list[int] = field(default_factory=list)
    account_versions: list[tuple[int, int, str]] = field(default_factory=list)  # account, day, status

    def take(self, pool: list[int] | None = None) -> int | None:
        source = self.pool if pool is None else pool
        if not source:
            return None
        customer = source.pop(0)
        self.used.append(customer)
        return customer

    def account(self, customer: int) -> int:
        return self.cust.accounts_of[customer][0]

    def add(
        self, customer: int, day: int, second: int, direction: str, cents: int, account: int = 0, **kw: Any
    ) -> _Txn:
        txn = _Txn(
            f"TY{len(self.txns) + 1:08d}",
            self.cust.accounts_of[customer][account],
            customer,
            day,
            second,
            direction,
            cents,
            **kw,
        )
        self.txns.append(txn)
        return txn

    def ordinal(self, day: int) -> int:
        return self.days[day].toordinal()

    def truth(self, fires: bool, rule: str, key: str, day: int, kind: str, detail: str) -> None:
        (self.planted if fires else self.near).append(
            ("", rule, key, self.days[day].isoformat(), kind, detail)
        )

    def counterparty(self) -> tuple[str, str]:
        number = int(self.rng.integers(0, 10**14))
        return f"62{number:014d}", _person_names(self.rng, 1)[0]


def _cents(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --------------------------------------------------------------------------- the rules in Python


def _window(plan: _Plan, txns: list[_Txn], d: int, days: int) -> list[_Txn]:
    """Transactions delivered by business date d and dated in the ``days`` calendar days ending on it."""
    end = plan.ordinal(d)
    return [t for t in txns if t.day <= d and end - days < plan.ordinal(t.day) <= end]


def _structuring_fires(plan: _Plan, txns: list[_Txn], d: int) -> bool:
    line = _cents(plan.p["large_cash_threshold_cny"])
    floor = line * (1 - Decimal(str(plan.p["structuring_margin_rate"])))
    legs = [
        t
        for t in _window(plan, txns, d, int(plan.p["structuring_window_days"]))
        if t.channel == "cash" and floor <= t.cents < line
    ]
    return (
        len({t.day for t in legs}) >= int(plan.p["structuring_min_days"])
        and sum(t.cents for t in legs) >= line
        and len(legs) >= int(plan.p["structuring_min_transactions"])
    )


def _fan_legs(plan: _Plan, txns: list[_Txn], side: str) -> list[_Txn]:
    """Non-cash legs of one direction with a counterparty, an entity's expected purposes left out."""
    direction = "credit" if side == "in" else "debit"
    expected = set(plan.p.get("fan_entity_expected_purposes") or [])
    return [
        t
        for t in txns
        if t.direction == direction
        and t.channel != "cash"
        and t.cp_account
        and not (bool(plan.cust.is_entity[t.customer]) and t.purpose in expected)
    ]


def _fan_fires(plan: _Plan, txns: list[_Txn], d: int, side: str) -> bool:
    """On business date d: any window ending on a day of the last fan_lookback_days holds the fan."""
    legs = [t for t in _fan_legs(plan, txns, side) if t.day <= d]
    window = int(plan.p[f"fan_{side}_window_days"])
    floor = _cents(plan.p[f"fan_{side}_min_amount_cny"])
    minimum = int(plan.p[f"fan_{side}_min_counterparties"])
    end = plan.ordinal(d)
    for last in range(end - int(plan.p["fan_lookback_days"]) + 1, end + 1):
        inside = [t for t in legs if last - window < plan.ordinal(t.day) <= last]
        if sum(t.cents for t in inside) >= floor and len({t.cp_account for t in inside}) >= minimum:
            return True
    return False


def _spike_fires(plan: _Plan, txns: list[_Txn], d: int, first: int) -> bool:
    """cn.aml.activity_spike on business date d: a window ending on one of the customer's days of
    the lookback whose count and turnover are both ``activity_spike_factor`` times the baseline's
    (``first``: the ordinal of the first transaction date the warehouse holds)."""
    p = plan.p
    w, b = int(p["activity_spike_window_days"]), int(p["activity_spike_baseline_days"])
    end = plan.ordinal(d)
    seen = [(plan.ordinal(t.day), t.cents) for t in txns if t.day <= d and t.priced]
    ends = {o for o, _ in seen if end - int(p["activity_spike_lookback_days"]) < o <= end}
    for last in ends:
        start, base_start = last - w + 1, last - w - b + 1
        observed = start - max(base_start, first)
        if observed < int(p["activity_spike_min_history_days"]):
            continue
        window = [c for o, c in seen if start <= o <= last]
        base = [c for o, c in seen if base_start <= o < start]
        if len(window) < int(p["activity_spike_min_transactions"]) or sum(window) < _cents(
            p["activity_spike_min_amount_cny"]
        ):
            continue
        if not base:  # no baseline activity: no ratio (the dormant rule's case)
            continue
        expected_count = round(len(base) / observed * w, 4)
        expected_amount = round(sum(base) / 100 / observed * w, 2)
        ratio = round(min(len(window) / expected_count, sum(window) / 100 / expected_amount), 4)
        if ratio >= float(p["activity_spike_factor"]):
            return True
    return False


def _rapid_fires(plan: _Plan, txns: list[_Txn], inflow: _Txn, d: int) -> bool:
    if inflow.cents < _cents(plan.p["rapid_in_out_min_inflow_cny"]) or inflow.day > d:
        return False
    if plan.ordinal(d) - plan.ordinal(inflow.day) >= int(plan.p["rapid_in_out_lookback_days"]):
        return False
    start = inflow.at(plan.days)
    end = start + int(plan.p["rapid_in_out_window_hours"]) * 3600
    out = sum(
        t.cents for t in txns if t.direction == "debit" and t.day <= d and start < t.at(plan.days) <= end
    )
    return Decimal(out) / Decimal(inflow.cents) >= Decimal(str(plan.p["rapid_in_out_min_ratio"]))


def _dormant_fires(plan: _Plan, txns: list[_Txn], d: int) -> bool:
    """For an account dormant in the master whose only transactions are ``txns``."""
    window = int(plan.p["dormant_window_days"])
    start = plan.ordinal(d) - window + 1
    idle_from = start - int(plan.p["dormant_idle_days"])
    if any(idle_from <= plan.ordinal(t.day) < start for t in txns):
        return False
    moved = sum(t.cents for t in _window(plan, txns, d, window))
    return moved >= _cents(plan.p["dormant_min_amount_cny"])


def _first_firing(plan: _Plan, fires: Any) -> int | None:
    for d in range(len(plan.days)):
        if fires(d):
            return d
    return None


def _record(plan: _Plan, fires: bool, rule: str, key: str, kind: str, detail: str, when: Any) -> bool:
    """Check a case on every business date; record it as planted (first firing date) or near miss."""
    first = _first_firing(plan, when)
    if fires and first is None:
        raise AssertionError(f"{rule} case {kind} never fires")
    if not fires and first is not None:
        raise AssertionError(f"{rule} near miss {kind} fires on {plan.days[first]}")
    plan.truth(fires, rule, key, first if first is not None else len(plan.days) - 1, kind, detail)
    return True


def _starts(plan: _Plan, offsets: Sequence[int]) -> list[list[int]]:
    """Day indexes d0 + calendar offsets that are all business days of the run."""
    index = {day.toordinal(): i for i, day in enumerate(plan.days)}
    found: list[list[int]] = []
    for day in plan.days:
        picked = [index.get(day.toordinal() + o) for o in offsets]
        if all(p is not None for p in picked):
            found.append([p for p in picked if p is not None])
    return found


def _pick(plan: _Plan, options: list[list[int]]) -> list[int] | None:
    return options[int(plan.rng.integers(0, len(options)))] if options else None


# --------------------------------------------------------------------------- typologies


def _structuring(plan: _Plan, n_fire: int) -> None:
    line = _cents(plan.p["large_cash_threshold_cny"])
    floor = int(line * (1 - Decimal(str(plan.p["structuring_margin_rate"]))))
    window = int(plan.p["structuring_window_days"])
    variants: list[tuple[str, bool, list[int]]] = []
    for n in range(n_fire):
        kind = ("consecutive_days", "two_accounts", "window_edge", "four_legs")[n % 4]
        variants.append((kind, True, [0, 1, 2] if kind != "window_edge" else [0, window // 2, window - 1]))
    variants += [("two_legs", False, [0, 1]), ("leg_under_band", False, [0, 1, 2])]
    variants.append(("beyond_window", False, [0, window - 2, 2 * window - 3]))
    for kind, fires, offsets in variants:
        if kind == "four_legs":
            offsets = [0, 1, 2, 3]
        options = (
            _starts(plan, offsets)
            if kind in ("window_edge", "beyond_window")
            else [list(range(s, s + len(offsets))) for s in range(len(plan.days) - len(offsets) + 1)]
        )
        if kind != "beyond_window" and kind != "window_edge":
            options = [o for o in options if plan.ordinal(o[-1]) - plan.ordinal(o[0]) < window]
        chosen = _pick(plan, options)
        customer = plan.take(plan.pool2 if kind == "two_accounts" else None) if chosen else None
        if chosen is None or customer is None:
            continue
        direction = "credit" if plan.rng.random() < 0.5 else "debit"
        amounts = [int(plan.rng.integers(floor, line)) for _ in chosen]
        if fires:
            amounts[0], amounts[-1] = floor, line - 1  # both band edges, inclusive floor
        if kind == "leg_under_band":
            amounts[1] = floor - 1
        legs = [
            plan.add(
                customer,
                d,
                int(plan.rng.integers(9 * 3600, 17 * 3600)),
                direction,
                cents,
                account=n % 2 if kind == "two_accounts" else 0,  # legs alternate between its accounts
                channel="cash",
                cp_country="",
                purpose="cash deposit" if direction == "credit" else "cash withdrawal",
            )
            for n, (d, cents) in enumerate(zip(chosen, amounts, strict=True))
        ]
        key = f"{plan.cust.ids[customer]}|{direction}"
        detail = (
            f"legs={'+'.join(_money(t.cents) for t in legs)}; days={','.join(plan.days[d].isoformat() for d in chosen)}; "
            f"accounts={','.join(sorted({plan.cust.account_ids[t.account] for t in legs}))}"
        )
        _record(
            plan,
            fires,
            STRUCTURING_RULE,
            key,
            kind,
            detail,
            lambda d, legs=legs: _structuring_fires(plan, legs, d),
        )


def _rapid(plan: _Plan, n_fire: int) -> None:
    floor = _cents(plan.p["rapid_in_out_min_inflow_cny"])
    hours = int(plan.p["rapid_in_out_window_hours"])
    ratio = Decimal(str(plan.p["rapid_in_out_min_ratio"]))
    kinds = [("same_day", True), ("split_outflows", True), ("next_day_edge", True)] * ((n_fire + 2) // 3)
    kinds = [*kinds[:n_fire], ("ratio_under", False), ("after_window", False), ("inflow_under_floor", False)]
    consecutive = [i for i in range(len(plan.days) - 1) if plan.ordinal(i + 1) - plan.ordinal(i) == 1]
    for kind, fires in kinds:
        needs_next = kind in ("next_day_edge", "after_window")
        if needs_next and not consecutive:
            continue
        customer = plan.take()
        if customer is None:
            return
        d = (
            consecutive[int(plan.rng.integers(0, len(consecutive)))]
            if needs_next
            else int(plan.rng.integers(0, len(plan.days)))
        )
        inflow_cents = (
            floor - 1 if kind == "inflow_under_floor" else int(plan.rng.integers(60_000, 150_000)) * 100
        )
        start = int(plan.rng.integers(9 * 3600, 12 * 3600))
        account, name = plan.counterparty()
        inflow = plan.add(customer, d, start, "credit", inflow_cents, cp_account=account, cp_name=name)
        share = {
            "same_day": Decimal("0.95"),
            "split_outflows": Decimal("0.85"),
            "ratio_under": ratio - Decimal("0.01"),
        }
        legs: list[tuple[int, int, int]] = []  # day, second, cents
        if kind in ("same_day", "ratio_under", "inflow_under_floor"):
            total = inflow_cents if kind == "inflow_under_floor" else int(inflow_cents * share[kind])
            legs = [(d, start + 3 * 3600, total)]
        elif kind == "split_outflows":
            total = int(inflow_cents * share[kind])
            first, second = total // 3, total // 3
            legs = [
                (d, start + 3600, first),
                (d, start + 2 * 3600, second),
                (d, start + 4 * 3600, total - first - second),
            ]
        else:  # the second outflow exactly at the window's end, or a second after it
            total = _ceil(inflow_cents * ratio)
            first = total // 2
            late = start + hours * 3600 - _DAY_SECONDS + (1 if kind == "after_window" else 0)
            if not 0 <= late < _DAY_SECONDS:
                raise AssertionError("rapid in-out planting assumes a window of 24 to 47 hours")
            legs = [(d, start + 3600, first), (d + 1, late, total - first)]
        outflows = []
        for day, second, cents in legs:
            account, name = plan.counterparty()
            outflows.append(plan.add(customer, day, second, "debit", cents, cp_account=account, cp_name=name))
        everything = [inflow, *outflows]
        key = f"{plan.cust.ids[customer]}|{inflow.txn_id}"
        detail = f"inflow={_money(inflow_cents)}; outflows={'+'.join(_money(t.cents) for t in outflows)}"
        _record(
            plan,
            fires,
            RAPID_RULE,
            key,
            kind,
            detail,
            lambda d, e=everything, i=inflow: _rapid_fires(plan, e, i, d),
        )


def _fan(plan: _Plan, side: str, n_fire: int) -> None:
    rule = FAN_IN_RULE if side == "in" else FAN_OUT_RULE
    direction = "credit" if side == "in" else "debit"
    minimum = int(plan.p[f"fan_{side}_min_counterparties"])
    floor = _cents(plan.p[f"fan_{side}_min_amount_cny"])
    window = int(plan.p[f"fan_{side}_window_days"])
    kinds = [("one_day", True), ("across_window", True)] * ((n_fire + 1) // 2)
    kinds = [
        *kinds[:n_fire],
        ("one_counterparty_short", False),
        ("under_amount", False),
        ("spread_out", False),
    ]
    for kind, fires in kinds:
        if kind == "across_window":
            options = _starts(plan, [0, window - 1])
            if not options:
                continue
            span = options[int(plan.rng.integers(0, len(options)))]
            legs_days = [span[0], span[1]]
        elif kind == "spread_out":
            options = _starts(plan, [0, window])
            if not options:
                continue
            legs_days = options[int(plan.rng.integers(0, len(options)))]
        else:
            legs_days = [int(plan.rng.integers(0, len(plan.days)))]
        customer = plan.take()
        if customer is None:
            return
        n_cp = minimum + int(plan.rng.integers(0, 4)) if fires else minimum
        if kind == "one_counterparty_short":
            n_cp = minimum - 1
        counterparties = [plan.counterparty() for _ in range(n_cp)]
        n_txn = n_cp + (2 if kind == "one_counterparty_short" else 0)
        each = -(-floor // n_txn) + int(plan.rng.integers(0, 3000)) * 100
        if kind == "under_amount":
            each = (floor - 1) // n_txn
        legs = []
        for i in range(n_txn):
            account, name = counterparties[i % n_cp]
            if kind == "spread_out":
                day = legs_days[0] if i < n_txn // 2 else legs_days[1]
            else:
                day = legs_days[i % len(legs_days)]
            legs.append(
                plan.add(
                    customer,
                    day,
                    int(plan.rng.integers(8 * 3600, 20 * 3600)),
                    direction,
                    each,
                    cp_account=account,
                    cp_name=name,
                    purpose="transfer",  # an entity's goods payments are its expected fan-in
                )
            )
        key = plan.cust.ids[customer]
        detail = f"counterparties={n_cp}; transactions={n_txn}; total={_money(each * n_txn)}"
        _record(plan, fires, rule, key, kind, detail, lambda d, legs=legs: _fan_fires(plan, legs, d, side))


def _spikes(plan: _Plan, n_fire: int) -> None:
    """cn.aml.activity_spike: a sparse baseline, then a burst of small transfers (each far under
    the money lines), next to bursts one transaction short, a cent under the floor and against a
    baseline too busy for the factor. Planted only when the run holds a baseline before a window."""
    if "activity_spike_factor" not in plan.p:
        return
    w = int(plan.p["activity_spike_window_days"])
    history = int(plan.p["activity_spike_min_history_days"])
    floor = _cents(plan.p["activity_spike_min_amount_cny"])
    minimum = int(plan.p["activity_spike_min_transactions"])
    first = plan.ordinal(0)
    # Windows whose start leaves ``history`` observed days after the first date, all inside the run.
    ends = [d for d in range(len(plan.days)) if plan.ordinal(d) - w + 1 - first >= history]
    baseline_days = [d for d in range(len(plan.days)) if plan.ordinal(d) < first + history]
    if not ends or len(baseline_days) < 2:
        return
    kinds = [("burst", True)] * n_fire + [
        ("one_transaction_short", False),
        ("under_floor", False),
        ("busy_baseline", False),
    ]
    for kind, fires in kinds:
        customer = plan.take()
        if customer is None:
            return
        last = ends[int(plan.rng.integers(0, len(ends)))]
        window_days = [
            d for d in range(len(plan.days)) if plan.ordinal(last) - w < plan.ordinal(d) <= plan.ordinal(last)
        ]
        n_base = 10 if kind == "busy_baseline" else 2
        base = [baseline_days[i % len(baseline_days)] for i in range(n_base)]
        legs = []
        for n, d in enumerate(base):
            account, name = plan.counterparty()
            legs.append(
                plan.add(
                    customer,
                    d,
                    10 * 3600 + n * 60,
                    "credit" if n % 2 else "debit",
                    150_000 + n * 100,
                    cp_account=account,
                    cp_name=name,
                    purpose="family support",
                )
            )
        count = minimum - 1 if kind == "one_transaction_short" else minimum + 3
        total = floor - 1 if kind == "under_floor" else floor + int(plan.rng.integers(0, 15_000)) * 100
        each = total // count
        for n in range(count):
            cents = total - each * (count - 1) if n == count - 1 else each
            account, name = plan.counterparty()
            legs.append(
                plan.add(
                    customer,
                    window_days[n % len(window_days)],
                    9 * 3600 + n * 900 + int(plan.rng.integers(0, 600)),
                    "credit" if n % 2 == 0 else "debit",
                    cents,
                    cp_account=account,
                    cp_name=name,
                    purpose="transfer",
                )
            )
        key = plan.cust.ids[customer]
        detail = f"baseline={n_base} transactions; burst={count} transactions, {_money(total)}; window_end={plan.days[last]}"
        _record(
            plan,
            fires,
            ACTIVITY_SPIKE_RULE,
            key,
            kind,
            detail,
            lambda d, legs=legs: _spike_fires(plan, legs, d, first),
        )


def _dormant(plan: _Plan, dormant_pool: list[int], n_fire: int) -> None:
    line = _cents(plan.p["dormant_min_amount_cny"])
    window = int(plan.p["dormant_window_days"])
    kinds = [("reactivated", True), ("still_flagged_dormant", True), ("exact_amount", True)] * (
        (n_fire + 2) // 3
    )
    kinds = [*kinds[:n_fire], ("under_amount", False), ("spread_beyond_window", False)]
    for kind, fires in kinds:
        offsets = [0, window + 1] if kind == "spread_beyond_window" else [0, 1]
        options = (
            _starts(plan, offsets)
            if kind == "spread_beyond_window"
            else [
                [i, i + 1]
                for i in range(len(plan.days) - 1)
                if plan.ordinal(i + 1) - plan.ordinal(i) < window
            ]
        )
        chosen = _pick(plan, options)
        customer = plan.take(dormant_pool) if chosen else None
        if chosen is None or customer is None:
            continue
        total = {"exact_amount": line, "under_amount": line - 1}.get(
            kind, int(plan.rng.integers(60_000, 95_000)) * 100
        )
        # The inflow stays under the rapid in-out floor and the outflow follows a day later.
        inflow = min(total * 3 // 5, _cents(plan.p["rapid_in_out_min_inflow_cny"]) - 100)
        account, name = plan.counterparty()
        first = plan.add(
            customer,
            chosen[0],
            int(plan.rng.integers(9 * 3600, 16 * 3600)),
            "credit",
            inflow,
            cp_account=account,
            cp_name=name,
        )
        account, name = plan.counterparty()
        second = plan.add(
            customer,
            chosen[1],
            int(plan.rng.integers(9 * 3600, 16 * 3600)),
            "debit",
            total - inflow,
            cp_account=account,
            cp_name=name,
        )
        if kind == "reactivated":
            plan.account_versions.append((plan.account(customer), chosen[0], "active"))
        key = f"{plan.cust.ids[customer]}|{plan.cust.account_ids[plan.account(customer)]}"
        detail = f"moved={_money(total)}; days={plan.days[chosen[0]]},{plan.days[chosen[1]]}"
        _record(
            plan,
            fires,
            DORMANT_RULE,
            key,
            kind,
            detail,
            lambda d, legs=[first, second]: _dormant_fires(plan, legs, d),
        )


def _listings(reference_dir: Path) -> list[tuple[str, str, date, date | None]]:
    with (reference_dir / "high_risk_jurisdictions.csv").open(newline="", encoding="utf-8") as handle:
        return [
            (
                r["jurisdiction_code"],
                r["list_name"],
                date.fromisoformat(r["valid_from"]),
                date.fromisoformat(r["valid_to"]) if r["valid_to"] else None,
            )
            for r in csv.DictReader(handle)
        ]


def _listed_on(listings: list[tuple[str, str, date, date | None]], code: str, day: date) -> bool:
    return any(c == code and start <= day and (end is None or day < end) for c, _, start, end in listings)


def _high_risk(plan: _Plan, reference_dir: Path, n_fire: int) -> None:
    listings = _listings(reference_dir)
    codes = sorted({c for c, _, _, _ in listings})
    cases: list[tuple[str, bool, int, str]] = []
    for n in range(n_fire):
        d = int(plan.rng.integers(0, len(plan.days)))
        listed = [c for c in codes if _listed_on(listings, c, plan.days[d])]
        black = [
            c for c in listed if any(x == c and ln == "fatf_call_for_action" for x, ln, _, _ in listings)
        ]
        pool, kind = (black, "call_for_action") if n % 3 == 0 and black else (listed, "increased_monitoring")
        if pool:
            cases.append((kind, True, d, pool[int(plan.rng.integers(0, len(pool)))]))
    # Each edge of a validity window inside the run: the last day before it and the first on or after.
    edges: list[tuple[str, bool, int, str]] = []
    for code, _, start, end in listings:
        for edge in (start, end):
            if edge is None or not plan.days[0] < edge <= plan.days[-1]:
                continue
            before = max(i for i, day in enumerate(plan.days) if day < edge)
            after = min(i for i, day in enumerate(plan.days) if day >= edge)
            for d in (before, after):
                edges.append(("validity_edge", _listed_on(listings, code, plan.days[d]), d, code))
    cases += edges[:8]
    # Near misses: a jurisdiction on a list at some other time, not on the day of the transaction.
    misses = 0
    for d in range(len(plan.days) - 1, -1, -1):
        for code in codes:
            if (
                misses < 3
                and not _listed_on(listings, code, plan.days[d])
                and (d, code) not in {(c[2], c[3]) for c in cases}
            ):
                cases.append(("listed_at_another_time", False, d, code))
                misses += 1
                break
    seen: set[tuple[int, str]] = set()
    for kind, fires, d, code in cases:
        if (d, code) in seen:
            continue
        seen.add((d, code))
        customer = plan.take()
        if customer is None:
            return
        account, name = plan.counterparty()
        txn = plan.add(
            customer,
            d,
            int(plan.rng.integers(9 * 3600, 17 * 3600)),
            "debit" if plan.rng.random() < 0.6 else "credit",
            int(plan.rng.integers(3_000, 50_000)) * 100,  # under USD 10,000 (CNY ~71,000)
            channel="cross_border",
            cp_account=account,
            cp_name=name,
            cp_country=code,
            purpose="remittance",
        )
        key = f"{plan.cust.ids[customer]}|{txn.txn_id}"
        detail = f"country={code}; amount={_money(txn.cents)}; date={plan.days[d]}"
        _record(
            plan,
            fires,
            HIGH_RISK_RULE,
            key,
            kind,
            detail,
            lambda dd, t=txn, c=code: dd == t.day and _listed_on(listings, c, plan.days[t.day]),
        )


def _cycles(plan: _Plan, names: list[str], n_fire: int) -> None:
    window = int(plan.p["cycle_window_days"])
    max_hops = int(plan.p["cycle_max_hops"])
    floor = _cents(plan.p["cycle_min_amount_cny"])
    kinds = [(2, "round_trip", True), (3, "three_party", True), (max_hops, "longest", True)] * (
        (n_fire + 2) // 3
    )
    kinds = kinds[:n_fire]
    kinds += [
        (2, "exact_window", True),
        (3, "slow_return", False),
        (3, "open_chain", False),
        (max_hops + 1, "too_many_hops", False),
        (2, "hop_under_floor", False),
    ]
    for hops, kind, fires in kinds:
        if kind == "exact_window":
            options = _starts(plan, [0, window])
        elif kind == "slow_return":
            options = _starts(plan, [0, 1, window + 1])
        else:
            options = [
                list(range(s, s + min(hops, 3)))
                for s in range(len(plan.days) - min(hops, 3) + 1)
                if plan.ordinal(s + min(hops, 3) - 1) - plan.ordinal(s) < window
            ]
        chosen = _pick(plan, options)
        if chosen is None or len(plan.pool) < hops:
            continue
        members = [plan.take() for _ in range(hops)]
        people = [m for m in members if m is not None]
        amount = int(plan.rng.integers(20_000, 45_000)) * 100
        legs: list[_Txn] = []
        n_legs = hops - 1 if kind == "open_chain" else hops
        for i in range(n_legs):
            sender, receiver = people[i], people[(i + 1) % hops]
            day = chosen[min(i * len(chosen) // n_legs, len(chosen) - 1)] if i < n_legs - 1 else chosen[-1]
            second = 9 * 3600 + i * 1800 + int(plan.rng.integers(0, 1200))
            cents = floor - 1 if kind == "hop_under_floor" and i == n_legs - 1 else amount - i * 50_000
            to_account = plan.cust.account_ids[plan.account(receiver)]
            from_account = plan.cust.account_ids[plan.account(sender)]
            legs.append(
                plan.add(
                    sender,
                    day,
                    second,
                    "debit",
                    cents,
                    cp_account=to_account,
                    cp_name=names[plan.account(receiver)],
                    purpose="goods payment",
                )
            )
            plan.add(
                receiver,
                day,
                second,
                "credit",
                cents,
                cp_account=from_account,
                cp_name=names[plan.account(sender)],
                purpose="goods payment",
            )
        origin = legs[0]
        returns = plan.ordinal(legs[-1].day) - plan.ordinal(origin.day)
        closes = kind not in ("open_chain", "too_many_hops", "hop_under_floor")
        key = f"{plan.cust.ids[origin.customer]}|{origin.txn_id}"
        detail = f"hops={hops}; path={' > '.join(plan.cust.ids[c] for c in people)}; return_days={returns}"
        _record(
            plan,
            fires,
            CYCLE_RULE,
            key,
            kind,
            detail,
            lambda d, r=returns, c=closes, last=legs[-1], o=origin: (
                c
                and d >= last.day
                and r <= window
                and plan.ordinal(d) - plan.ordinal(o.day) < int(plan.p["cycle_lookback_days"])
            ),
        )


def _customer_txns(
    plan: _Plan, transactions: _Table, fx_rates: _Table, customers: set[int] | None
) -> dict[int, list[_Txn]]:
    """The transactions of ``customers`` (all when None) as the warehouse reads them (CNY)."""
    rates = {
        (d, c): Decimal(r)
        for d, c, r in zip(
            fx_rates.columns["rate_date"],
            fx_rates.columns["currency"],
            fx_rates.columns["cny_per_unit"],
            strict=True,
        )
    }
    index = {a: i for i, a in enumerate(plan.cust.account_ids)}
    day_of = {d.isoformat(): i for i, d in enumerate(plan.days)}
    cols = transactions.columns
    by_customer: dict[int, list[_Txn]] = {}
    for i, account_id in enumerate(cols["account_id"]):
        a = index.get(account_id)
        if a is None or (customers is not None and int(plan.cust.account_customer[a]) not in customers):
            continue
        stamp, currency = cols["txn_at"][i], cols["currency"][i]
        d = day_of.get(stamp[:10])
        if d is None or d != int(transactions.day[i]):
            continue
        cents, priced = _cents(cols["amount"][i]), True
        if currency != "CNY":
            rate = rates.get((stamp[:10], currency))
            if rate is None:  # no rate: a null CNY amount (adds nothing; still a counterparty)
                cents, priced = 0, False
            else:
                cents = int((Decimal(cents) * rate).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        customer = int(plan.cust.account_customer[a])
        by_customer.setdefault(customer, []).append(
            _Txn(
                cols["txn_id"][i],
                a,
                customer,
                d,
                int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60 + int(stamp[17:19]),
                cols["direction"][i],
                cents,
                channel=cols["channel"][i],
                cp_account=cols["counterparty_account"][i] or cols["counterparty_name"][i],
                cp_country=cols["counterparty_country"][i],
                purpose=cols["purpose"][i],
                priced=priced,
            )
        )
    return by_customer


def _window_cases(
    plan: _Plan,
    customer: int,
    txns: list[_Txn],
    listings: list[tuple[str, str, date, date | None]],
    first: int,
) -> list[tuple[str, str, Any, list[_Txn]]]:
    """Every case of the window rules the generator re-implements on one customer's transactions:
    (rule, entity key, fires-on-date d, the legs involved)."""
    cid = plan.cust.ids[customer]
    cases: list[tuple[str, str, Any, list[_Txn]]] = []
    for direction in ("credit", "debit"):
        cash = [t for t in txns if t.direction == direction and t.channel == "cash"]
        cases.append(
            (
                STRUCTURING_RULE,
                f"{cid}|{direction}",
                lambda d, legs=cash: _structuring_fires(plan, legs, d),
                cash,
            )
        )
    non_cash = [t for t in txns if t.channel != "cash"]
    cases.append((FAN_IN_RULE, cid, lambda d: _fan_fires(plan, txns, d, "in"), non_cash))
    cases.append((FAN_OUT_RULE, cid, lambda d: _fan_fires(plan, txns, d, "out"), non_cash))
    if "activity_spike_factor" in plan.p:
        cases.append((ACTIVITY_SPIKE_RULE, cid, lambda d: _spike_fires(plan, txns, d, first), txns))
    for t in txns:
        if t.direction == "credit":
            cases.append(
                (RAPID_RULE, f"{cid}|{t.txn_id}", lambda d, t=t: _rapid_fires(plan, txns, t, d), [t])
            )
        if t.channel != "cash" and t.cp_country:
            cases.append(
                (
                    HIGH_RISK_RULE,
                    f"{cid}|{t.txn_id}",
                    lambda d, t=t: d == t.day and _listed_on(listings, t.cp_country, plan.days[t.day]),
                    [t],
                )
            )
    return cases


def every_customer_cases(
    cust: _Customers,
    days: Sequence[date],
    transactions: _Table,
    fx_rates: _Table,
    reference_dir: Path,
    calibration: Calibration,
    planted: Sequence[TruthRow],
    near: Sequence[TruthRow],
) -> tuple[list[TruthRow], set[str]]:
    """The window rules re-evaluated over every customer of the final transactions (after
    every generator has planted and adjusted its rows), so the truth lists every exception
    those rules must raise.

    Kinds: ``other_generator`` (a case of another generator, say a large-value receipt paid
    out within hours, also trips a typology: one case, two rules), ``pattern_traffic`` (an
    AMLworld attempt's or typology case's customer trips another window rule) and
    ``ordinary_traffic`` (random ordinary traffic happens to meet a rule's definition, say five
    payers in a week, CNY 50,000 together: ``regwatch rules evaluate`` counts it as a false
    positive of the detection). The accounts of the customers involved are returned so their
    rows are never corrupted.
    """
    plan = _Plan(np.random.default_rng(0), cust, days, calibration.parameters, [])
    listings = _listings(reference_dir)
    known = {(r[1], r[2]) for r in planted}
    misses = {(r[1], r[2]) for r in near}
    ours = {t for t in transactions.columns["txn_id"] if t.startswith("TY")}
    others = {
        t
        for t, p in zip(transactions.columns["txn_id"], transactions.protected.tolist(), strict=True)
        if p and t not in ours
    }
    rows: list[TruthRow] = []
    protect: set[str] = set()
    by_customer = _customer_txns(plan, transactions, fx_rates, None)
    first_date = min(
        (plan.ordinal(t.day) for txns in by_customer.values() for t in txns if t.priced), default=0
    )
    for customer in sorted(by_customer):
        for rule, key, when, legs in _window_cases(
            plan, customer, by_customer[customer], listings, first_date
        ):
            if (rule, key) in known:
                continue
            first = _first_firing(plan, when)
            if first is None:
                continue
            if (rule, key) in misses:
                raise AssertionError(f"{rule} near miss {key} fires on {days[first]}")
            if any(t.txn_id in ours for t in legs):
                kind, detail = "pattern_traffic", "a planted typology or attempt's traffic meets the rule"
            elif any(t.txn_id in others for t in legs):
                kind, detail = "other_generator", "traffic of another generator's planted case"
            else:
                kind, detail = "ordinary_traffic", "ordinary traffic meets the rule's definition"
            rows.append(("", rule, key, days[first].isoformat(), kind, detail))
            known.add((rule, key))
            protect |= {cust.account_ids[a] for a in cust.accounts_of[customer]}
    return rows, protect


# --------------------------------------------------------------------------- entry point


def plant(
    rng: np.random.Generator,
    cust: _Customers,
    days: Sequence[date],
    accounts: _Table,
    transactions: _Table,
    loans: _Table,
    fx_rates: _Table,
    reference_dir: Path,
    calibration: Calibration,
    exclude: set[int],
) -> Planted:
    """Plant every typology; return the transactions (ordinary minus the picked customers' + planted).

    ``exclude``: customers that carry another generator's planted case; customers with a
    protected transaction and recent borrowers are excluded as well.
    """
    params = calibration.parameters
    m = len(cust.account_ids)
    status = accounts.columns["status"][:m]
    opened = accounts.columns["opened_at"][:m]
    protected_accounts = {
        a
        for a, p in zip(transactions.columns["account_id"], transactions.protected.tolist(), strict=True)
        if p
    }
    account_index = {a: i for i, a in enumerate(cust.account_ids)}
    others = set(exclude)  # customers of another generator's planted cases
    for account_id in protected_accounts:
        if account_id in account_index:
            others.add(int(cust.account_customer[account_index[account_id]]))
    exclude |= others
    # Borrowers whose loan was disbursed shortly before or during the run keep their
    # ordinary traffic: a typology's outflows must not read as loan proceeds moved on.
    recent = (days[0] - timedelta(days=30)).isoformat()
    customer_index = {c: i for i, c in enumerate(cust.ids)}
    for borrower, disbursed in zip(
        loans.columns["borrower_id"], loans.columns["disbursement_date"], strict=True
    ):
        if disbursed >= recent and borrower in customer_index:
            exclude.add(customer_index[borrower])
    single = [
        c
        for c in range(len(cust.ids))
        if c not in exclude and cust.open_day[c] == 0 and len(cust.accounts_of[c]) == 1
    ]
    order = rng.permutation(len(single)).tolist()
    shuffled = [single[i] for i in order]
    idle_before = days[0] - timedelta(
        days=int(params["dormant_idle_days"]) + int(params["dormant_window_days"])
    )
    pool = [c for c in shuffled if status[cust.accounts_of[c][0]] == "active"]
    dormant_pool = [
        c
        for c in shuffled
        if status[cust.accounts_of[c][0]] == "dormant"
        and date.fromisoformat(opened[cust.accounts_of[c][0]][:10]) < idle_before
    ]
    double = [
        c
        for c in range(len(cust.ids))
        if c not in exclude
        and cust.open_day[c] == 0
        and len(cust.accounts_of[c]) == 2
        and all(status[a] == "active" for a in cust.accounts_of[c])
    ]
    plan = _Plan(rng, cust, days, params, pool, [double[i] for i in rng.permutation(len(double)).tolist()])
    n_fire = int(np.clip(len(pool) // 40, 3, 6))
    _structuring(plan, n_fire)
    _rapid(plan, n_fire)
    _fan(plan, "in", n_fire)
    _fan(plan, "out", n_fire)
    _dormant(plan, dormant_pool, min(n_fire, max(1, len(dormant_pool) - 2)))
    _high_risk(plan, reference_dir, n_fire)
    _cycles(plan, list(accounts.columns["full_name"][:m]), n_fire)
    # The screening generator renames free non-borrowing individuals and firms to listed names
    # (regwatch.demo.screening): hold back some of each before the relative line and the AMLworld
    # attempts take customers, so a small platform keeps every screening case.
    borrowing = {customer_index[b] for b in loans.columns["borrower_id"] if b in customer_index}
    held: list[int] = []
    for entity, count in ((False, 40), (True, 12)):
        spare = [c for c in plan.pool if bool(cust.is_entity[c]) == entity and (entity or c not in borrowing)]
        held += spare[:count]
    plan.pool = [c for c in plan.pool if c not in set(held)]
    _spikes(plan, n_fire)
    from regwatch.demo import laundering as demo_laundering

    rounds = int(np.clip(len(plan.pool) // 25, 1, 10))

    def window_rules(legs: list[_Txn]) -> set[str]:
        tripped = set()
        for side, rule in (("in", FAN_IN_RULE), ("out", FAN_OUT_RULE)):
            if _first_firing(plan, lambda d, side=side: _fan_fires(plan, legs, d, side)) is not None:
                tripped.add(rule)
        for t in legs:
            if (
                t.direction == "credit"
                and _first_firing(plan, lambda d, t=t: _rapid_fires(plan, legs, t, d)) is not None
            ):
                tripped.add(RAPID_RULE)
        return tripped

    laundering = demo_laundering.plant(
        plan, list(accounts.columns["full_name"][:m]), rounds, int(np.clip(rounds // 3, 1, 3)), window_rules
    )

    used_accounts = {cust.account_ids[a] for c in plan.used for a in cust.accounts_of[c]}
    keep = np.array(
        [
            p or a not in used_accounts
            for a, p in zip(transactions.columns["account_id"], transactions.protected.tolist(), strict=True)
        ],
        np.bool_,
    )
    idx = np.flatnonzero(keep).tolist()
    ordinary = _Table(
        transactions.name,
        {c: [v[i] for i in idx] for c, v in transactions.columns.items()},
        transactions.day[keep],
        transactions.protected[keep],
    )
    txns = sorted(plan.txns, key=lambda t: (t.day, t.second, t.txn_id))
    columns: dict[str, list[str]] = {
        "txn_id": [t.txn_id for t in txns],
        "account_id": [cust.account_ids[t.account] for t in txns],
        "txn_at": _stamps(np.array([t.at(days) for t in txns], np.int64)),
        "direction": [t.direction for t in txns],
        "amount": [_money(t.cents) for t in txns],
        "currency": ["CNY"] * len(txns),
        "channel": [t.channel for t in txns],
        "counterparty_account": [t.cp_account for t in txns],
        "counterparty_name": [t.cp_name for t in txns],
        "counterparty_country": [t.cp_country if t.channel != "cash" else "" for t in txns],
        "purpose": [t.purpose for t in txns],
    }
    typology = _part(
        "transactions", columns, np.array([t.day for t in txns], np.int64), np.ones(len(txns), np.bool_)
    )
    versions = sorted(plan.account_versions)
    version_columns: dict[str, list[str]] = {
        c: [accounts.columns[c][a] for a, _, _ in versions] for c in accounts.columns
    }
    version_columns["status"] = [s for _, _, s in versions]
    version_columns["updated_at"] = _stamps(
        np.array([days[d].toordinal() * _DAY_SECONDS + 7 * 3600 for _, d, _ in versions], np.int64)
    )
    new_accounts = _part(
        "accounts",
        version_columns,
        np.array([d for _, d, _ in versions], np.int64),
        np.ones(len(versions), np.bool_),
    )
    return Planted(
        transactions=_table("transactions", [ordinary, typology]),
        accounts=_table("accounts", [accounts, new_accounts]),
        accounts_used=used_accounts,
        planted=plan.planted,
        near=plan.near,
        patterns=laundering.patterns,
        benign=laundering.benign,
    )
