"""Large-value lines on tiny hand-made landing data, through ingest + dbt + validate (+ the report).

Every PBOC art. 5 line is hit exactly (fires: inclusive) and missed by one cent (does not
fire), in CNY and in USD, single and cumulative, for the customer types and channels
each line covers; the US currency-transaction-report line is strict. The same landing
data runs under both packs, so the two readings of one customer-day show side by side.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from regwatch import pipeline
from regwatch.config import Settings
from regwatch.reporting.large_value import validate_content
from regwatch.reporting.render import ReportError
from tests.conftest import DAY, REPO_ROOT
from tests.helpers import deliver, query, ran_day

pytestmark = pytest.mark.integration

ACCOUNTS = {
    # account: (customer, type)
    "A01": ("C01", "individual"),
    "A02": ("C02", "entity"),
    "A03": ("C03", "individual"),
    "A04": ("C04", "individual"),
    "A05": ("C05", "individual"),
    "A06": ("C06", "individual"),
    "A16": ("C06", "individual"),  # a second account of C06: cumulated per customer
    "A07": ("C07", "entity"),
    "A08": ("C08", "individual"),
    "A09": ("C09", "individual"),
    "A10": ("C10", "entity"),
    "A11": ("C11", "individual"),
    "A12": ("C12", "individual"),
    "A13": ("C13", "individual"),
}

# (txn, account, date, direction, amount, currency, channel, counterparty country)
TRANSACTIONS = [
    # cash, CNY 50,000 (art. 5(1)): exact fires, one cent under does not
    ("T01", "A01", "2025-06-02", "credit", "50000.00", "CNY", "cash", ""),
    ("T02", "A01", "2025-06-02", "debit", "49999.99", "CNY", "cash", ""),
    # cash, USD 10,000: exact fires (CN), one cent under does not
    ("T03", "A05", "2025-06-02", "credit", "10000.00", "USD", "cash", ""),
    ("T04", "A05", "2025-06-02", "debit", "9999.99", "USD", "cash", ""),
    # cumulative over two accounts of one customer: 30,000 + 20,000 = 50,000.00 fires
    ("T05", "A06", "2025-06-02", "credit", "30000.00", "CNY", "cash", ""),
    ("T06", "A16", "2025-06-02", "credit", "20000.00", "CNY", "cash", ""),
    # CNY and foreign legs never add up: 49,999.99 CNY + USD 9,999.99 stays under both lines
    ("T07", "A06", "2025-06-02", "debit", "49999.99", "CNY", "cash", ""),
    ("T08", "A16", "2025-06-02", "debit", "9999.99", "USD", "cash", ""),
    # entity transfers, CNY 2,000,000 (art. 5(2)), cumulative: 1,500,000 + 500,000 fires
    ("T09", "A02", "2025-06-02", "credit", "1500000.00", "CNY", "transfer", "CN"),
    ("T10", "A02", "2025-06-02", "credit", "500000.00", "CNY", "transfer", "CN"),
    ("T11", "A02", "2025-06-02", "debit", "1999999.99", "CNY", "transfer", "CN"),
    # entity transfers, USD 200,000: cross-border counts as an entity transfer too
    ("T12", "A07", "2025-06-02", "credit", "200000.00", "USD", "cross_border", "HK"),
    ("T13", "A07", "2025-06-02", "debit", "199999.99", "USD", "cross_border", "HK"),
    # natural person, domestic transfers, CNY 500,000 / USD 100,000 (art. 5(3))
    ("T14", "A03", "2025-06-02", "credit", "500000.00", "CNY", "transfer", "CN"),
    ("T15", "A03", "2025-06-02", "debit", "499999.99", "CNY", "transfer", "CN"),
    ("T16", "A08", "2025-06-02", "credit", "100000.00", "USD", "transfer", "CN"),
    ("T17", "A08", "2025-06-02", "debit", "99999.99", "USD", "transfer", "CN"),
    # natural person, cross-border, CNY 200,000 / USD 10,000 (art. 5(4)); a transfer to a
    # counterparty abroad is cross-border whatever its channel
    ("T18", "A04", "2025-06-02", "credit", "200000.00", "CNY", "cross_border", "SG"),
    ("T19", "A04", "2025-06-02", "debit", "199999.99", "CNY", "cross_border", "SG"),
    ("T20", "A09", "2025-06-02", "credit", "10000.00", "USD", "transfer", "HK"),
    ("T21", "A09", "2025-06-02", "debit", "9999.99", "USD", "cross_border", "HK"),
    # EUR through the CNY cross rate: 9,205.13 x 7.80 / 7.18 = 10,000.0019 -> USD 10,000.00 fires;
    # 9,205.12 -> 9,999.99 does not
    ("T22", "A11", "2025-06-02", "credit", "9205.13", "EUR", "cash", ""),
    ("T23", "A11", "2025-06-02", "debit", "9205.12", "EUR", "cash", ""),
    # no GBP rate on the day: an exception, never a zero
    ("T24", "A12", "2025-06-02", "credit", "100.00", "GBP", "cash", ""),
    # US strict: USD 10,000.01 is more than 10,000 (and reaches the CN USD line too)
    ("T25", "A13", "2025-06-02", "credit", "10000.01", "USD", "cash", ""),
    # a card payment is no account transfer: no line applies
    ("T26", "A10", "2025-06-02", "debit", "5000000.00", "CNY", "card", "CN"),
    # late arrivals: deadlines across the Spring Festival make-up Sunday, and before the calendar
    ("T27", "A01", "2025-01-24", "credit", "80000.00", "CNY", "cash", ""),
    ("T28", "A01", "2023-12-29", "credit", "60000.00", "CNY", "cash", ""),
]
FX = [("USD", "7.18000000"), ("EUR", "7.80000000"), ("HKD", "0.92000000")]

CN_FIRES = {
    ("cn.aml.large_cash", "C01|2025-06-02|cash|credit"),
    ("cn.aml.large_cash", "C05|2025-06-02|cash|credit"),
    ("cn.aml.large_cash", "C06|2025-06-02|cash|credit"),
    ("cn.aml.large_cash", "C11|2025-06-02|cash|credit"),
    ("cn.aml.large_cash", "C13|2025-06-02|cash|credit"),
    ("cn.aml.large_cash", "C01|2025-01-24|cash|credit"),
    ("cn.aml.large_cash", "C01|2023-12-29|cash|credit"),
    ("cn.aml.large_entity_transfer", "C02|2025-06-02|entity_transfer|credit"),
    ("cn.aml.large_entity_transfer", "C07|2025-06-02|entity_transfer|credit"),
    ("cn.aml.large_individual_domestic_transfer", "C03|2025-06-02|individual_domestic_transfer|credit"),
    ("cn.aml.large_individual_domestic_transfer", "C08|2025-06-02|individual_domestic_transfer|credit"),
    (
        "cn.aml.large_individual_cross_border_transfer",
        "C04|2025-06-02|individual_cross_border_transfer|credit",
    ),
    (
        "cn.aml.large_individual_cross_border_transfer",
        "C09|2025-06-02|individual_cross_border_transfer|credit",
    ),
    ("cn.aml.missing_fx_rate", "GBP|2025-06-02"),  # one exception per currency and date without a rate
}
US_FIRES = {
    ("us.aml.cash_above_ctr_threshold", "C13|2025-06-02|credit"),  # 10,000.01 > 10,000
    # 49,999.99 CNY (USD 6,963.79) + USD 9,999.99: the US aggregates every currency
    ("us.aml.cash_above_ctr_threshold", "C06|2025-06-02|debit"),
    ("us.aml.cash_above_ctr_threshold", "C01|2025-01-24|credit"),  # CNY 80,000 at 7.18: USD 11,142.06
    ("us.aml.missing_fx_rate", "GBP|2025-06-02"),  # GBP without a rate
    ("us.aml.missing_fx_rate", "USD|2023-12-29"),  # no USD rate for that day (CNY cash needs it)
}


def _landing_files() -> dict[str, bytes]:
    accounts = [
        "account_id,customer_id,customer_type,full_name,id_number,phone,country,device_id,opened_at,status,updated_at"
    ]
    for n, (account, (customer, kind)) in enumerate(sorted(ACCOUNTS.items()), start=1):
        id_number = "110101199003074477" if kind == "individual" else "91110000100000000X"
        accounts.append(
            f"{account},{customer},{kind},Customer {customer},{id_number},138{n:08d},CN,,"
            "2024-01-05 10:00:00,active,2025-06-02 09:00:00"
        )
    txns = [
        "txn_id,account_id,txn_at,direction,amount,currency,channel,counterparty_account,counterparty_name,"
        "counterparty_country,purpose"
    ]
    for txn, account, day, direction, amount, currency, channel, country in TRANSACTIONS:
        counterparty = "" if channel == "cash" else "6222000011112222,Zhang Wei"
        if channel == "cash":
            counterparty = ","
        txns.append(
            f"{txn},{account},{day} 10:00:00,{direction},{amount},{currency},{channel},{counterparty},{country},x"
        )
    fx = ["rate_date,currency,cny_per_unit"]
    for day in ("2025-01-24", "2025-06-02"):
        fx += [f"{day},{currency},{rate}" for currency, rate in FX]
    return {
        "accounts": ("\n".join(accounts) + "\n").encode(),
        "transactions": ("\n".join(txns) + "\n").encode(),
        "fx_rates": ("\n".join(fx) + "\n").encode(),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    tmp = tmp_path_factory.mktemp("large_value")
    from tests.conftest import GOOD_ROWS

    files = {name: text.encode() for name, text in GOOD_ROWS.items()} | _landing_files()
    landing = deliver(tmp / "landing", DAY, files)
    # seal_ledger publishes what render_reports staged (var/staging/<run>/ -> var/reports/)
    return {pack: ran_day(tmp / f"var-{pack}", landing, DAY, pack) for pack in ("cn", "us")}


def _found(settings: Settings, family: str) -> set[tuple[str, str]]:
    rows = query(
        settings, f"SELECT rule_id, entity_key FROM results.exceptions WHERE rule_id LIKE '%.{family}.%'"
    )
    return {(str(r), str(k)) for r, k in rows}


def test_every_cn_line_fires_at_the_line_and_not_one_cent_under(runs: dict[str, Settings]) -> None:
    assert _found(runs["cn"], "aml") == CN_FIRES
    messages = dict(
        query(runs["cn"], "SELECT entity_key, message FROM results.exceptions WHERE rule_id LIKE 'cn.aml.%'")
    )
    assert messages["C01|2025-06-02|cash|credit"] == (
        "Cash credit on 2025-06-02: CNY 50,000.00 and USD 0.00 (foreign legs) in 1 transaction(s) reach "
        "the CNY 50,000 / USD 10,000 large-value line (CNY); report by 2025-06-09"
    )
    assert messages["GBP|2025-06-02"].startswith("No GBP rate for 2025-06-02")
    evidence = json.loads(
        query(
            runs["cn"],
            "SELECT evidence FROM results.exceptions WHERE entity_key = 'C09|2025-06-02|"
            "individual_cross_border_transfer|credit'",
        )[0][0]
    )
    assert next(iter(evidence)) == "customer_id" and evidence["reportable_line"] == "USD"
    assert evidence["foreign_amount_usd"] == "10000.00" and evidence["usd_threshold"] == "10000.00"


def test_the_us_cash_line_is_strict_and_aggregates_every_currency(runs: dict[str, Settings]) -> None:
    assert _found(runs["us"], "aml") == US_FIRES
    # USD 10,000.00 exactly is not more than 10,000
    assert ("us.aml.cash_above_ctr_threshold", "C05|2025-06-02|credit") not in US_FIRES


def test_the_mart_keeps_cny_and_foreign_legs_apart(runs: dict[str, Settings]) -> None:
    rows = {
        str(r[0]): r[1:]
        for r in query(
            runs["cn"],
            "SELECT entity_key, cny_amount, foreign_amount_usd, amount_cny, is_reportable, reportable_line, "
            "report_deadline, has_missing_fx_rate FROM marts.fct_customer_large_value_days",
        )
    }
    from decimal import Decimal

    assert rows["C06|2025-06-02|cash|debit"][:5] == (
        Decimal("49999.99"),
        Decimal("9999.99"),
        Decimal("121799.92"),  # 49,999.99 + 9,999.99 x 7.18: in CNY for information only
        False,
        None,
    )
    assert rows["C11|2025-06-02|cash|credit"][1] == Decimal("10000.00")  # EUR via the cross rate
    assert rows["C11|2025-06-02|cash|debit"][1] == Decimal("9999.99")
    # the GBP leg is unconverted: flagged, and its totals are not a silent zero that passes
    assert (
        rows["C12|2025-06-02|cash|credit"][1:3] == (Decimal("0.00"), None)
        and rows["C12|2025-06-02|cash|credit"][6]
    )
    # the card payment of CNY 5,000,000 has no large-value category
    assert not [k for k in rows if k.startswith("C10|")]
    # deadlines: 5th working day after; 2 June 2025 is the Dragon Boat holiday (day 0 anyway)
    assert rows["C01|2025-06-02|cash|credit"][5] == date(2025, 6, 9)
    # 24 Jan 2025 (Fri): 26 Jan (make-up Sunday) 1, 27 Jan 2, Spring Festival 28 Jan - 4 Feb, 5, 6, 7 Feb
    assert rows["C01|2025-01-24|cash|credit"][5] == date(2025, 2, 7)
    assert rows["C01|2023-12-29|cash|credit"][5] is None  # the calendar starts in 2024: unknown, not guessed


def test_the_large_value_report_lists_each_reportable_customer_day(runs: dict[str, Settings]) -> None:
    folder = runs["cn"].reports_dir / DAY.isoformat()
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    validate_content(runs["cn"], content)
    keys = [d["report_key"] for d in content["customer_days"]]
    expected = sorted(
        {f"{k.split('|')[0]}|{k.split('|')[1]}" for r, k in CN_FIRES if r != "cn.aml.missing_fx_rate"}
    )
    assert keys == expected and content["customer_day_count"] == len(expected)
    c01 = next(d for d in content["customer_days"] if d["report_key"] == "C01|2025-06-02")
    assert [t["transaction_id"] for t in c01["transactions"]] == ["T01"]  # not the one-cent-under debit
    assert c01["id_number"] == "110101********4477" and c01["report_deadline"] == "2025-06-09"
    assert c01["lines_reached"] == "cash credit: CNY 50000.00 >= 50000.00"
    c06 = next(d for d in content["customer_days"] if d["report_key"] == "C06|2025-06-02")
    assert [t["transaction_id"] for t in c06["transactions"]] == ["T05", "T06"] and c06[
        "amount_cny"
    ] == "50000.00"
    early = next(d for d in content["customer_days"] if d["report_key"] == "C01|2023-12-29")
    assert early["report_deadline"] is None
    with (folder / "large_value_transactions.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["report_key"] for r in rows] == expected
    assert all("110101199003074477" not in r["id_number"] for r in rows)
    assert not (runs["us"].reports_dir / DAY.isoformat() / "large_value_transactions.json").exists()


def test_the_report_is_byte_identical_on_rerun_and_rejects_a_broken_shape(
    runs: dict[str, Settings], tmp_path: Path
) -> None:
    settings = runs["cn"]
    folder = settings.reports_dir / DAY.isoformat()
    before = {p.name: p.read_bytes() for p in folder.glob("large_value_transactions.*")}
    pipeline.render_reports(DAY, settings)
    pipeline.seal_ledger(DAY, settings)
    assert {p.name: p.read_bytes() for p in folder.glob("large_value_transactions.*")} == before
    content = json.loads(before["large_value_transactions.json"])
    content["customer_days"][0]["transactions"][0]["amount"] = 50000.0  # money must be a decimal string
    with pytest.raises(ReportError, match="customer_days/0/transactions/0/amount"):
        validate_content(settings, content)


def test_unmasked_runs_show_the_id_number(runs: dict[str, Settings], tmp_path: Path) -> None:
    source = runs["cn"]
    settings = Settings(
        project_root=REPO_ROOT,
        render_pdf=False,
        var_dir=tmp_path / "var",
        landing_dir=source.landing_dir,
        unmask_pii=True,
    )
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(source.warehouse_path, settings.warehouse_path)
    pipeline.render_reports(DAY, settings)
    pipeline.seal_ledger(DAY, settings)
    content = json.loads(
        (settings.reports_dir / DAY.isoformat() / "large_value_transactions.json").read_text(encoding="utf-8")
    )
    assert content["pii_masked"] is False
    assert {d["id_number"] for d in content["customer_days"]} >= {"110101199003074477"}


def test_a_degraded_delivery_is_marked_in_the_json(runs: dict[str, Settings], tmp_path: Path) -> None:
    """A date run with --accept-degraded: the large-value JSON says so (it carried no mark at all)."""
    from regwatch.reporting.large_value import large_value_content

    complete = json.loads(
        (runs["cn"].reports_dir / DAY.isoformat() / "large_value_transactions.json").read_text(
            encoding="utf-8"
        )
    )
    assert complete["delivery"] == {"verdict": "complete", "accepted_reason": None, "files_not_complete": []}
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=runs["cn"].landing_dir
    )
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(runs["cn"].warehouse_path, settings.warehouse_path)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "UPDATE results.delivery_log SET verdict = 'degraded', accepted_reason = 'core banking late' "
            "WHERE business_date = ?",
            [DAY],
        )
        con.execute(
            "UPDATE results.delivery_log SET status = 'empty', blocking = true, reason = 'header only, no records' "
            "WHERE business_date = ? AND file_name = 'transactions'",
            [DAY],
        )
    content = large_value_content(settings, DAY, "r")
    validate_content(settings, content)
    assert content["delivery"] == {
        "verdict": "degraded",
        "accepted_reason": "core banking late",
        "files_not_complete": [
            {
                "file": f"{DAY.isoformat()}/transactions.csv",
                "status": "empty",
                "reason": "header only, no records",
            }
        ],
    }
