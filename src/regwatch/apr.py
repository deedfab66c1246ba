"""Real annual percentage rate of a loan's cash flows (pure maths, no I/O).

The real rate is the rate that makes the present value of everything the borrower
pays equal to the present value of everything the borrower actually received.
Four conventions, named as the rule packs name them:

``us_reg_z``
    12 CFR 1026 Appendix J, actuarial method. Time is counted in unit periods from
    the term's start (the earliest advance). The unit period is the common period
    that occurs most frequently ((b)(4)); full unit periods are counted backward from
    each flow's date, and what is left is a fraction of a unit period, a month
    counted as 30 days and a semimonth as 15 ((b)(5)). A flow ``t`` full periods and
    ``f`` of a period away is discounted by ``1 / ((1 + f*i) * (1 + i)**t)``
    ((b)(8)); APR = ``i`` x unit periods per year ((b)(1)).
``cn_irr`` / ``cn_irr_compound``
    PBOC Announcement [2021] No. 3: the periodic IRR over the principal actually
    occupied, on the same unit periods, but fully compounded (``(1 + i)**-(t+f)``).
    ``cn_irr`` is ``i`` x periods per year (the "simple" figure, labelled so),
    ``cn_irr_compound`` is ``(1 + i)**periods - 1``.
``eu_aprc``
    Directive 2008/48/EC Annex I: drawdowns and repayments discounted by
    ``(1 + X)**-t``, ``t`` in years of 365 days from the first drawdown (remark (c)
    allows 365 days; regwatch counts actual days / 365 and says so).

:func:`annual_rate` and :func:`explain` work on one loan in plain Python, written to
read like the regulation; :func:`annual_rates` does the same for millions of loans
at once with numpy and is tested to agree with the scalar functions to 1e-9.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Flow = tuple[date, float | Decimal | int]
Kind = Literal["day", "week", "semimonth", "month"]

METHODS = ("cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc")
#: Days in a month and a semimonth when a part period is turned into a fraction (Appendix J (b)(5)).
MONTH_DAYS = 30
SEMIMONTH_DAYS = 15
#: Days in the EU convention's year (Directive 2008/48/EC Annex I, remark (c)).
EU_YEAR_DAYS = 365
_KINDS: tuple[Kind, ...] = ("day", "week", "semimonth", "month")
_MAX_RATE = 1e6
#: Newton's error after a step of size h is about M*h*h (M, the curvature, is under 100 for
#: loans): a step under 1e-7 leaves an error under 1e-12. Bisection stops at a 1e-12 bracket.
_NEWTON_DONE = 1e-7
#: Payments within this share of the advances are the advances repaid at rate 0 (float noise).
_EVEN = 1e-9
_TOLERANCE = 1e-12


class AprError(ValueError):
    """The cash flows have no real rate, or the request is malformed."""


# --------------------------------------------------------------------------- unit periods


@dataclass(frozen=True, order=True)
class UnitPeriod:
    """A standard interval of time (Appendix J (b)(3)(iii)): days, weeks, a semimonth or months."""

    kind: Kind
    count: int = 1

    @property
    def per_year(self) -> float:
        """Unit periods in a year: 12 months, 24 semimonths, 52 weeks, 365 days."""
        return {"month": 12.0, "semimonth": 24.0, "week": 52.0, "day": 365.0}[self.kind] / self.count

    @property
    def approx_days(self) -> float:
        """Length in days, to rank periods and round averages (a month is 365/12 days)."""
        return {"month": 365 / 12, "semimonth": 365 / 24, "week": 7.0, "day": 1.0}[self.kind] * self.count

    @property
    def label(self) -> str:
        if self.kind == "month" and self.count == 12:
            return "year"
        if self.count == 1:
            return self.kind
        return f"{self.count} {self.kind}s"

    @classmethod
    def parse(cls, text: str) -> UnitPeriod:
        """``"month"``, ``"3 months"``, ``"semimonth"``, ``"2 weeks"``, ``"255 days"``, ``"year"``."""
        match = re.fullmatch(r"\s*(?:(\d+)\s+)?(day|week|semimonth|month|year)s?\s*", text.lower())
        if not match:
            raise AprError(
                f"unit period {text!r} is not a standard interval (e.g. 'month', '3 months', "
                "'semimonth', '2 weeks', '255 days', 'year')"
            )
        count = int(match.group(1) or 1)
        name = match.group(2)
        unit = cls("month", 12 * count) if name == "year" else cls(name, count)  # type: ignore[arg-type]
        if count < 1 or (unit.kind == "semimonth" and count != 1) or unit.approx_days > 366:
            raise AprError(f"unit period {text!r} must be at least one and at most a year")
        return unit

    @property
    def code(self) -> int:
        return _KINDS.index(self.kind) * 1000 + self.count

    @classmethod
    def from_code(cls, code: int) -> UnitPeriod:
        return cls(_KINDS[code // 1000], code % 1000)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


def _is_month_end(d: date) -> bool:
    return d.day == _days_in_month(d.year, d.month)


def _on_day(month_index: int, day: int) -> date:
    """Day ``day`` of the month ``month_index`` (year * 12 + month - 1), or its last day if shorter."""
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day, _days_in_month(year, month + 1)))


def shift_months(d: date, months: int) -> date:
    """``d`` moved by whole months; a day the target month lacks becomes its last day ((b)(3)(iv))."""
    return _on_day(d.year * 12 + d.month - 1 + months, d.day)


def semimonth_before(d: date) -> date:
    """One semimonth back: the 16th-31st go back 15 days in the month, the 1st-15th to the previous month."""
    if d.day > SEMIMONTH_DAYS:
        return d.replace(day=d.day - SEMIMONTH_DAYS)
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return date(year, month, min(d.day + SEMIMONTH_DAYS, _days_in_month(year, month)))


def classify_period(start: date, end: date) -> UnitPeriod:
    """The standard interval from ``start`` to ``end`` if it is one, otherwise its length in days."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if 1 <= months <= 12 and (
        shift_months(start, months) == end or (_is_month_end(start) and _is_month_end(end))
    ):
        return UnitPeriod("month", months)
    days = (end - start).days
    if days > 0 and days % 7 == 0 and days // 7 <= 52:
        return UnitPeriod("week", days // 7)
    if days > 0 and semimonth_before(end) == start:
        return UnitPeriod("semimonth")
    return UnitPeriod("day", max(days, 1))


def _nearest_standard(days: float) -> UnitPeriod:
    """The standard interval nearest an average length; the lower one on a tie ((b)(4)(i)(B))."""
    candidates = [UnitPeriod("day"), UnitPeriod("semimonth")]
    candidates += [UnitPeriod("week", k) for k in range(1, 53)]
    candidates += [UnitPeriod("month", k) for k in range(1, 13)]
    return min(candidates, key=lambda u: (abs(u.approx_days - days), u.approx_days))


def infer_unit_period(advance_dates: Sequence[date], payment_dates: Sequence[date]) -> UnitPeriod:
    """Appendix J (b)(4): the common period occurring most often (the shorter on a tie).

    Periods run between advances and between payments, and from the term's start to
    the first payment. With no common period, the average period rounded to the
    nearest standard interval; a single advance with a single payment uses the term
    itself, in months if it is whole months, otherwise in days, at most a year.
    """
    advances, payments = sorted(advance_dates), sorted(payment_dates)
    start = advances[0]
    if len(advances) == 1 and len(payments) == 1:
        term = classify_period(start, payments[0])
        if term.kind == "week":  # a whole number of weeks is still counted in days for a single payment
            term = UnitPeriod("day", term.count * 7)
        if term.kind == "semimonth":
            term = UnitPeriod("day", (payments[0] - start).days)
        return term if term.approx_days <= 365 else UnitPeriod("month", 12)
    periods = [classify_period(a, b) for a, b in itertools.pairwise(advances) if b > a]
    firsts = [p for p in payments if p > start]
    if firsts:
        periods.append(classify_period(start, firsts[0]))
    periods += [classify_period(a, b) for a, b in itertools.pairwise(firsts) if b > a]
    counts = Counter(periods)
    common = {p: n for p, n in counts.items() if n > 1 and p.approx_days <= 366}
    if common:
        return max(common, key=lambda p: (common[p], -p.approx_days))
    spans = [p.approx_days for p in periods] or [1.0]
    return _nearest_standard(sum(spans) / len(spans))


def unit_periods_between(start: date, when: date, unit: UnitPeriod) -> tuple[int, float]:
    """Full unit periods counted backward from ``when`` to ``start``, and the fraction left ((b)(5))."""
    if when <= start:
        return 0, 0.0
    if unit.kind in ("day", "week"):
        span = unit.count * (7 if unit.kind == "week" else 1)
        days = (when - start).days
        return days // span, (days % span) / span
    # A 29th/30th/31st series falls on the last day of shorter months ((b)(3)(iv)).
    when_day = start.day if _is_month_end(when) and start.day > when.day else when.day
    index = when.year * 12 + when.month - 1
    months = index - (start.year * 12 + start.month - 1)
    while months > 0 and _on_day(index - months, when_day) < start:
        months -= 1
    anchor = _on_day(index - months, when_day)
    if unit.kind == "semimonth":
        halves = 2 * months
        if semimonth_before(anchor) >= start:
            halves, anchor = halves + 1, semimonth_before(anchor)
        return halves, (anchor - start).days / SEMIMONTH_DAYS
    whole, rest = divmod(months, unit.count)
    return whole, (rest + (anchor - start).days / MONTH_DAYS) / unit.count


# --------------------------------------------------------------------------- one loan


@dataclass(frozen=True)
class FlowWorking:
    """One cash flow in the equation: where it sits in time and what it is worth today."""

    side: Literal["advance", "payment"]
    date: date
    amount: float
    whole_periods: int
    fraction: float
    discount_factor: float

    @property
    def present_value(self) -> float:
        return self.amount * self.discount_factor


@dataclass(frozen=True)
class AprWorkings:
    """The rate and how it was reached, for the CLI and the evidence of a rule."""

    method: str
    annual_rate: float
    periodic_rate: float
    unit_period: str
    periods_per_year: float
    flows: tuple[FlowWorking, ...]
    note: str

    @property
    def simple_rate(self) -> float:
        return self.periodic_rate * self.periods_per_year

    @property
    def compound_rate(self) -> float:
        return float((1.0 + self.periodic_rate) ** self.periods_per_year - 1.0)


_NOTES = {
    "cn_irr": "PBOC Announcement [2021] No. 3: periodic IRR x periods per year (simple annualisation)",
    "cn_irr_compound": "PBOC Announcement [2021] No. 3: (1 + periodic IRR) ** periods per year - 1 (compound)",
    "us_reg_z": "12 CFR 1026 Appendix J actuarial method: unit-period rate x unit periods per year",
    "eu_aprc": "Directive 2008/48/EC Annex I: effective annual rate, t in actual days / 365",
}


def _check(advances: Sequence[Flow], payments: Sequence[Flow], method: str) -> None:
    if method not in METHODS:
        raise AprError(f"unknown APR method {method!r}: choose one of {', '.join(METHODS)}")
    if not advances or not payments:
        raise AprError("a loan needs at least one advance and one payment")
    for side, flows in (("advance", advances), ("payment", payments)):
        for when, amount in flows:
            value = float(amount)
            if not math.isfinite(value) or value <= 0:
                raise AprError(f"{side} of {amount} on {when}: amounts must be positive")
    start = min(d for d, _ in advances)
    early = [d for d, _ in payments if d < start]
    if early:
        raise AprError(f"a payment on {early[0]} comes before the first advance on {start}")
    paid = sum(float(a) for _, a in payments)
    received = sum(float(a) for _, a in advances)
    if paid < received * (1 - _EVEN):
        raise AprError(f"payments ({paid:,.2f}) never exceed advances ({received:,.2f}): no lending rate")


def _discount(rate: float, whole: int, fraction: float, reg_z: bool) -> float:
    if reg_z:
        return float((1.0 + rate) ** -whole / (1.0 + fraction * rate))
    return float((1.0 + rate) ** -(whole + fraction))


def _solve(terms: Sequence[tuple[float, int, float]], reg_z: bool) -> float:
    """The periodic rate where the signed flows' present values sum to zero (bisection + Newton)."""

    def npv(rate: float) -> tuple[float, float]:
        value = slope = 0.0
        for amount, whole, fraction in terms:
            d = _discount(rate, whole, fraction, reg_z)
            value += amount * d
            if reg_z:
                slope -= amount * d * (whole / (1.0 + rate) + fraction / (1.0 + fraction * rate))
            else:
                slope -= amount * d * (whole + fraction) / (1.0 + rate)
        return value, slope

    # Payments at least equal advances, so the value at rate 0 is <= 0: 0 is the lower bracket.
    low, high = 0.0, 1.0
    while npv(high)[0] < 0:
        if high >= _MAX_RATE:
            raise AprError(
                f"the rate is beyond the solver's range: no periodic rate up to {_MAX_RATE:,.0f} "
                "(100,000,000 %) solves these cash flows"
            )
        # The bracket grows up to the range's top and stops there: a rate between 2**19
        # and 1,000,000 is in range (the batch engine solves it too).
        high = min(high * 2, _MAX_RATE)
    rate = 0.0
    for _ in range(300):
        value, slope = npv(rate)
        if value == 0:
            return rate
        if value < 0:
            low = rate
        else:
            high = rate
        step = rate - value / slope if slope else math.nan
        newton = low < step < high
        nxt = step if newton else (low + high) / 2.0
        scale = max(1.0, abs(rate))
        if (newton and abs(nxt - rate) <= _NEWTON_DONE * scale) or high - low <= _TOLERANCE * scale:
            return nxt
        rate = nxt
    return rate


def explain(
    advances: Sequence[Flow],
    payments: Sequence[Flow],
    method: str = "cn_irr",
    unit_period: str | None = None,
) -> AprWorkings:
    """The real annual rate with its workings: unit period, periodic rate, each flow's discounted value."""
    _check(advances, payments, method)
    start = min(d for d, _ in advances)
    if method == "eu_aprc":
        unit = None
        label, per_year = f"year ({EU_YEAR_DAYS} days)", 1.0
    else:
        unit = (
            UnitPeriod.parse(unit_period)
            if unit_period
            else infer_unit_period([d for d, _ in advances], [d for d, _ in payments])
        )
        label, per_year = unit.label, unit.per_year
    placed: list[tuple[Literal["advance", "payment"], date, float, int, float]] = []
    for side, flows in (("advance", advances), ("payment", payments)):
        for when, amount in sorted(flows, key=lambda f: f[0]):
            if unit is None:
                whole, fraction = 0, (when - start).days / EU_YEAR_DAYS
            else:
                whole, fraction = unit_periods_between(start, when, unit)
            placed.append((side, when, float(amount), whole, fraction))  # type: ignore[arg-type]
    reg_z = method == "us_reg_z"
    paid = sum(float(a) for _, a in payments)
    received = sum(float(a) for _, a in advances)
    rate = (
        0.0
        if paid <= received * (1 + _EVEN)
        else _solve([(a if s == "advance" else -a, w, f) for s, _, a, w, f in placed], reg_z)
    )
    try:
        # regwatch keeps the simple and the compound annualisation of every rate (PBOC 2021
        # No. 3): a periodic rate whose compounding over a year is no float has no answer.
        compound = (1.0 + rate) ** per_year - 1.0
    except OverflowError:
        raise AprError(
            f"the rate is beyond the solver's range: a periodic rate of {rate:.6g} ({rate:.4%}) per {label}, "
            f"compounded over {per_year:g} periods a year, overflows a float"
        ) from None
    annual = compound if method == "cn_irr_compound" else rate * per_year
    workings = tuple(FlowWorking(s, d, a, w, f, _discount(rate, w, f, reg_z)) for s, d, a, w, f in placed)
    return AprWorkings(method, float(annual), rate, label, per_year, workings, _NOTES[method])


def annual_rate(
    advances: Sequence[Flow],
    payments: Sequence[Flow],
    method: str = "cn_irr",
    unit_period: str | None = None,
) -> float:
    """Real annual rate as a decimal (0.1234 = 12.34 %).

    ``advances`` is the money the borrower receives, ``payments`` everything the
    borrower pays, each a list of ``(date, amount)`` with positive amounts.
    ``unit_period`` overrides the inferred unit period (``"month"``, ``"2 weeks"``...).
    """
    return explain(advances, payments, method, unit_period).annual_rate


def periodic_rate(
    advances: Sequence[Flow], payments: Sequence[Flow], unit_period: str | None = None
) -> float:
    """The compound periodic IRR on the inferred (or given) unit period."""
    return explain(advances, payments, "cn_irr", unit_period).periodic_rate


# --------------------------------------------------------------------------- millions of loans

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Error codes of :class:`BatchRates` and their messages.
BATCH_ERRORS = {
    0: "",
    1: "a loan needs at least one advance and one payment",
    2: "payments never exceed advances: no lending rate",
    3: "a payment comes before the first advance",
    4: "the rate is beyond the solver's range: no periodic rate up to 1,000,000 (100,000,000 %) solves these cash flows",
    5: "amounts must be positive",
    6: "the rate is beyond the solver's range (compounded over a year it overflows a float)",
}
_EU_UNIT = -1
#: Dates the batch engine handles (its calendar is a lookup table over this span).
CALENDAR = (date(1900, 1, 1), date(2299, 12, 31))
_EPOCH = date(1970, 1, 1)
_STRETCH_LOANS = 65_536


@dataclass(frozen=True)
class BatchRates:
    """Per loan, in input order: rates, periods per year, unit periods and error codes."""

    annual_rate: FloatArray
    periodic_rate: FloatArray
    periods_per_year: FloatArray
    unit_code: IntArray
    error: IntArray

    def unit_labels(self) -> list[str]:
        labels = {int(c): UnitPeriod.from_code(int(c)).label for c in np.unique(self.unit_code) if c > 0}
        labels[_EU_UNIT] = f"year ({EU_YEAR_DAYS} days)"
        return [labels.get(int(c), "") for c in self.unit_code]

    def error_messages(self) -> list[str]:
        return [BATCH_ERRORS[int(e)] for e in self.error]


class _Calendar:
    """Month number (months since 1900-01) and day of month of every day, as lookup tables."""

    def __init__(self) -> None:
        self.base = (CALENDAR[0] - _EPOCH).days
        last = (CALENDAR[1] - _EPOCH).days
        days = np.arange(self.base, last + 1).astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        self.month_of = (months - np.datetime64("1900-01")).astype(np.int64)
        self.day_of = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
        month_range = np.arange(int(self.month_of[-1]) + 2) + np.datetime64("1900-01")
        starts = month_range.astype("datetime64[D]").astype(np.int64)
        self.month_start = starts
        self.month_length = np.diff(starts, append=starts[-1] + 31)

    def parts(self, day: IntArray) -> tuple[IntArray, IntArray]:
        i = day - self.base
        return self.month_of[i], self.day_of[i]

    def on(self, month: IntArray, dom: IntArray) -> IntArray:
        """The day ``dom`` of ``month``, or the month's last day if it is shorter (:func:`shift_months`)."""
        m = np.clip(month, 0, len(self.month_start) - 1)
        return self.month_start[m] + np.minimum(dom, self.month_length[m]) - 1

    def semimonth_before(self, month: IntArray, dom: IntArray) -> IntArray:
        """:func:`semimonth_before` in numpy."""
        late = dom > SEMIMONTH_DAYS
        return np.where(
            late,
            self.month_start[month] + dom - SEMIMONTH_DAYS - 1,
            self.on(month - 1, dom + SEMIMONTH_DAYS),
        )

    def classify(self, start: IntArray, end: IntArray) -> IntArray:
        """:func:`classify_period` in numpy, as :attr:`UnitPeriod.code`."""
        ms, ds = self.parts(start)
        me, de = self.parts(end)
        months = me - ms
        month_ends = (ds == self.month_length[ms]) & (de == self.month_length[me])
        is_month = (months >= 1) & (months <= 12) & ((self.on(ms + months, ds) == end) | month_ends)
        days = end - start
        is_week = (days > 0) & (days % 7 == 0) & (days <= 364)
        is_half = (days > 0) & (self.semimonth_before(me, de) == start)
        return np.select(
            [is_month, is_week, is_half],
            [3000 + months, 1000 + days // 7, np.full_like(days, 2001)],
            np.maximum(days, 1),
        )

    def periods_between(self, start: IntArray, when: IntArray, unit: int) -> tuple[FloatArray, FloatArray]:
        """:func:`unit_periods_between` in numpy for one unit period (``start`` broadcasts)."""
        kind, count = divmod(unit, 1000)
        days = when - start
        if kind <= 1:
            span = 7 * count if kind == 1 else count
            whole_days = days // span
            return whole_days.astype(np.float64), (days - whole_days * span) / span
        ms, ds = self.parts(start)
        mw, dw = self.parts(when)
        dw = np.where((dw == self.month_length[mw]) & (ds > dw), ds, dw)
        months = np.maximum(mw - ms, 0)
        anchor = self.on(mw - months, dw)
        over = (months > 0) & (anchor < start)
        if over.any():
            months = months - over
            anchor = np.where(over, self.on(mw - months, dw), anchor)
        if kind == 2:
            a_month, a_day = self.parts(anchor)
            half = self.semimonth_before(a_month, a_day)
            extra = half >= start
            fraction = (np.where(extra, half, anchor) - start) / SEMIMONTH_DAYS
            return (2 * months + extra).astype(np.float64), fraction
        whole = months // count
        return whole.astype(np.float64), ((months - whole * count) + (anchor - start) / MONTH_DAYS) / count


_calendar: _Calendar | None = None


def _the_calendar() -> _Calendar:
    global _calendar
    if _calendar is None:
        _calendar = _Calendar()
    return _calendar


def _infer_block(cal: _Calendar, day: IntArray, amount: FloatArray, origin: IntArray) -> IntArray:
    """Unit-period codes for a block (flows x loans): regular loans in numpy, others by the scalar rule."""
    width, n = day.shape
    unit = np.zeros(n, np.int64)
    if width >= 2:
        regular_shape = (
            (amount[0] > 0) & (amount[1:] < 0).all(axis=0) & (np.diff(day, axis=0) > 0).all(axis=0)
        )
        first = cal.classify(origin, day[1])
        if width == 2:
            kind = first // 1000
            term = np.select([kind == 1, kind == 2], [first % 1000 * 7, day[1] - origin], first)
            approx = np.where(term // 1000 == 3, term % 1000 * 365 / 12, term % 1000)
            unit = np.where(regular_shape, np.where(approx > 365, 3012, term), 0)
        else:
            unit = np.where(regular_shape, _regular_units(cal, day, first), 0)
    for j in np.flatnonzero(unit == 0).tolist():
        dates = [_EPOCH + timedelta(days=int(x)) for x in day[:, j]]
        advances = [d for d, a in zip(dates, amount[:, j], strict=True) if a > 0]
        payments = [d for d, a in zip(dates, amount[:, j], strict=True) if a < 0]
        unit[j] = infer_unit_period(advances, payments).code if advances and payments else 3001
    return unit


def _regular_units(cal: _Calendar, day: IntArray, first: IntArray) -> IntArray:
    """The unit of loans whose payment intervals are all one standard interval, else 0.

    Equal day steps (under 13 days, or 18 to 27) and months on one day of the month up
    to the 28th are regular by construction; every other candidate is confirmed by
    classifying each interval (:func:`classify_period`), so the answer is always the
    scalar rule's.
    """
    width = day.shape[0]
    step = day[2] - day[1]
    same_step = (day[2:] - day[1:-1] == step).all(axis=0)
    months, dom = cal.parts(day[1:])
    month_step = months[1] - months[0]
    same_month = (
        ((months[1:] - months[:-1]) == month_step).all(axis=0) & (month_step >= 1) & (month_step <= 12)
    )
    same_month &= (dom == dom[0]).all(axis=0) & (dom[0] <= 28)
    plain_days = same_step & ((step < 13) | ((step > 17) & (step < 28)))
    code = np.where(same_month, 3000 + month_step, np.where(step % 7 == 0, 1000 + step // 7, step))
    unit = np.where(same_month | plain_days, code, 0)
    unsure = np.flatnonzero(unit == 0)
    if len(unsure):
        sub = day[:, unsure]
        codes = cal.classify(sub[1:-1], sub[2:])
        lo, hi = codes.min(axis=0), codes.max(axis=0)
        unit[unsure] = np.where(lo == hi, lo, 0)
    common = (width >= 4) | (first == unit)
    return np.where(common & (unit > 0) & ((unit >= 1000) | (unit <= 366)), unit, 0)


def _solve_block(amount: FloatArray, whole: FloatArray, fraction: FloatArray, reg_z: bool) -> FloatArray:
    """Newton's method safeguarded by bisection for a block (flows x loans); NaN where unsolved."""
    n = amount.shape[1]
    tau = whole + fraction
    paid = np.where(amount < 0, -amount, 0.0)
    weighted = (paid * tau).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(weighted > 0, amount.sum(axis=0) / -weighted, 0.0)
    rate = np.clip(np.nan_to_num(guess), 0.0, 1.0)
    low = np.zeros(n)
    high = np.full(n, np.inf)
    result = np.full(n, np.nan)
    todo = np.arange(n)
    a, w, f, t = amount, whole, fraction, tau
    at = a * (w if reg_z else t)
    for _ in range(300):
        r = rate
        growth = np.log1p(r)
        if reg_z:
            odd = 1.0 + f * r
            d = np.exp(w * -growth) / odd
            ad = a * d
            value = ad.sum(axis=0)
            slope = -((at * d).sum(axis=0) / (1.0 + r) + (ad * f / odd).sum(axis=0))
        else:
            d = np.exp(t * -growth)
            value = (a * d).sum(axis=0)
            slope = -(at * d).sum(axis=0) / (1.0 + r)
        below = value < 0
        low = np.where(below, r, low)
        high = np.where(below, high, r)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = r - value / slope
        # Below every root found so far, the bracket grows to at most the range's top; a
        # loan whose value is still negative there has no rate in range (as the scalar solver).
        grow = np.minimum(np.maximum(2.0 * np.abs(r), 1.0), _MAX_RATE)
        bisect = np.where(np.isinf(high), grow, (low + high) / 2.0)
        exact = value == 0
        newton = (step > low) & (step < high) & (step <= _MAX_RATE)
        rate = np.where(exact, r, np.where(newton, step, bisect))
        scale = np.maximum(1.0, np.abs(r))
        finished = exact | (newton & (np.abs(rate - r) <= _NEWTON_DONE * scale))
        finished |= high - low <= _TOLERANCE * scale
        beyond = below & (r >= _MAX_RATE)
        finished |= beyond
        result[todo[finished]] = np.where(beyond[finished], np.nan, rate[finished])
        if finished.all():
            break
        if finished.any():
            keep = ~finished
            todo, rate, low, high = todo[keep], rate[keep], low[keep], high[keep]
            a, w, f, t, at = a[:, keep], w[:, keep], f[:, keep], t[:, keep], at[:, keep]
    return result


def annual_rates(
    loan: npt.ArrayLike,
    day: npt.ArrayLike,
    amount: npt.ArrayLike,
    method: str = "cn_irr",
    unit_period: str | None = None,
    workers: int | None = None,
) -> BatchRates:
    """Real annual rates of many loans at once; each equals :func:`annual_rate` of that loan.

    ``loan`` numbers the loan of each flow (non-decreasing: a loan's flows together),
    ``day`` is the flow's date (``datetime64[D]`` or days since 1970-01-01, between
    1900 and 2299), ``amount`` is positive for an advance and negative for a payment.
    A loan whose flows have no rate gets NaN and an error code (:data:`BATCH_ERRORS`).
    Work runs in blocks of loans with the same number of flows, on ``workers`` threads
    (default: one per core; numpy releases the GIL inside its loops).
    """
    if method not in METHODS:
        raise AprError(f"unknown APR method {method!r}: choose one of {', '.join(METHODS)}")
    loan_a = np.asarray(loan)
    day_a = np.asarray(day)
    if day_a.dtype.kind == "M":
        day_a = day_a.astype("datetime64[D]").astype(np.int64)
    day_a = day_a.astype(np.int64, copy=False)
    amt = np.asarray(amount, dtype=np.float64)
    if not (loan_a.ndim == day_a.ndim == amt.ndim == 1 and len(loan_a) == len(day_a) == len(amt)):
        raise AprError("loan, day and amount must be one-dimensional and of the same length")
    fixed = UnitPeriod.parse(unit_period).code if unit_period and method != "eu_aprc" else 0
    if len(amt) == 0:
        empty = np.zeros(0)
        return BatchRates(empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    if (loan_a[1:] < loan_a[:-1]).any():
        raise AprError("flows must be ordered by loan (a loan's flows together)")
    cal = _the_calendar()
    if day_a.min() < cal.base or day_a.max() >= cal.base + len(cal.day_of):
        raise AprError(f"dates must lie between {CALENDAR[0]} and {CALENDAR[1]}")
    change = np.empty(len(loan_a), np.bool_)
    change[0] = True
    np.not_equal(loan_a[1:], loan_a[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    n = len(starts)
    sizes = np.diff(starts, append=len(amt))

    annual = np.full(n, np.nan)
    periodic = np.full(n, np.nan)
    per_year = np.full(n, np.nan)
    unit_code = np.zeros(n, np.int64)
    error = np.zeros(n, np.int64)
    reg_z = method == "us_reg_z"
    # Blocks: loans of one size from one contiguous stretch of the input (the gathers stay in cache).
    jobs: list[IntArray] = []
    for first in range(0, n, _STRETCH_LOANS):
        stretch = np.arange(first, min(first + _STRETCH_LOANS, n))
        order = stretch[np.argsort(sizes[stretch], kind="stable")]
        edges = np.flatnonzero(np.diff(sizes[order])) + 1
        jobs += np.split(order, edges)

    def run(members: IntArray) -> None:
        rows = starts[members][None, :] + np.arange(int(sizes[members[0]]))[:, None]
        d, a = day_a[rows], amt[rows]
        unsorted = (d[1:] < d[:-1]).any(axis=0)
        if unsorted.any():
            by_date = np.argsort(d[:, unsorted], axis=0, kind="stable")
            d[:, unsorted] = np.take_along_axis(d[:, unsorted], by_date, axis=0)
            a[:, unsorted] = np.take_along_axis(a[:, unsorted], by_date, axis=0)
        big = np.iinfo(np.int64).max
        advance = a > 0
        origin = np.where(advance, d, big).min(axis=0)
        first_pay = np.where(a < 0, d, big).min(axis=0)
        received = np.where(advance, a, 0.0).sum(axis=0)
        balance = a.sum(axis=0)
        even = np.abs(balance) <= received * _EVEN
        err = np.select(
            [
                ~np.isfinite(balance) | (a == 0).any(axis=0),
                (origin == big) | (first_pay == big),
                first_pay < origin,
                (balance > 0) & ~even,
            ],
            [5, 1, 3, 2],
            0,
        )
        origin = np.where(origin == big, d[0], origin)
        count = len(members)
        if method == "eu_aprc":
            units = np.full(count, _EU_UNIT)
            whole = np.zeros(d.shape)
            fraction = (d - origin) / EU_YEAR_DAYS
        else:
            units = np.full(count, fixed or 3001)
            if not fixed:
                good = np.flatnonzero(err == 0)
                units[good] = _infer_block(cal, d[:, good], a[:, good], origin[good])
            codes = np.unique(units).tolist()
            if len(codes) == 1:
                whole, fraction = cal.periods_between(origin, d, int(codes[0]))
            else:
                whole, fraction = np.zeros(d.shape), np.zeros(d.shape)
                for code in codes:
                    cols = np.flatnonzero(units == code)
                    whole[:, cols], fraction[:, cols] = cal.periods_between(
                        origin[cols], d[:, cols], int(code)
                    )
        years = _per_year(units)
        rate = np.where((err == 0) & even, 0.0, np.nan)
        ok = (err == 0) & ~even
        if ok.all():
            rate = _solve_block(a, whole, fraction, reg_z)
        elif ok.any():
            rate[ok] = _solve_block(a[:, ok], whole[:, ok], fraction[:, ok], reg_z)
        err = np.where((err == 0) & np.isnan(rate), 4, err)
        with np.errstate(over="ignore"):
            beyond = (err == 0) & np.isinf((1.0 + rate) ** years)  # as explain(): no compound annual rate
        err = np.where(beyond, 6, err)
        rate = np.where(beyond, np.nan, rate)
        periodic[members] = rate
        per_year[members] = years
        unit_code[members] = np.where(err > 0, 0, units)
        error[members] = err
        annual[members] = (1.0 + rate) ** years - 1.0 if method == "cn_irr_compound" else rate * years

    threads = workers or os.cpu_count() or 1
    if threads == 1 or len(jobs) == 1:
        for job in jobs:
            run(job)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, jobs))
    return BatchRates(annual, periodic, per_year, unit_code, error)


def _per_year(units: IntArray) -> FloatArray:
    """Unit periods per year of unit-period codes (:attr:`UnitPeriod.per_year`); 1 for the EU year."""
    kind, count = units // 1000, np.maximum(units % 1000, 1)
    base = np.select([kind == 3, kind == 2, kind == 1, kind == 0], [12.0, 24.0, 52.0, 365.0], 1.0)
    return np.where(units == _EU_UNIT, 1.0, base / np.where(kind == 2, 1, count))


def workings_as_dict(w: AprWorkings) -> dict[str, Any]:
    """The workings as plain JSON-ready values (the CLI prints this)."""
    return {
        "method": w.method,
        "annual_rate": w.annual_rate,
        "simple_rate": w.simple_rate,
        "compound_rate": w.compound_rate,
        "periodic_rate": w.periodic_rate,
        "unit_period": w.unit_period,
        "periods_per_year": w.periods_per_year,
        "convention": w.note,
        "flows": [
            {
                "side": f.side,
                "date": f.date.isoformat(),
                "amount": f.amount,
                "whole_periods": f.whole_periods,
                "fraction": f.fraction,
                "discount_factor": f.discount_factor,
                "present_value": f.present_value,
            }
            for f in w.flows
        ],
    }
