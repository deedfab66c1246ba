"""Late fees and penalties paid without an installment number reach the overdue-charges cap (issue 15, point 5).

The input contract makes ``installment_no`` optional on a repayment; a real book paid its
late fees as payments of their own naming no installment, and every one of them was
dropped before the art. 29 check (SPC Fa Shi [2020] No. 6): ``overdue_charges = 0`` on
every loan. Here each loan's first installment (1,066.19 of principal and interest, due
2025-07-02) is paid 10 days late with a 10.00 late fee, in the three ways a book can
deliver it; 10 x 365 / (1,066.19 x 10) = 34.2 % a year, above the 24 % level.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import load_pack
from regwatch.validate import run_rules
from tests.conftest import REPO_ROOT
from tests.helpers import insert_raw, lineage, raw_loan, reading

pytestmark = pytest.mark.integration

D1, D = date(2025, 6, 2), date(2025, 7, 15)
RULE = "cn.rate_caps.overdue_charges_above_cap"
MART = "fct_loan_apr"
PRINCIPAL = ["946.19", "955.65", "965.21", "974.86", "984.61", "994.45"]
PRINCIPAL += ["1004.40", "1014.44", "1024.59", "1034.83", "1045.18", "1055.59"]
INTEREST = ["120.00", "110.54", "100.98", "91.33", "81.58", "71.74"]
INTEREST += ["61.79", "51.75", "41.60", "31.36", "21.01", "10.56"]
LATE_RATE = 10 * 365 / (1066.19 * 10)


def _payment(
    payment_id: str,
    loan_id: str,
    installment_no: int | None,
    principal: str = "0",
    interest: str = "0",
    fee: str = "0",
    penalty: str = "0",
    paid_at: str = "2025-07-12 10:00:00",
) -> tuple[object, ...]:
    return (
        payment_id,
        loan_id,
        paid_at,
        installment_no,
        Decimal(principal),
        Decimal(interest),
        Decimal(fee),
        Decimal(penalty),
        "borrower",
    )


LOANS = ("NAMED_AND_FEE", "ALL_UNNAMED", "FEE_AS_FEE", "STILL_OVERDUE", "ON_TIME")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("overdue")
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(con, "loans", D1, [raw_loan(loan_id) for loan_id in LOANS])
        insert_raw(
            con,
            "fundings",
            D1,
            [
                (f"F{n}", loan_id, "INST001", "institution", Decimal("12000.00"), "2025-06-02 08:00:00")
                for n, loan_id in enumerate(LOANS)
            ],
        )
        insert_raw(
            con,
            "schedules",
            D1,
            [
                (
                    loan_id,
                    n,
                    date(2025 + (5 + n) // 12, (5 + n) % 12 + 1, 2),
                    Decimal(p),
                    Decimal(i),
                    Decimal(0),
                )
                for loan_id in LOANS
                for n, (p, i) in enumerate(zip(PRINCIPAL, INTEREST, strict=True), start=1)
            ],
        )
        insert_raw(
            con,
            "repayments",
            D,
            [
                # The installment named and paid late; the late fee a payment of its own, naming none.
                _payment("P1", "NAMED_AND_FEE", 1, "946.19", "120.00"),
                _payment("P2", "NAMED_AND_FEE", None, penalty="10.00", paid_at="2025-07-12 10:05:00"),
                # Nothing named: the installment and its late fee in one payment.
                _payment("P3", "ALL_UNNAMED", None, "946.19", "120.00", penalty="10.00"),
                # The late fee delivered as a fee the schedule never asked for.
                _payment("P4", "FEE_AS_FEE", 1, "946.19", "120.00"),
                _payment("P5", "FEE_AS_FEE", None, fee="10.00", paid_at="2025-07-12 10:05:00"),
                # A late fee paid while the installment is still unpaid on D (13 days overdue).
                _payment("P6", "STILL_OVERDUE", None, penalty="5.00"),
                _payment("P7", "ON_TIME", 1, "946.19", "120.00", paid_at="2025-07-02 09:00:00"),
            ],
        )
    parameters = {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / "cn").parameters.items()}
    # Only the loans' marts the rule reads, with their parents: the rest of the project is not read here.
    transform.build(D, settings, pack_parameters=parameters, select=lineage(MART))
    return settings


def _marts(settings: Settings) -> dict[str, tuple[Decimal, float | None, int]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT loan_id, overdue_charges, overdue_charge_rate, late_payment_count FROM marts.fct_loan_apr"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): (r[1], r[2], r[3]) for r in rows}


def test_unallocated_late_fees_count_on_their_loan(built: Settings) -> None:
    marts = _marts(built)
    for loan_id in ("NAMED_AND_FEE", "ALL_UNNAMED", "FEE_AS_FEE"):
        charges, rate, late = marts[loan_id]
        assert charges == Decimal("10.00"), loan_id
        assert rate == pytest.approx(LATE_RATE, abs=1e-8), loan_id
        assert late == 1, loan_id
    # Measured on the installment still overdue on D: 5 x 365 / (1,066.19 x 13), under the cap.
    charges, rate, late = marts["STILL_OVERDUE"]
    assert charges == Decimal("5.00")
    assert rate == pytest.approx(5 * 365 / (1066.19 * 13), abs=1e-8)
    assert marts["ON_TIME"] == (Decimal("0.00"), None, 0)


def test_the_cap_check_fires_on_each_loan_whose_late_fee_named_no_installment(built: Settings) -> None:
    exceptions = run_rules(
        built.warehouse_path, reading(load_pack(REPO_ROOT / "checks" / "cn"), MART), D, "RUN"
    )
    fired = exceptions[exceptions.rule_id == RULE]
    assert sorted(fired.entity_key) == ["ALL_UNNAMED", "FEE_AS_FEE", "NAMED_AND_FEE"]
    evidence = json.loads(fired.evidence.iloc[0])
    assert evidence["overdue_charges"] == "10.00"


def test_the_rate_sql_never_leaves_a_charged_loan_out(built: Settings) -> None:
    """Every loan with a penalty or an extra fee paid by D has a row in the overdue-charges model."""
    con = duckdb.connect(str(built.warehouse_path), read_only=True)
    try:
        missing = con.execute(
            "SELECT DISTINCT r.loan_id FROM staging.stg_platform__repayments r "
            "LEFT JOIN intermediate.int_loan_overdue_charges_annualised o ON r.loan_id = o.loan_id "
            "WHERE (r.penalty_paid > 0 OR r.fee_paid > 0) AND o.loan_id IS NULL"
        ).fetchall()
    finally:
        con.close()
    assert missing == []
