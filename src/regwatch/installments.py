"""Contractual installments rebuilt from a loan's terms, when the platform delivered no schedule.

Pure maths, no I/O. One code path for both sides of the book (issue 15, point 4): the
dbt Python model ``int_loan_installments_derived`` calls :func:`from_terms` for every
loan without a delivered schedule row, and ``int_loan_installments_completed`` puts
those installments beside the delivered ones; the overdue aging, the repayment
allocation, the overdue-charges check and the real APR's cash flows all read that one
model, so a loan's overdue and its APR never come from two different rebuilds.

The schedule a lender's system prints, in integer cents: the monthly rate is the
nominal annual rate / 12; interest is charged on the remaining principal and rounded
half up to the cent; the last installment takes whatever principal is left (so the
principal parts add up to the loan's principal exactly). Per repayment method
(``contract.REPAYMENT_METHODS``):

* ``equal_installment`` (annuity): a level payment P x i / (1 - (1 + i)^-n), rounded;
  its principal part is the payment less the interest on the remaining principal
  (level principal when the rate is 0);
* ``equal_principal``: P / n of principal each month plus the interest on the remaining principal;
* ``interest_first``: the interest on P each month, the principal with the last one;
* ``flat_add_on``: P / n of principal plus the interest on the *original* principal each month;
* ``bullet``: one installment at the term's end, P plus P x annual rate x months / 12.

Due dates are the disbursement date plus k months (the term for a bullet), the day
clipped to the month's end (31 January + 1 month = 28/29 February).

Fees: a loan's terms in the contract carry only its upfront fee (taken from the amount
disbursed, so not an installment); rebuilt installments have no fee part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from regwatch.contract import REPAYMENT_METHODS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

#: Longest term rebuilt (50 years of monthly installments): a longer term in an extract
#: is a data error, not a loan, and would rebuild hundreds of rows per loan.
MAX_TERM_MONTHS = 600


@dataclass(frozen=True)
class Installments:
    """Rebuilt installments, one element per installment (``loan_index`` into the input arrays)."""

    loan_index: IntArray
    installment_no: IntArray
    due_date: DateArray
    principal_cents: IntArray
    interest_cents: IntArray
    #: Per input loan: whether its terms give a schedule (a term of 1 to MAX_TERM_MONTHS
    #: months, a known repayment method, a principal and a rate).
    derivable: BoolArray


def _round_half_up(x: FloatArray) -> IntArray:
    # Cents: amounts are integer cents times a rate, so half a cent is the only tie to break.
    result: IntArray = np.floor(x + 0.5 + 1e-9).astype(np.int64)
    return result


def add_months(start: DateArray, months: IntArray) -> DateArray:
    """``start`` plus whole months, the day clipped to the month's end."""
    start_month = start.astype("datetime64[M]")
    day = (start - start_month.astype("datetime64[D]")).astype(np.int64)
    target = start_month + months.astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    result: DateArray = target.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]")
    return result


def derivable(
    principal_cents: npt.NDArray[Any],
    annual_rate: npt.NDArray[Any],
    term_months: npt.NDArray[Any],
    method: npt.NDArray[Any],
) -> BoolArray:
    """Which loans' terms give a schedule (see :class:`Installments`)."""
    known = np.isin(np.asarray(method, dtype=object), np.array(REPAYMENT_METHODS, dtype=object))
    term = np.asarray(term_months, dtype=np.float64)
    rate = np.asarray(annual_rate, dtype=np.float64)
    principal = np.asarray(principal_cents, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        result: BoolArray = (
            known
            & np.isfinite(term)
            & (term >= 1)
            & (term <= MAX_TERM_MONTHS)
            & np.isfinite(rate)
            & (rate >= 0)
            & np.isfinite(principal)
            & (principal > 0)
        )
    return result


def from_terms(
    principal_cents: npt.NDArray[Any],
    annual_rate: npt.NDArray[Any],
    term_months: npt.NDArray[Any],
    method: npt.NDArray[Any],
    disbursed: DateArray,
) -> Installments:
    """Every installment of every loan whose terms give a schedule, loan by loan in input
    order, installment numbers from 1."""
    ok = derivable(principal_cents, annual_rate, term_months, method)
    loans = np.flatnonzero(ok).astype(np.int64)
    kind = np.asarray(method, dtype=object)[loans]
    p = np.asarray(principal_cents, dtype=np.float64)[loans].astype(np.int64)
    rate = np.asarray(annual_rate, dtype=np.float64)[loans]
    term = np.asarray(term_months, dtype=np.float64)[loans].astype(np.int64)
    start = np.asarray(disbursed).astype("datetime64[D]")[loans]
    i = rate / 12.0
    pf = p.astype(np.float64)
    bullet = kind == "bullet"
    count = np.where(bullet, 1, term)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(i > 0, _round_half_up(pf * i / (1.0 - (1.0 + i) ** -term.astype(np.float64))), 0)
    level = _round_half_up(pf / term)
    flat = _round_half_up(pf * i)
    bullet_interest = _round_half_up(pf * rate * term / 12.0)
    annuity_principal = np.where(i > 0, annuity, level)
    balance = p.copy()
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    for k in range(1, int(count.max(initial=0)) + 1):
        alive = np.flatnonzero(count >= k)
        m = kind[alive]
        owed = balance[alive]
        on_balance = _round_half_up(owed.astype(np.float64) * i[alive])
        pay = np.select(
            [m == "equal_installment", m == "equal_principal", m == "flat_add_on"],
            [
                np.where(i[alive] > 0, annuity_principal[alive] - on_balance, level[alive]),
                level[alive],
                level[alive],
            ],
            0,
        )
        principal_part = np.where(count[alive] == k, owed, np.clip(pay, 0, owed))
        interest_part = np.select(
            [(m == "flat_add_on") | (m == "interest_first"), m == "bullet"],
            [flat[alive], bullet_interest[alive]],
            on_balance,
        )
        balance[alive] = owed - principal_part
        parts.append((alive, np.full(len(alive), k, np.int64), principal_part, interest_part))
    if parts:
        where = np.concatenate([a for a, _, _, _ in parts])
        number = np.concatenate([n for _, n, _, _ in parts])
        principal = np.concatenate([x for _, _, x, _ in parts]).astype(np.int64)
        interest = np.concatenate([x for _, _, _, x in parts]).astype(np.int64)
    else:
        where = number = principal = interest = np.zeros(0, np.int64)
    order = np.lexsort((number, where))
    where, number, principal, interest = where[order], number[order], principal[order], interest[order]
    months = np.where(bullet[where], term[where], number)
    due = add_months(start[where], months.astype(np.int64))
    return Installments(loans[where], number, due, principal, interest, ok)
