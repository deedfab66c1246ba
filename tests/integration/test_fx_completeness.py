"""Issue 15, point 3: every (date, currency) used without a rate is one exception naming it.

A day whose delivery has no USD rate and no CHF rate (EUR and HKD are delivered), run
under the cn pack. On 3d91e1f: the USD customer-day went into the large-value report with
an empty ``amount_cny`` and ``has_missing_fx_rate`` false; ``cn.aml.missing_fx_rate``
fired on the EUR and HKD customer-days and named EUR and HKD, which have rates; the CHF
card payment raised nothing.
"""

from __future__ import annotations

import csv
import json

import pytest

from regwatch.config import Settings
from regwatch.reporting.large_value import validate_content
from tests.conftest import DAY, GOOD_ROWS
from tests.helpers import deliver, query, ran_day

pytestmark = pytest.mark.integration

ACCOUNTS = [
    "A2,C2,individual,Li Lei,110101199003074477,13800000002,CN,,2024-01-05 10:00:00,active,2025-06-02 09:00:00",
    "A3,C3,individual,Han Mei,110101199003074477,13800000003,CN,,2024-01-05 10:00:00,active,2025-06-02 09:00:00",
    "A4,C4,individual,Zhou Yu,110101199003074477,13800000004,CN,,2024-01-05 10:00:00,active,2025-06-02 09:00:00",
]
TRANSACTIONS = [
    # USD cash of 12,000: reaches the USD 10,000 line; its CNY amount needs the missing USD rate
    "U1,A2,2025-06-02 10:00:00,credit,12000.00,USD,cash,,,,deposit",
    # EUR and HKD have their rates; their USD equivalents need the missing USD rate
    "E1,A3,2025-06-02 10:00:00,credit,2000.00,EUR,cash,,,,deposit",
    "H1,A3,2025-06-02 11:00:00,debit,5000.00,HKD,transfer,6222000011112222,Zhang Wei,CN,rent",
    # a card payment in a currency with no rate at all
    "W1,A4,2025-06-02 12:00:00,debit,300.00,CHF,card,6222000011113333,Shop,CH,purchase",
]
FX = "rate_date,currency,cny_per_unit\n2025-06-02,EUR,7.80000000\n2025-06-02,HKD,0.92000000\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("fx_gaps")
    files = dict(GOOD_ROWS)
    files["accounts"] = GOOD_ROWS["accounts"] + "\n".join(ACCOUNTS) + "\n"
    files["transactions"] = GOOD_ROWS["transactions"] + "\n".join(TRANSACTIONS) + "\n"
    files["fx_rates"] = FX
    return ran_day(tmp / "var", deliver(tmp / "landing", DAY, files), DAY)


def test_one_exception_per_missing_rate_naming_its_currency_and_date(run: Settings) -> None:
    rows = query(
        run,
        "SELECT entity_key, message, evidence FROM results.exceptions WHERE rule_id = 'cn.aml.missing_fx_rate'",
    )
    assert sorted(str(k) for k, _, _ in rows) == ["CHF|2025-06-02", "USD|2025-06-02"]
    by_key = {str(k): (str(m), json.loads(str(e))) for k, m, e in rows}
    usd_message, usd_evidence = by_key["USD|2025-06-02"]
    assert "No USD rate for 2025-06-02" in usd_message
    assert usd_evidence["currency"] == "USD" and usd_evidence["rate_date"] == "2025-06-02"
    # the USD leg itself (no CNY amount) and the EUR and HKD legs (no USD equivalent)
    assert usd_evidence["transaction_ids"] == "E1, H1, U1"
    chf_message, chf_evidence = by_key["CHF|2025-06-02"]
    assert "No CHF rate for 2025-06-02" in chf_message and chf_evidence["transaction_ids"] == "W1"
    # currencies that have their rate are never named as missing
    for message, _ in by_key.values():
        assert "EUR rate" not in message and "HKD rate" not in message


def test_customer_days_with_unconverted_legs_say_so(run: Settings) -> None:
    flags = dict(
        query(run, "SELECT entity_key, has_missing_fx_rate FROM marts.fct_customer_large_value_days")
    )
    assert flags["C2|2025-06-02|cash|credit"] is True  # USD leg: no CNY amount
    assert flags["C3|2025-06-02|cash|credit"] is True  # EUR leg: no USD equivalent
    assert flags["C1|2025-06-02|cash|credit"] is False  # CNY only
    folder = run.reports_dir / DAY.isoformat()
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    validate_content(run, content)
    c2 = next(d for d in content["customer_days"] if d["report_key"] == "C2|2025-06-02")
    assert c2["has_missing_fx_rate"] is True and c2["unconverted_transaction_ids"] == "U1"
    assert c2["amount_cny"] is None  # unknown, not a zero and not a partial sum
    with (folder / "large_value_transactions.csv").open(newline="", encoding="utf-8") as handle:
        rows = {r["report_key"]: r for r in csv.DictReader(handle)}
    assert rows["C2|2025-06-02"]["has_missing_fx_rate"] == "true"
    assert rows["C2|2025-06-02"]["unconverted_transaction_ids"] == "U1"
    assert rows["C1|2025-06-02"]["has_missing_fx_rate"] == "false"
    # the daily report: the large-value finding says its legs are unconverted, and both gaps are listed
    message = query(
        run,
        "SELECT message FROM results.exceptions WHERE entity_key = 'C2|2025-06-02|cash|credit' "
        "AND rule_id = 'cn.aml.large_cash'",
    )[0][0]
    assert "not converted (no FX rate): U1" in str(message)
    daily = (folder / "daily_exceptions.html").read_text(encoding="utf-8")
    assert "not converted (no FX rate): U1" in daily
    assert "USD|2025-06-02" in daily and "CHF|2025-06-02" in daily


def test_the_large_value_csv_names_the_gap_column(run: Settings) -> None:
    header = (run.reports_dir / DAY.isoformat() / "large_value_transactions.csv").read_text(encoding="utf-8")
    assert "unconverted_transaction_ids" in header.splitlines()[0]
