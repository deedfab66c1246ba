"""dbt build on hand-made raw rows, then the rule pack through GX: the marts and the exceptions."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import load_pack
from regwatch.validate import run_rules
from tests.conftest import REPO_ROOT
from tests.helpers import insert_raw, query, raw_loan

pytestmark = pytest.mark.integration

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)


def _schedule(loan_id: str, principal: list[str], interest: list[str], fee: str) -> list[tuple[object, ...]]:
    return [
        (loan_id, n, date(2025 + (5 + n) // 12, (5 + n) % 12 + 1, 2), Decimal(p), Decimal(i), Decimal(fee))
        for n, (p, i) in enumerate(zip(principal, interest, strict=True), start=1)
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("dbt")
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    # 12 % annuity, no fee: its real APR is its nominal rate.
    annuity_principal = [
        "946.19",
        "955.65",
        "965.21",
        "974.86",
        "984.61",
        "994.45",
        "1004.40",
        "1014.44",
        "1024.59",
        "1034.83",
        "1045.18",
        "1055.59",
    ]
    annuity_interest = [
        "120.00",
        "110.54",
        "100.98",
        "91.33",
        "81.58",
        "71.74",
        "61.79",
        "51.75",
        "41.60",
        "31.36",
        "21.01",
        "10.56",
    ]
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(
            con,
            "loans",
            D1,
            [
                raw_loan("EI", method="equal_installment", rate="0.12"),
                raw_loan("FA", method="flat_add_on", rate="0.10", upfront="600.00"),
                raw_loan("V", method="equal_installment", rate="0.12"),
                # No schedule rows: rebuilt from the terms. Funded by individual lenders, so
                # the court cap of the contract date applies: 4 x 3.10% before 2025-05-20,
                # 4 x 3.00% from then on.
                raw_loan("P13", method="equal_installment", rate="0.13"),
                raw_loan("P12", method="equal_installment", rate="0.122", contract=date(2025, 5, 19)),
                raw_loan("PB", method="bullet", rate="0.122", contract=date(2025, 5, 20)),
                raw_loan("TP", method="equal_principal", rate="0.12"),
                raw_loan("TI", method="interest_first", rate="0.12"),
                raw_loan("TF", method="flat_add_on", rate="0.12"),
            ],
        )
        insert_raw(
            con,
            "fundings",
            D1,
            [
                ("F1", "EI", "INST001", "institution", Decimal("12000.00"), "2025-06-02 08:00:00"),
                ("F2", "FA", "INST002", "institution", Decimal("12000.00"), "2025-06-02 08:00:00"),
                ("F3", "P13", "LND000001", "individual_lender", Decimal("12000.00"), "2025-06-02 08:00:00"),
                ("F4", "P12", "LND000002", "individual_lender", Decimal("6000.00"), "2025-05-19 08:00:00"),
                ("F5", "P12", "INST001", "institution", Decimal("6000.00"), "2025-05-19 08:00:00"),
                ("F6", "PB", "LND000003", "individual_lender", Decimal("12000.00"), "2025-05-20 08:00:00"),
            ],
        )
        # EI's first installment (1,066.19 of principal and interest) paid 10 days late with
        # a 10.00 penalty: 10 x 365 / (1,066.19 x 10) = 34.2 % a year, above the 24 % level.
        insert_raw(
            con,
            "repayments",
            D2,
            [
                (
                    "R1",
                    "EI",
                    "2025-07-12 10:00:00",
                    1,
                    Decimal("946.19"),
                    Decimal("120.00"),
                    Decimal("0"),
                    Decimal("10.00"),
                    "borrower",
                ),
            ],
        )
        insert_raw(
            con,
            "schedules",
            D1,
            _schedule("EI", annuity_principal, annuity_interest, "0.00")
            + _schedule("FA", ["1000.00"] * 12, ["100.00"] * 12, "60.00")
            + _schedule("V", annuity_principal, annuity_interest, "0.00"),
        )
        # Day 2 restates loan V (settled); day 3 restates it again, after the as-of date D2.
        insert_raw(
            con,
            "loans",
            D2,
            [
                raw_loan(
                    "V",
                    method="equal_installment",
                    rate="0.12",
                    updated="2025-06-03 09:00:00",
                    status="settled",
                )
            ],
        )
        insert_raw(
            con,
            "loans",
            D3,
            [
                raw_loan(
                    "V",
                    method="equal_installment",
                    rate="0.12",
                    updated="2025-06-04 09:00:00",
                    status="written_off",
                )
            ],
        )
        insert_raw(
            con,
            "accounts",
            D1,
            [
                (
                    "A1",
                    "C1",
                    "individual",
                    "Wang Fang",
                    "110101199003074477",
                    "13812345678",
                    "CN",
                    None,
                    "2024-01-01 00:00:00",
                    "active",
                    "2025-06-01 00:00:00",
                ),
            ],
        )
        insert_raw(con, "fx_rates", D2, [(D2, "USD", Decimal("7.2"))])
        insert_raw(
            con,
            "transactions",
            D1,
            [
                (
                    "T1",
                    "A1",
                    "2025-06-02 10:00:00",
                    "credit",
                    Decimal("20000.00"),
                    "CNY",
                    "cash",
                    None,
                    None,
                    None,
                    None,
                ),
            ],
        )
        insert_raw(
            con,
            "transactions",
            D2,
            [
                # late arrival for 06-02: re-opens that customer-day, now 20,000 + 30,000 = 50,000.00 (fires)
                (
                    "T2",
                    "A1",
                    "2025-06-02 15:00:00",
                    "credit",
                    Decimal("30000.00"),
                    "CNY",
                    "cash",
                    None,
                    None,
                    None,
                    None,
                ),
                (
                    "T3",
                    "A1",
                    "2025-06-03 10:00:00",
                    "debit",
                    Decimal("6944.44"),
                    "USD",
                    "cash",
                    None,
                    None,
                    None,
                    None,
                ),
                (
                    "T4",
                    "A1",
                    "2025-06-03 11:00:00",
                    "credit",
                    Decimal("10.00"),
                    "CNY",
                    "transfer",
                    None,
                    None,
                    None,
                    None,
                ),
                (
                    "T5",
                    "A9",
                    "2025-06-03 12:00:00",
                    "credit",
                    Decimal("49999.99"),
                    "CNY",
                    "cash",
                    None,
                    None,
                    None,
                    None,
                ),
            ],
        )
    transform.build(D2, settings, pack_parameters=_pack_parameters("cn"))
    return settings


def _pack_parameters(pack: str) -> dict[str, object]:
    """The pack's parameters, as the transform step passes them (feature models read some)."""
    return {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / pack).parameters.items()}


