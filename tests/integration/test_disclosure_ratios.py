"""Ratios per REGULATION.md (issue 15, point 7): a stock ratio and a flow ratio, never mixed.

The old bad-debt rate divided principal written off since inception plus 90+ principal
(a cumulative amount) by today's outstanding principal (a balance). REGULATION.md's
defaults, the same in both packs, each printed with its definition:

* bad-debt rate (stock, like a bank's NPL ratio) = principal of loans more than 90 days
  past due, not written off, over the outstanding principal, both as of D;
* cumulative loss rate (flow) = principal written off since inception over principal
  lent since inception: gross, and net of recoveries as a second figure.

REGULATION.md publishes no worked example for these ratios, so the book below is small
enough to compute by hand (D = 2025-07-15):

    loan  principal  status       what happened                               outstanding
    A     10,000     active       bullet due 2025-06-10 unpaid: 35 days           10,000
    B      4,000     active       1st of 4 paid, rest unpaid since 04-02: 104      3,000  (90+)
    C      5,000     written off  1,000 repaid, written off 2025-06-30 with       -
                                  4,000 unpaid; 500 principal + 100 penalty
                                  recovered on 2025-07-10
    S      6,000     settled      -                                               -

    bad-debt rate          = 3,000 / 13,000               = 0.23076923
    cumulative loss, gross = 4,000 / 25,000               = 0.16
    cumulative loss, net   = (4,000 - 600) / 25,000       = 0.136
    (the old formula: (3,500 + 3,000) / 13,000 = 0.5)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import load_pack
from regwatch.transform import TransformError
from tests.conftest import REPO_ROOT
from tests.helpers import insert_raw, raw_loan

pytestmark = pytest.mark.integration

LOAD = date(2025, 6, 2)  # the one load every raw row comes from

D = date(2025, 7, 15)
d = Decimal


def _loan(
    loan_id: str, principal: str, term: int, method: str, day: date, status: str, off: date | None
) -> tuple[object, ...]:
    return raw_loan(
        loan_id,
        borrower=f"B{loan_id}",
        contract=day,
        principal=principal,
        term_months=term,
        method=method,
        status=status,
        written_off=off,
        updated=f"{day} 09:00:00",
    )


def _payment(
    pid: str, loan: str, when: str, no: int | None, principal: str, interest: str, penalty: str = "0"
):
    return (pid, loan, when, no, d(principal), d(interest), d(0), d(penalty), "borrower")


def _parameters(pack: str) -> dict[str, object]:
    return {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / pack).parameters.items()}


def _seed(settings: Settings) -> None:
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(
            con,
            "loans",
            LOAD,
            [
                _loan("A", "10000.00", 3, "bullet", date(2025, 3, 10), "active", None),
                _loan("B", "4000.00", 4, "equal_principal", date(2025, 2, 2), "active", None),
                _loan(
                    "C", "5000.00", 5, "equal_principal", date(2025, 1, 5), "written_off", date(2025, 6, 30)
                ),
                _loan("S", "6000.00", 6, "interest_first", date(2025, 1, 20), "settled", None),
            ],
        )
        insert_raw(
            con,
            "schedules",
            LOAD,
            [("A", 1, date(2025, 6, 10), d("10000.00"), d("300.00"), d(0))]
            + [("B", n, date(2025, 2 + n, 2), d("1000.00"), d(40 - 10 * (n - 1)), d(0)) for n in range(1, 5)]
            + [("C", n, date(2025, 1 + n, 5), d("1000.00"), d(50 - 10 * (n - 1)), d(0)) for n in range(1, 6)],
        )
        insert_raw(
            con,
            "repayments",
            LOAD,
            [
                _payment("P1", "B", "2025-03-02 10:00:00", 1, "1000.00", "40.00"),
                _payment("P2", "C", "2025-02-05 10:00:00", 1, "1000.00", "50.00"),
                # after the write-off: a recovery (principal and a penalty), naming no installment
                _payment("P3", "C", "2025-07-10 10:00:00", None, "500.00", "0.00", "100.00"),
            ],
        )


# Only the lineage of the disclosure indicators (not the 54 models of a day's run).
LINEAGE = ("+rpt_disclosure_indicators",)


@pytest.fixture(scope="module", params=["cn", "us"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp(f"ratios_{request.param}")
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    _seed(settings)
    transform.build(D, settings, pack_parameters=_parameters(request.param), select=LINEAGE)
    return settings


def _indicators(settings: Settings) -> dict[str, tuple[object, ...]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT indicator_id, value, numerator_value, denominator_value, definition, numerator_definition, "
            "denominator_definition FROM reporting.rpt_disclosure_indicators "
            "WHERE period_kind = 'month' AND breakdown_key = 'total'"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): r[1:] for r in rows}


def test_the_bad_debt_rate_is_a_stock_over_a_stock(built: Settings) -> None:
    value, numerator, denominator, definition, num_def, den_def = _indicators(built)["bad_debt_rate"]
    assert (numerator, denominator) == (d("3000"), d("13000"))
    assert value == d("0.23076923")
    assert str(definition).startswith("overdue_90_plus_loan_principal / outstanding_principal")
    assert "stock" in str(definition) and "as of the business date" in str(definition)
    assert "more than 90 days" in str(num_def) and "not written off" in str(num_def)
    assert "outstanding" in str(den_def)


def test_the_cumulative_loss_rate_gross_and_net_of_recoveries_is_a_flow_over_a_flow(built: Settings) -> None:
    indicators = _indicators(built)
    gross = indicators["cumulative_loss_rate"]
    net = indicators["cumulative_loss_rate_net"]
    assert gross[:3] == (d("0.16"), d("4000"), d("25000"))
    assert net[:3] == (d("0.136"), d("3400"), d("25000"))
    for item in (gross, net):
        assert "flow" in str(item[3]) and "since inception" in str(item[3])
        assert "lent since inception" in str(item[5]) or "disbursed to date" in str(item[5])
    assert "recoveries" in str(net[3]) and "recover" in str(net[4])
    # the measures behind them, printed as indicators of their own
    assert indicators["written_off_principal"][0] == d("4000")  # unpaid on the write-off date (gross)
    assert indicators["recovered_amount"][0] == d("600")


def test_both_packs_define_the_ratios_alike() -> None:
    cn, us = _parameters("cn"), _parameters("us")
    for name in ("bad_debt_rate", "cumulative_loss_rate", "cumulative_loss_rate_net"):
        assert cn[name] == us[name], name


def test_a_pack_dividing_a_cumulative_amount_by_a_balance_is_refused(tmp_path: Path) -> None:
    """The old definition, put back in a pack: the build stops naming the kinds."""
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing"
    )
    _seed(settings)
    parameters = _parameters("cn")
    parameters["bad_debt_rate"] = {
        "numerator": ["written_off_principal", "overdue_90_plus_loan_principal"],
        "denominator": "outstanding_principal",
    }
    with pytest.raises(
        TransformError, match=r"bad_debt_rate divides .* \(flow\) by outstanding_principal \(stock\)"
    ):
        transform.build(D, settings, pack_parameters=parameters, select=LINEAGE)
