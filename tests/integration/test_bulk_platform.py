"""The platform-scale generator (bench/bulk_platform.py) at a tiny scale.

Same arguments, same bytes; what it writes passes ingest with exactly the rows its
truth lists as malformed quarantined (no other row lost); bulk schedules and fundings
add up to the principal to the cent.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from bench import bulk_platform
from regwatch import warehouse
from regwatch.ingest import load as ingest

pytestmark = pytest.mark.integration

DAY = date(2025, 6, 30)
SIZES = {
    "transactions": 20_000,
    "accounts": 1_500,
    "loans": 2_000,
    "base_loans": 200,
    "base_accounts": 300,
    "malformed_rate": 0.01,
    "history_days": 5,
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> bulk_platform.BulkPlatform:
    return bulk_platform.build(tmp_path_factory.mktemp("bulk") / "landing", DAY, **SIZES)  # type: ignore[arg-type]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "_bulk.json"
    }


def test_same_arguments_same_bytes(platform: bulk_platform.BulkPlatform, tmp_path: Path) -> None:
    again = bulk_platform.build(tmp_path / "landing", DAY, **SIZES)  # type: ignore[arg-type]
    first, second = _files(platform.landing), _files(again.landing)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    other = bulk_platform.build(tmp_path / "other", DAY, **SIZES | {"seed": 7})  # type: ignore[arg-type]
    assert _files(other.landing)["2025-06-30/transactions.csv"] != first["2025-06-30/transactions.csv"]


def test_sizes(platform: bulk_platform.BulkPlatform) -> None:
    folder = platform.landing / DAY.isoformat()
    lines = {p.stem: p.read_bytes().count(b"\n") - 1 for p in folder.glob("*.csv")}
    assert lines["transactions"] == SIZES["transactions"]
    assert lines["loans"] == platform.loans == platform.base_loans + SIZES["loans"]
    assert platform.schedules >= 10 * SIZES["loans"]  # ~12 installments a loan
    assert 0 < platform.repayments < platform.schedules
    assert lines["accounts"] == platform.accounts


def test_ingest_quarantines_exactly_the_planted_malformed_rows(
    platform: bulk_platform.BulkPlatform, tmp_path: Path
) -> None:
    with (platform.landing / "_truth" / "malformed.csv").open(newline="") as handle:
        planted = {(r["file"], int(r["row_number"])) for r in csv.DictReader(handle)}
    bulk_rows = {(f, n) for f, n in planted if f == "transactions" and n > platform.base_transactions}
    assert len(bulk_rows) == platform.bulk_malformed > 100
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        result = ingest.ingest_day(con, platform.landing, DAY)
        quarantined = set(con.execute("SELECT file_name, row_number FROM quarantine.rows").fetchall())
        names = {f[0] for f in con.execute("SELECT DISTINCT file_name FROM quarantine.rows").fetchall()}
        assert names <= {
            "loans",
            "schedules",
            "repayments",
            "fundings",
            "accounts",
            "transactions",
            "fx_rates",
        }
        assert quarantined == planted
        for load in result.files:
            assert load.rows_read == load.rows_loaded + load.rows_quarantined, load
        # Bulk schedules and fundings add up to the principal, to the cent.
        wrong = con.execute("""
            WITH l AS (SELECT loan_id, principal FROM raw.loans WHERE loan_id LIKE 'LB%'),
                 s AS (SELECT loan_id, sum(principal_due) AS due FROM raw.schedules GROUP BY ALL),
                 f AS (SELECT loan_id, sum(amount) AS funded FROM raw.fundings GROUP BY ALL)
            SELECT count(*) FILTER (s.due IS DISTINCT FROM l.principal OR f.funded IS DISTINCT FROM l.principal),
                   count(*)
            FROM l LEFT JOIN s USING (loan_id) LEFT JOIN f USING (loan_id)
        """).fetchone()
        assert wrong == (0, SIZES["loans"])


def test_a_bulk_customer_has_a_few_recurring_counterparties_on_every_date(tmp_path: Path) -> None:
    """Bulk traffic must not trip the fan rules as a history fills their windows: with a new
    random counterparty per transaction, a 1M-transactions-a-day history's exceptions went
    11,308 -> 40,960 -> 74,411 over its first three dates (fan-in and fan-out), and with three
    per *account*, customers with two accounts still reached six (1,284 -> 4,536 fan-ins)."""
    import duckdb

    first = DAY - timedelta(days=4)
    sizes = SIZES | {"transactions": 4_000, "loans": 0, "history_days": 1}
    built = bulk_platform.build(tmp_path / "landing", DAY, start=first, **sizes)  # type: ignore[arg-type]
    assert len(built.business_dates) == 3
    landing = tmp_path / "landing"
    con = duckdb.connect()
    widest = con.execute(
        f"""
        WITH accounts AS (
            SELECT account_id, customer_id FROM read_csv('{landing}/{first.isoformat()}/accounts.csv', all_varchar = true, ignore_errors = true)
        ), legs AS (
            SELECT account_id, counterparty_account
            FROM read_csv('{landing}/*/transactions.csv', all_varchar = true, ignore_errors = true)
            WHERE account_id LIKE 'AB%' AND coalesce(counterparty_account, '') <> ''
        )
        SELECT max(n), count(*) FILTER (WHERE n > 1) FROM (
            SELECT customer_id, count(DISTINCT counterparty_account) AS n FROM legs JOIN accounts USING (account_id)
            GROUP BY customer_id
        )
        """
    ).fetchone()
    assert widest is not None
    assert widest[0] == bulk_platform.COUNTERPARTIES_PER_ACCOUNT and widest[1] > 100, widest