def test_latest_as_of_picks_the_version_of_that_date(built: Settings) -> None:
    assert query(built, "SELECT status FROM staging.stg_platform__loans WHERE loan_id = 'V'") == [
        ("settled",)
    ]


def test_real_apr_of_an_annuity_equals_its_nominal_rate_and_fees_raise_it(built: Settings) -> None:
    rows = dict(query(built, "SELECT loan_id, real_apr FROM marts.fct_loan_apr"))
    assert rows["EI"] == pytest.approx(0.12, abs=1e-4)
    assert rows["FA"] > 0.24  # 10 % flat + 0.5 % monthly fee + 5 % upfront
    assert rows["P13"] == pytest.approx(0.13, abs=1e-4)  # rebuilt from its terms
    assert rows["P12"] == pytest.approx(0.122, abs=1e-4)


def test_caps_in_force_on_the_contract_date_with_their_source(built: Settings) -> None:
    caps = {
        r[0]: r[1:]
        for r in query(
            built,
            "SELECT loan_id, is_private_lending, lpr_at_contract, court_cap_rate, comprehensive_cap_rate, "
            "void_line_rate, court_cap_source, cash_flow_source FROM marts.fct_loan_apr",
        )
    }
    assert caps["EI"][:5] == (False, Decimal("0.03"), None, Decimal("0.24"), Decimal("0.36"))
    assert caps["P12"][:3] == (True, Decimal("0.031"), Decimal("0.124"))
    assert caps["PB"][:3] == (True, Decimal("0.03"), Decimal("0.12"))
    assert "4 x one-year LPR 3.10%" in caps["P12"][5] and "2025-05-19" in caps["P12"][5]
    assert caps["P13"][6] == "terms" and caps["EI"][6] == "schedule"
    bullet = query(built, "SELECT cash_flows FROM marts.fct_loan_apr WHERE loan_id = 'PB'")
    assert bullet == [("2025-05-20 +12000.00; 2026-05-20 -13464.00",)]


