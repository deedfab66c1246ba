"""No schedule, no overdue (issue 15, point 4): installments rebuilt from the loan terms.

A real book delivered with an empty ``schedules.csv`` was accepted and every loan's
overdue dropped to 0 (167 overdue loans became 0), although the APR side already rebuilt
installments from the terms. Here the same five loans and payments are built twice:
once with their contractual schedules delivered, once with none. The overdue positions
must be the same (hand-computed below), the rebuilt installments marked derived, the APR
read from the same installments, and a loan whose schedule can neither be read nor
derived (a term of 0 months) raises a data-quality exception in both packs.
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
from regwatch.validate import run_rules
from tests.conftest import DAY, GOOD_ROWS, REPO_ROOT, CliDay
from tests.helpers import insert_raw, lineage, query, raw_loan, reading

pytestmark = pytest.mark.integration

LOAD = date(2025, 6, 2)  # the one load every raw row comes from

D = date(2025, 7, 15)
d = Decimal

EI_PRINCIPAL = ["946.19", "955.65", "965.21", "974.86", "984.61", "994.46"]
EI_PRINCIPAL += ["1004.40", "1014.44", "1024.59", "1034.83", "1045.18", "1055.58"]
EI_INTEREST = ["120.00", "110.54", "100.98", "91.33", "81.58", "71.73"]
EI_INTEREST += ["61.79", "51.75", "41.60", "31.36", "21.01", "10.56"]

# loan_id: (principal, term, method, disbursed)
LOANS: dict[str, tuple[str, int, str, date]] = {
    "EI": ("12000.00", 12, "equal_installment", date(2025, 3, 2)),
    "EP": ("4000.00", 4, "equal_principal", date(2025, 2, 2)),
    "BL": ("10000.00", 3, "bullet", date(2025, 3, 10)),
    "IF": ("6000.00", 6, "interest_first", date(2025, 5, 15)),
    "FA": ("1200.00", 12, "flat_add_on", date(2025, 6, 1)),
    "Z0": ("5000.00", 0, "equal_installment", date(2025, 6, 1)),  # no term: nothing to derive
    "RC": ("3000.00", 3, "equal_principal", date(2025, 4, 20)),  # the lender rounds its own way
}
# RC's lender charged 29.99 of interest where the terms give 30.00, and RC paid what it was
# charged: rebuilt from the terms, installment 1 keeps 0.01 unpaid - not an overdue loan
# (pack parameter derived_installment_tolerance, 1.00).
RC_SCHEDULE: list[tuple[object, ...]] = [
    ("RC", 1, date(2025, 5, 20), d("1000.00"), d("29.99"), d(0)),
    ("RC", 2, date(2025, 6, 20), d("1000.00"), d("20.00"), d(0)),
    ("RC", 3, date(2025, 7, 20), d("1000.00"), d("10.00"), d(0)),
]


def _month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


# The contractual schedules, by hand (what the platform would have delivered).
SCHEDULES: list[tuple[object, ...]] = (
    [
        ("EI", n, _month(date(2025, 3, 2), n), d(p), d(i), d(0))
        for n, (p, i) in enumerate(zip(EI_PRINCIPAL, EI_INTEREST, strict=True), start=1)
    ]
    + [("EP", n, _month(date(2025, 2, 2), n), d("1000.00"), d(40 - 10 * (n - 1)), d(0)) for n in range(1, 5)]
    + [("BL", 1, date(2025, 6, 10), d("10000.00"), d("300.00"), d(0))]
    + [
        ("IF", n, _month(date(2025, 5, 15), n), d("6000.00") if n == 6 else d(0), d("60.00"), d(0))
        for n in range(1, 7)
    ]
    + [("FA", n, _month(date(2025, 6, 1), n), d("100.00"), d("12.00"), d(0)) for n in range(1, 13)]
)

#: The models these tests read (their lineage alone is built; the rules reading them run).
MODELS = ("fct_loan_positions", "fct_loan_apr", "int_loan_installments_completed", "int_installments_aged")


def _payment(
    pid: str, loan: str, when: str, no: int | None, principal: str, interest: str
) -> tuple[object, ...]:
    return (pid, loan, when, no, d(principal), d(interest), d(0), d(0), "borrower")


def _build(tmp: Path, with_schedules: bool) -> Settings:
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(
            con,
            "loans",
            LOAD,
            [
                raw_loan(
                    loan_id,
                    borrower=f"B{loan_id}",
                    contract=day,
                    principal=principal,
                    term_months=term,
                    method=method,
                    updated=f"{day} 09:00:00",
                )
                for loan_id, (principal, term, method, day) in LOANS.items()
            ],
        )
        insert_raw(
            con,
            "fundings",
            LOAD,
            [
                (f"F{loan_id}", loan_id, "INST001", "institution", d(principal), f"{day} 08:00:00")
                for loan_id, (principal, _, _, day) in LOANS.items()
            ],
        )
        if with_schedules:
            insert_raw(con, "schedules", LOAD, SCHEDULES + RC_SCHEDULE)
        insert_raw(
            con,
            "repayments",
            LOAD,
            [
                _payment("P1", "EI", "2025-04-02 10:00:00", 1, "946.19", "120.00"),
                _payment("P2", "EI", "2025-05-02 10:00:00", 2, "955.65", "110.54"),
                _payment("P3", "EP", "2025-03-05 10:00:00", None, "1000.00", "40.00"),  # names none
                _payment("P4", "IF", "2025-06-15 10:00:00", 1, "0.00", "60.00"),
                _payment("P5", "RC", "2025-05-20 10:00:00", 1, "1000.00", "29.99"),
                _payment("P6", "RC", "2025-06-20 10:00:00", 2, "1000.00", "20.00"),
            ],
        )
    parameters = {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / "cn").parameters.items()}
    transform.build(D, settings, pack_parameters=parameters, select=lineage(*MODELS))
    return settings


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _build(tmp_path_factory.mktemp("delivered"), with_schedules=True)


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _build(tmp_path_factory.mktemp("derived"), with_schedules=False)


OVERDUE_SQL = (
    "SELECT loan_id, is_overdue, days_past_due, overdue_amount, is_overdue_90_plus, outstanding_principal, "
    "outstanding_interest FROM marts.fct_loan_positions WHERE loan_id NOT IN ('Z0', 'RC') ORDER BY loan_id"
)


def test_an_empty_schedule_delivery_keeps_the_overdue_loans(delivered: Settings, derived: Settings) -> None:
    expected = [
        # 10,000 + 300 due 2025-06-10, unpaid: 35 days
        ("BL", True, 35, d("10300.00"), False, d("10000.00"), d("300.00")),
        # installments 3 and 4 (1,066.19 each) unpaid since 2025-06-02: 43 days
        ("EI", True, 43, d("2132.38"), False, d("10098.16"), d("563.69")),
        # the unnamed payment settled installment 1; 2-4 unpaid since 2025-04-02: 104 days
        ("EP", True, 104, d("3060.00"), True, d("3000.00"), d("60.00")),
        # 100 + 12 due 2025-07-01, unpaid: 14 days
        ("FA", True, 14, d("112.00"), False, d("1200.00"), d("144.00")),
        # installment 1 paid; installment 2 falls due on D itself: not overdue
        ("IF", False, 0, d("0.00"), False, d("6000.00"), d("300.00")),
    ]
    assert query(delivered, OVERDUE_SQL) == expected
    assert query(derived, OVERDUE_SQL) == expected


def test_derived_installments_equal_the_contract_and_are_marked(
    delivered: Settings, derived: Settings
) -> None:
    columns = "loan_id, installment_no, due_date, principal_due, interest_due, fee_due"
    sql = f"SELECT {columns}, schedule_source, is_derived FROM intermediate.int_loan_installments_completed"
    rebuilt = query(derived, sql + " WHERE loan_id <> 'RC' ORDER BY loan_id, installment_no")
    assert [r[:6] for r in rebuilt] == sorted(SCHEDULES, key=lambda r: (str(r[0]), int(r[1])))  # type: ignore[call-overload]
    assert {r[6:] for r in rebuilt} == {("terms", True)}
    assert {r[6:] for r in query(delivered, sql)} == {("schedule", False)}
    source = (
        "SELECT loan_id, schedule_source, is_schedule_derived FROM marts.fct_loan_positions ORDER BY loan_id"
    )
    assert query(derived, source) == [
        ("BL", "terms", True),
        ("EI", "terms", True),
        ("EP", "terms", True),
        ("FA", "terms", True),
        ("IF", "terms", True),
        ("RC", "terms", True),
        ("Z0", "none", False),
    ]
    assert {r[1] for r in query(delivered, source) if r[0] != "Z0"} == {"schedule"}


def test_the_apr_reads_the_same_installments(delivered: Settings, derived: Settings) -> None:
    sql = (
        "SELECT loan_id, cash_flow_source, cash_flows, real_apr FROM marts.fct_loan_apr "
        "WHERE loan_id NOT IN ('Z0', 'RC')"
    )
    by_schedule = {r[0]: r[1:] for r in query(delivered, sql)}
    by_terms = {r[0]: r[1:] for r in query(derived, sql)}
    assert {v[0] for v in by_schedule.values()} == {"schedule"} and {v[0] for v in by_terms.values()} == {
        "terms"
    }
    for loan_id, (_, flows, apr) in by_schedule.items():
        assert by_terms[loan_id][1:] == (flows, apr), loan_id


def test_a_rebuilt_installment_off_by_the_lenders_rounding_is_not_overdue(
    delivered: Settings, derived: Settings
) -> None:
    sql = (
        "SELECT is_overdue, days_past_due, overdue_amount, outstanding_principal FROM marts.fct_loan_positions "
        "WHERE loan_id = 'RC'"
    )
    assert query(delivered, sql) == query(derived, sql) == [(False, 0, d("0.00"), d("1000.00"))]
    aged = "SELECT installment_no, interest_unpaid, is_overdue FROM intermediate.int_installments_aged WHERE loan_id = 'RC'"
    assert sorted(query(derived, aged))[0] == (1, d("0.01"), False)  # the cent stays visible, unpaid


@pytest.mark.parametrize("pack", ["cn", "us"])
def test_a_loan_whose_schedule_can_neither_be_read_nor_derived_raises_an_exception(
    derived: Settings, pack: str
) -> None:
    found = run_rules(
        derived.warehouse_path, reading(load_pack(REPO_ROOT / "checks" / pack), *MODELS), D, "RUN"
    )
    fired = found[found.rule_id == f"{pack}.data_quality.loan_schedule_not_derivable"]
    assert list(fired.entity_key) == ["Z0"]
    assert "Z0" in fired.message.iloc[0] and "0 months" in fired.message.iloc[0]


@pytest.mark.slow
def test_an_empty_schedules_file_is_an_amber_line_in_the_report_and_on_stderr(degraded_day: CliDay) -> None:
    """The delivery gate tolerates an empty schedules.csv (files_allowed_empty), but beside a
    new loan it is said: on stderr, and in the report's data-quality section with the loans
    whose installments were rebuilt from their terms. (The session's
    :func:`~tests.conftest.degraded_day`: :data:`GOOD_ROWS` with schedules.csv empty, run by
    ``regwatch run``; its transactions.csv is rejected and accepted, which test_delivery_gate reads.)"""
    header = GOOD_ROWS["schedules"].splitlines()[0]
    assert (degraded_day.landing / DAY.isoformat() / "schedules.csv").read_text() == f"{header}\n"
    assert degraded_day.exit_code == 0, degraded_day.stdout + degraded_day.stderr
    note = f"{DAY}/schedules.csv: empty: no schedule for the 1 loan record of {DAY}/loans.csv"
    assert f"regwatch: warning: {DAY}: {note}" in degraded_day.stderr
    html = (degraded_day.var / "reports" / DAY.isoformat() / "daily_exceptions.html").read_text()
    quality = html[html.index('id="data-quality"') :]
    assert note in quality
    assert "1 loan with no delivered schedule: installments rebuilt from the loan terms (derived)" in quality
    assert "<code>L1</code>" in quality
    con = duckdb.connect(str(degraded_day.var / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT loan_id, schedule_source FROM marts.fct_loan_positions").fetchall() == [
            ("L1", "terms")
        ]
        (reason,) = con.execute(
            "SELECT reason FROM results.delivery_log WHERE file_name = 'schedules'"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert "rebuilt from the loan terms" in reason
