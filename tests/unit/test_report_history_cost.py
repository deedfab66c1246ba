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

import pytest

from regwatch import alerts, warehouse
from regwatch.config import Settings
from regwatch.reporting import daily

D = date(2025, 6, 10)


def _run(day: date) -> str:
    return f"{day:%Y%m%d}-abcdef123456"


def _day(con: Any, day: date, customers: int) -> None:
    """One run date: each customer fans in and out through the same three transactions (two AML alerts)."""
    run = _run(day)
    con.execute(
        "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.11.0', ?, '0.1.0', ?)",
        [run, day, "a" * 64, "b" * 64],
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
                    f"C{c:04d}|{day}",
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
