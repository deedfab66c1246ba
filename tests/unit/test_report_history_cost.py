"""The report and seal steps of a date do the work of that date, not of the history before it
(issue 17: "day 30 of a 30-day history costs <= 1.2x day 1").

A 1M-transactions-a-day history (bench/platform_bench.py) showed render_reports and
seal_ledger growing from day to day. Counted here, not timed: the same date rendered and
sealed after one and after several earlier dates must do the same work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from regwatch import alerts, pipeline, warehouse
from regwatch.config import Settings
from regwatch.ledger import snapshot
from regwatch.reporting import daily
from regwatch.rules import pack_digest
from tests.conftest import REPO_ROOT

D = date(2025, 6, 10)


def _run(day: date) -> str:
    return f"{day:%Y%m%d}-abcdef123456"


def _day(con: Any, day: date, customers: int) -> None:
    """One run date: each customer fans in and out through three transactions of the day (two AML
    alerts, the same ones every day: a day's report holds as much after one earlier date as after five)."""
    run = _run(day)
    con.execute(
        "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.11.0', ?, '0.1.0', ?)",
        [run, day, pack_digest(REPO_ROOT / "checks" / "cn"), "b" * 64],
    )
    for c in range(customers):
        ids = [f"T{day:%m%d}{c:04d}{k}" for k in range(3)]
        for number, txn in enumerate(ids, start=1):
            con.execute(
                "INSERT INTO raw.transactions VALUES (?, ?, ?, 'credit', 60000.00, 'CNY', 'transfer', "
                "'6222020200112233446', 'Zhang Wei', 'CN', 'goods payment', ?, ?, 'transactions.csv', ?)",
                [txn, f"A{c:04d}", f"{day} 10:00:00", f"load-{day}", day, c * 3 + number],
            )
        for rule in ("cn.aml.fan_in", "cn.aml.fan_out"):
            con.execute(
                "INSERT INTO results.exceptions VALUES (?, ?, ?, 'high', 'a legal basis', 'model', ?, ?, ?)",
                [
                    run,
                    day,
                    rule,
                    f"C{c:04d}",  # the same customers every day: the same alerts, open
                    f"{rule} of customer C{c:04d}",
                    json.dumps({"customer_id": f"C{c:04d}", "transaction_ids": ",".join(ids)}),
                ],
            )
    alerts.update(con, day, run)


def _platform(settings: Settings, earlier_days: int, customers: int = 4) -> None:
    with warehouse.connect(settings.warehouse_path) as con:
        for back in range(earlier_days, -1, -1):
            _day(con, D - timedelta(days=back), customers)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transaction ids of every transaction row the report masks."""
    masked: list[str] = []
    original: Callable[..., dict[str, Any]] = daily.mask_record

    def counted(record: Any) -> dict[str, Any]:
        if "txn_id" in record:
            masked.append(str(record["txn_id"]))
        return original(record)

    monkeypatch.setattr(daily, "mask_record", counted)
    return masked


def test_each_evidence_transaction_is_masked_once_per_report(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customer's fan-in and fan-out name the same transactions: masked once, shown under both.

    At 1,000,000 transactions a day the report masked 156,958 transaction rows for 145,617
    transactions, and masking was most of the report's Python time (bench/platform_bench.py).
    """
    _platform(settings, earlier_days=0)
    masked = _counting(monkeypatch)
    context = daily.daily_context(settings, D, _run(D))
    assert sorted(masked) == sorted(set(masked)) and len(masked) == 4 * 3
    shown = [t["txn_id"] for a in context["alerts"] for t in a["transactions"]]
    assert len(shown) == 2 * 4 * 3  # every alert still lists its transactions


def _copied_by_seals(settings: Settings, earlier_days: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows each seal (one per date, in order) copied from the warehouse into the sealed-state snapshot."""
    _platform(settings, earlier_days)
    copied: list[int] = []
    connect = duckdb.connect

    class Counting:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            result = self.con.execute(sql, *args)
            if " FROM wh." in sql and sql.lstrip().upper().startswith(("INSERT", "CREATE TABLE")):
                copied[-1] += int(result.fetchall()[0][0])
            return result

        def __getattr__(self, name: str) -> Any:
            return getattr(self.con, name)

    def counting(database: str = ":memory:", *args: Any, **kwargs: Any) -> Any:
        con = connect(database, *args, **kwargs)
        return Counting(con) if str(database).endswith(".duckdb") and "sealed-" in str(database) else con

    monkeypatch.setattr(duckdb, "connect", counting)
    for back in range(earlier_days, -1, -1):
        day = D - timedelta(days=back)
        staging = settings.staging_reports_dir(_run(day)) / day.isoformat()
        staging.mkdir(parents=True)
        (staging / "daily_exceptions.csv").write_text(f"the report of {day}\n")
        copied.append(0)
        pipeline.seal_ledger(day, settings)
    monkeypatch.setattr(duckdb, "connect", connect)
    return copied


def _snapshot_rows(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(snapshot.path(settings)), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'main'"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall(), key=repr)
            for s, t in tables
        }
    finally:
        con.close()


def test_a_seal_copies_its_own_date_into_the_sealed_state_whatever_the_history(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot read-only commands read during a run (regwatch.ledger.snapshot) was copied
    whole by every seal: every date's alerts, exceptions and customer alerts again, so the seal
    grew with the history (2.0 -> 7.8 -> 13.9 CPU-s over three dates at 1M transactions a day).
    A date's seal now copies that date's partitions (and the current-alerts table): the same
    rows after one earlier date as after five, and the same snapshot as a whole copy."""

    def settings(name: str) -> Settings:
        return Settings(
            project_root=REPO_ROOT, var_dir=tmp_path / name / "var", landing_dir=tmp_path / name / "landing"
        )

    short, long = settings("short"), settings("long")
    after_one = _copied_by_seals(short, 1, monkeypatch)
    after_five = _copied_by_seals(long, 5, monkeypatch)
    assert after_one[-1] == after_five[-1], (after_one, after_five)
    assert after_five[1:] == [after_five[-1]] * 5  # every date the same (the first copies all there is)
    incremental = _snapshot_rows(long)
    snapshot.write(long, "a full copy")  # as regwatch rebuild writes it
    assert _snapshot_rows(long) == incremental
