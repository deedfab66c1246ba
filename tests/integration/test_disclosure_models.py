"""dbt on hand-made rows: repayments allocated to installments in either pack order, aging at the 90-day edge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import load_pack
from tests.conftest import REPO_ROOT
from tests.helpers import insert_raw, query, raw_loan

pytestmark = pytest.mark.integration

D = date(2025, 6, 2)
LOAD = date(2025, 6, 2)


def _loan(loan_id: str, borrower: str, principal: str) -> tuple[object, ...]:
    return raw_loan(
        loan_id,
        borrower=borrower,
        contract=date(2025, 2, 2),
        principal=principal,
        term_months=4,
        method="equal_principal",
        updated="2025-02-02 09:00:00",
    )


LINEAGE = ("+int_repayments_allocated", "+fct_loan_positions")


def _build(tmp: Path, order: str) -> Settings:
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(
            con,
            "loans",
            LOAD,
            [_loan("L1", "B1", "400.00"), _loan("L2", "B2", "100.00"), _loan("L3", "B3", "100.00")],
        )
        due = [date(2025, 3, 2), date(2025, 4, 2), date(2025, 5, 2), date(2025, 7, 2)]
        insert_raw(
            con,
            "schedules",
            LOAD,
            [
                ("L1", n, day, Decimal("100.00"), Decimal("10.00"), Decimal("0"))
                for n, day in enumerate(due, 1)
            ]
            # Exactly 90 days past due on D (not "more than 90"), and 91.
            + [("L2", 1, date(2025, 3, 4), Decimal("100.00"), Decimal("1.00"), Decimal("0"))]
            + [("L3", 1, date(2025, 3, 3), Decimal("100.00"), Decimal("1.00"), Decimal("0"))],
        )
        insert_raw(
            con,
            "repayments",
            LOAD,
            [
                (
                    "N1",
                    "L1",
                    "2025-04-02 10:00:00",
                    2,
                    Decimal("100"),
                    Decimal("10"),
                    Decimal("0"),
                    Decimal("0"),
                    "borrower",
                ),
                (
                    "P1",
                    "L1",
                    "2025-05-05 10:00:00",
                    None,
                    Decimal("120"),
                    Decimal("12"),
                    Decimal("0"),
                    Decimal("0"),
                    "borrower",
                ),
                (
                    "P2",
                    "L1",
                    "2025-05-20 10:00:00",
                    None,
                    Decimal("150"),
                    Decimal("30"),
                    Decimal("0"),
                    Decimal("5"),
                    "guarantor",
                ),
                (
                    "P3",
                    "L1",
                    "2025-06-10 10:00:00",
                    None,
                    Decimal("30"),
                    Decimal("0"),
                    Decimal("0"),
                    Decimal("0"),
                    "borrower",
                ),
            ],
        )
        con.execute(
            "INSERT INTO results.run_log VALUES ('r', ?, 'cn', 'v', ?, 'c', ?)", [D, "0" * 64, "0" * 64]
        )
    params = {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / "cn").parameters.items()}
    params["repayment_allocation_order"] = order
    # Only the lineage the tests read (not the 54 models of a day's run).
    transform.build(D, settings, pack_parameters=params, select=LINEAGE)
    return settings


ALLOCATION_SQL = (
    "SELECT payment_id, installment_no, allocation_method, principal_allocated, interest_allocated, penalty_paid "
    "FROM intermediate.int_repayments_allocated ORDER BY payment_id, installment_no NULLS LAST"
)


@pytest.fixture(scope="module")
def earliest(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _build(tmp_path_factory.mktemp("earliest"), "earliest_due_first")


def test_named_payments_settle_their_installment_and_the_rest_flows_earliest_first(
    earliest: Settings,
) -> None:
    d = Decimal
    assert query(earliest, ALLOCATION_SQL) == [
        ("N1", 2, "named", d("100.00"), d("10.00"), d("0.00")),
        ("P1", 1, "waterfall", d("100.00"), d("10.00"), d("0.00")),
        ("P1", 3, "waterfall", d("20.00"), d("2.00"), d("0.00")),
        ("P2", 3, "waterfall", d("80.00"), d("8.00"), d("0.00")),
        ("P2", 4, "waterfall", d("70.00"), d("10.00"), d("0.00")),
        # What P2 has left over (interest beyond the schedule) and its penalty: on no installment.
        ("P2", None, "unallocated", d("0.00"), d("12.00"), d("5.00")),
        # P3 is paid after D: not there.
    ]


def test_aging_at_the_ninety_day_edge(earliest: Settings) -> None:
    rows = query(
        earliest,
        "SELECT loan_id, days_past_due, aging_bucket, is_overdue_90_plus, outstanding_principal, compensated_amount "
        "FROM marts.fct_loan_positions ORDER BY loan_id",
    )
    assert rows == [
        ("L1", 0, "current", False, Decimal("30.00"), Decimal("185.00")),
        ("L2", 90, "61-90", False, Decimal("100.00"), Decimal("0.00")),  # exactly 90: not "more than 90"
        ("L3", 91, "more than 90", True, Decimal("100.00"), Decimal("0.00")),
    ]


def test_latest_due_first_is_the_other_order(tmp_path: Path) -> None:
    settings = _build(tmp_path, "latest_due_first")
    d = Decimal
    assert query(settings, ALLOCATION_SQL) == [
        ("N1", 2, "named", d("100.00"), d("10.00"), d("0.00")),
        ("P1", 3, "waterfall", d("20.00"), d("2.00"), d("0.00")),
        ("P1", 4, "waterfall", d("100.00"), d("10.00"), d("0.00")),
        ("P2", 1, "waterfall", d("70.00"), d("10.00"), d("0.00")),
        ("P2", 3, "waterfall", d("80.00"), d("8.00"), d("0.00")),
        ("P2", None, "unallocated", d("0.00"), d("12.00"), d("5.00")),
    ]
    # Installment 1 (due 2025-03-02) now keeps 30 of principal unpaid: 92 days past due.
    assert query(
        settings,
        "SELECT days_past_due, is_overdue_90_plus FROM marts.fct_loan_positions WHERE loan_id = 'L1'",
    ) == [(92, True)]
