"""Installments rebuilt from a loan's terms (issue 15, point 4): one code path for overdue and APR.

Hand-computed: cents rounded half up, interest on the remaining principal, the last
installment taking what is left, due dates month by month with the day clipped to the
month's end.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from regwatch.installments import MAX_TERM_MONTHS, from_terms


def _one(principal: str, rate: float, term: int, method: str, day: date) -> list[tuple[int, str, str, str]]:
    cents = np.array([round(float(principal) * 100)], np.int64)
    built = from_terms(
        cents,
        np.array([rate]),
        np.array([term], np.int64),
        np.array([method], dtype=object),
        np.array([np.datetime64(day, "D")]),
    )
    return [
        (int(n), str(d), f"{p / 100:.2f}", f"{i / 100:.2f}")
        for n, d, p, i in zip(
            built.installment_no, built.due_date, built.principal_cents, built.interest_cents, strict=True
        )
    ]


def test_equal_installment_interest_on_the_rounded_balance_the_last_absorbs() -> None:
    rows = _one("12000.00", 0.12, 12, "equal_installment", date(2025, 3, 2))
    principal = ["946.19", "955.65", "965.21", "974.86", "984.61", "994.46"]
    principal += ["1004.40", "1014.44", "1024.59", "1034.83", "1045.18", "1055.58"]
    interest = ["120.00", "110.54", "100.98", "91.33", "81.58", "71.73"]
    interest += ["61.79", "51.75", "41.60", "31.36", "21.01", "10.56"]
    assert [r[2] for r in rows] == principal and [r[3] for r in rows] == interest
    assert sum(int(r[2].replace(".", "")) for r in rows) == 1_200_000  # the principal, to the cent
    assert rows[0][:2] == (1, "2025-04-02") and rows[-1][:2] == (12, "2026-03-02")


def test_equal_principal_flat_add_on_interest_first_and_bullet() -> None:
    assert _one("4000.00", 0.12, 4, "equal_principal", date(2025, 2, 2)) == [
        (1, "2025-03-02", "1000.00", "40.00"),
        (2, "2025-04-02", "1000.00", "30.00"),
        (3, "2025-05-02", "1000.00", "20.00"),
        (4, "2025-06-02", "1000.00", "10.00"),
    ]
    assert _one("1000.00", 0.12, 3, "flat_add_on", date(2025, 1, 31)) == [
        (1, "2025-02-28", "333.33", "10.00"),  # 31 Jan + 1 month: clipped to the month's end
        (2, "2025-03-31", "333.33", "10.00"),
        (3, "2025-04-30", "333.34", "10.00"),
    ]
    assert _one("6000.00", 0.12, 2, "interest_first", date(2025, 5, 15)) == [
        (1, "2025-06-15", "0.00", "60.00"),
        (2, "2025-07-15", "6000.00", "60.00"),
    ]
    assert _one("10000.00", 0.12, 3, "bullet", date(2025, 3, 10)) == [(1, "2025-06-10", "10000.00", "300.00")]


def test_a_zero_rate_annuity_is_level_principal() -> None:
    rows = _one("100.00", 0.0, 3, "equal_installment", date(2025, 1, 1))
    assert [r[2] for r in rows] == ["33.33", "33.33", "33.34"] and {r[3] for r in rows} == {"0.00"}


def test_terms_that_cannot_give_a_schedule_give_no_installment() -> None:
    """A term of 0 months, or beyond MAX_TERM_MONTHS, or an unknown method: nothing derived."""
    built = from_terms(
        np.array([100_000, 100_000, 100_000, 100_000], np.int64),
        np.array([0.1, 0.1, 0.1, 0.1]),
        np.array([0, MAX_TERM_MONTHS + 1, 12, 2], np.int64),
        np.array(["equal_installment", "equal_principal", "balloon", "bullet"], dtype=object),
        np.array([np.datetime64("2025-01-01", "D")] * 4),
    )
    assert set(built.loan_index.tolist()) == {3}
    assert built.derivable.tolist() == [False, False, False, True]