def test_cash_days_in_cny_touched_by_the_load_of_the_date(built: Settings) -> None:
    rows = query(
        built,
        "SELECT entity_key, transaction_count, cash_amount_cny, transaction_ids FROM marts.fct_customer_cash_days ORDER BY 1",
    )
    assert rows == [
        ("C1|2025-06-02|credit", 2, Decimal("50000.00"), "T1,T2"),
        ("C1|2025-06-03|debit", 1, Decimal("49999.97"), "T3"),
        ("account:A9|2025-06-03|credit", 1, Decimal("49999.99"), "T5"),
    ]


def test_rules_fire_on_every_failing_row_and_only_those(built: Settings) -> None:
    pack = load_pack(REPO_ROOT / "checks" / "cn")
    found = run_rules(built.warehouse_path, pack, D2, "RUN")
    # Every loan here is borrower C1's: the platform is as concentrated as it gets.
    disclosures = found[found.rule_id.str.startswith("cn.disclosures.")]
    assert list(zip(disclosures.rule_id, disclosures.entity_key, strict=True)) == [
        ("cn.disclosures.single_borrower_concentration", "platform"),
        ("cn.disclosures.top10_borrower_concentration", "platform"),
    ]
    found = found[~found.rule_id.str.startswith("cn.disclosures.")].reset_index(drop=True)
    assert list(zip(found.rule_id, found.entity_key, strict=True)) == [
        ("cn.aml.large_cash", "C1|2025-06-02|cash|credit"),
        ("cn.rate_caps.overdue_charges_above_cap", "EI"),
        ("cn.rate_caps.private_lending_above_court_cap", "P13"),
        ("cn.rate_caps.private_lending_above_court_cap", "PB"),
        ("cn.rate_caps.real_apr_above_comprehensive_cap", "FA"),
        ("cn.rate_caps.real_apr_above_void_line", "FA"),  # 10 % flat + fees: real APR above 36 %
    ]
    evidence = json.loads(found.evidence[0])
    assert evidence["cny_amount"] == "50000.00" and evidence["transaction_ids"] == "T1,T2"
    overdue = json.loads(found.evidence[1])
    assert overdue["overdue_charge_rate"] == pytest.approx(10 * 365 / (1066.19 * 10), abs=1e-8)
    court = json.loads(found.evidence[2])
    assert court["court_cap_rate"] == "0.12000000" and "3.00%" in court["court_cap_source"]
    assert "Real APR 13.00% (nominal 13.00%)" in found.message[2]
    assert (found.run_id == "RUN").all() and (found.business_date == D2).all()


def test_no_truncation_and_exact_edges(built: Settings, tmp_path: Path) -> None:
    path = tmp_path / "edges.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"ATTACH '{built.warehouse_path}' AS built (READ_ONLY)")
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.fct_customer_cash_days AS SELECT * FROM built.marts.fct_customer_cash_days LIMIT 0"
    )
    con.execute(
        "INSERT INTO marts.fct_customer_cash_days SELECT DATE '2025-06-02', 'K' || i, 'C' || i, 'individual', "
        "DATE '2025-06-02', 'credit', 1, 0, 0, 'T', 'USD', false, CAST(9999.99 + i / 100 AS DECIMAL(18,2)), false "
        "FROM range(0, 41) r(i)"
    )
    for (table,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'built' "
        "AND table_schema = 'marts' AND table_name <> 'fct_customer_cash_days'"
    ).fetchall():
        con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM built.marts.{table} LIMIT 0")
    con.execute("DETACH built")
    con.close()
    found = run_rules(path, load_pack(REPO_ROOT / "checks" / "us"), D2, "RUN")
    # The US line is strict: 9,999.99 and 10,000.00 pass, every amount above fires: 39 rows,
    # beyond GX's sample of 20.
    assert sorted(found.entity_key) == sorted(f"K{i}" for i in range(2, 41))


