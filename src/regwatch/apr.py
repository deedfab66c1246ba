"""Real annual percentage rate of a loan's cash flows (pure maths, no I/O).

The real rate is the rate r that makes the present value of everything the
borrower pays equal to the present value of what the borrower actually received
(PBOC Announcement [2021] No. 3; 12 CFR 1026 Appendix J; Directive 2008/48/EC
Annex I). Time is counted in unit periods from the first advance.

This first version infers a monthly unit period (the common case for consumer
and small-business instalment loans) and counts a part period as days / 30, as
Appendix J (b)(5)(iii) does; the exact multi-convention engine replaces it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

Flow = tuple[date, float | Decimal | int]

METHODS = ("cn_irr", "cn_irr_compound")
_PERIODS_PER_YEAR = {"month": 12}


class AprError(ValueError):
    """The cash flows have no real rate (or the method is unknown)."""


def _months_between(start: date, end: date) -> float:
    """Unit periods (months) from ``start`` to ``end``: whole months, then days / 30."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    anchor_month = start.month + months
    year = start.year + (anchor_month - 1) // 12
    month = (anchor_month - 1) % 12 + 1
    day = min(start.day, _days_in_month(year, month))
    anchor = date(year, month, day)
    return months + (end - anchor).days / 30.0


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


def periodic_rate(advances: Sequence[Flow], payments: Sequence[Flow]) -> float:
    """The monthly IRR of the flows, by Newton's method safeguarded with bisection."""
    if not advances or not payments:
        raise AprError("a loan needs at least one advance and one payment")
    origin = min(d for d, _ in advances)
    times: list[float] = []
    amounts: list[float] = []
    for sign, flows in ((1.0, advances), (-1.0, payments)):
        for when, amount in flows:
            times.append(_months_between(origin, when))
            amounts.append(sign * float(amount))
    total_in = sum(a for a in amounts if a > 0)
    total_out = -sum(a for a in amounts if a < 0)
    if total_out <= total_in:
        raise AprError(
            f"payments ({total_out:,.2f}) never exceed advances ({total_in:,.2f}): no positive rate"
        )

    def npv(rate: float) -> float:
        base = 1.0 + rate
        return float(sum(a * base ** (-t) for a, t in zip(amounts, times, strict=True)))

    # npv is increasing in the rate for a borrower's flows (advances first,
    # payments later): bracket the root, then bisect with Newton steps.
    low, high = -0.99, 1.0
    while npv(high) < 0:
        high *= 2
        if high > 1e6:
            raise AprError("no rate solves these cash flows")
    rate = 0.01
    for _ in range(200):
        value = npv(rate)
        if abs(value) < 1e-10:
            break
        if value < 0:
            low = rate
        else:
            high = rate
        base = 1.0 + rate
        slope = sum(-t * a * base ** (-t - 1) for a, t in zip(amounts, times, strict=True))
        step = rate - value / slope if slope else math.nan
        rate = step if low < step < high else (low + high) / 2
        if high - low < 1e-15:
            break
    return rate


def annual_rate(
    advances: Sequence[Flow],
    payments: Sequence[Flow],
    method: str = "cn_irr",
    unit_period: str | None = None,
) -> float:
    """Real annual rate as a decimal (0.1234 = 12.34 %).

    ``cn_irr`` is the periodic IRR times periods per year (PBOC's "simple"
    annualisation, which must be labelled so); ``cn_irr_compound`` is
    ``(1 + IRR) ** periods - 1``.
    """
    if method not in METHODS:
        raise AprError(f"unknown APR method {method!r}: choose one of {', '.join(METHODS)}")
    unit = unit_period or "month"
    if unit not in _PERIODS_PER_YEAR:
        raise AprError(f"unit period {unit!r} is not supported yet")
    rate = periodic_rate(advances, payments)
    periods = _PERIODS_PER_YEAR[unit]
    if method == "cn_irr":
        return rate * periods
    return (1.0 + rate) ** periods - 1.0