def test_a_rule_outside_its_window_does_not_run(built: Settings) -> None:
    pack = load_pack(REPO_ROOT / "checks" / "cn")
    assert run_rules(built.warehouse_path, pack, date(2015, 8, 31), "RUN").empty


def test_the_us_pack_takes_its_own_apr_convention(built: Settings, tmp_path: Path) -> None:
    """A second jurisdiction: the pack's convention (Reg Z) reaches the mart, its cap the rules."""
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing"
    )
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(built.warehouse_path, settings.warehouse_path)
    transform.build(
        D2,
        settings,
        apr_convention="us_reg_z",
        pack_parameters=_pack_parameters("us"),
        reporting_currency="USD",
    )
    rows = {
        r[0]: r[1:]
        for r in query(
            settings, "SELECT loan_id, apr_convention, apr_unit_period, real_apr FROM marts.fct_loan_apr"
        )
    }
    assert {r[0] for r in rows.values()} == {"us_reg_z"}
    assert rows["EI"][1] == "month" and rows["EI"][2] == pytest.approx(0.12, abs=1e-4)
    assert rows["PB"][1] == "year"  # a single payment a year away: the unit period is the term
    found = run_rules(settings.warehouse_path, load_pack(REPO_ROOT / "checks" / "us"), D2, "RUN")
    assert list(zip(found.rule_id, found.entity_key, strict=True)) == [
        # the us pack reports in USD: the CNY loans disbursed on 2025-05-19, 05-20 and 06-02 need
        # the USD rate of those dates, and so does the CNY cash of 06-02 (one exception each)
        ("us.aml.missing_fx_rate", "USD|2025-05-19"),
        ("us.aml.missing_fx_rate", "USD|2025-05-20"),
        ("us.aml.missing_fx_rate", "USD|2025-06-02"),
        ("us.rate_caps.apr_above_cap", "FA"),
    ]


def test_installments_rebuilt_from_terms_for_every_method(built: Settings) -> None:
    """No schedule rows: 12,000 over 12 months at 12 % nominal, cents half up, the last absorbing."""
    flows = dict(
        query(built, "SELECT loan_id, cash_flows FROM marts.fct_loan_apr WHERE cash_flow_source = 'terms'")
    )
    payments = {k: [Decimal(f.split(" -")[1]) for f in v.split("; ")[1:]] for k, v in flows.items()}
    assert payments["TP"] == [Decimal(1120 - 10 * k) for k in range(12)]
    assert payments["TI"] == [Decimal("120.00")] * 11 + [Decimal("12120.00")]
    assert payments["TF"] == [Decimal("1120.00")] * 12
    annuity = payments["P13"]  # 13 %: 1,071.81 a month (1,071.807...), the last one absorbing the rounding
    assert annuity[:11] == [Decimal("1071.81")] * 11 and abs(annuity[11] - Decimal("1071.81")) <= Decimal(
        "0.05"
    )
    assert flows["TP"].startswith("2025-06-02 +12000.00; 2025-07-02 -1120.00")
    rates = dict(query(built, "SELECT loan_id, real_apr FROM marts.fct_loan_apr"))
    assert rates["TP"] == pytest.approx(0.12, abs=1e-6) and rates["TI"] == pytest.approx(0.12, abs=1e-6)
    assert rates["TF"] == pytest.approx(0.2149, abs=1e-3)  # the flat-rate effect: 12 % flat is ~21.5 % real


def test_a_rule_mart_not_built_fails_the_run_naming_it(tmp_path: Path) -> None:
    """A warehouse whose marts were never built is a failed validate, never an empty pass."""
    from regwatch.validate import ValidationError

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
    pack = load_pack(REPO_ROOT / "checks" / "cn")
    with pytest.raises(
        ValidationError, match=r"rule model marts\.\w+ does not exist: run the transform step first"
    ):
        run_rules(path, pack, date(2025, 6, 2), "run-1")
