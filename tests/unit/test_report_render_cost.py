"""Render cost of the daily report's PDF per alert (issue 14 point 6: ~3 s per exception).

The evidence queries are set-based (one query per report, whatever the number of alerts);
what grew with every exception was WeasyPrint sizing the alert tables: with
``overflow-wrap: anywhere`` on every table cell, a cell's min-content width is computed
by trying a line break after every character of its text (the finding, the rule title),
so each alert cost line-break calls in proportion to the characters of its finding.
Prose cells now wrap between words (identifiers in ``<code>`` still break anywhere, so
tables fit the page as before). Counted, not timed: the number of WeasyPrint line
splits per extra alert is deterministic, a wall clock on a shared machine is not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from regwatch import alerts, warehouse
from regwatch.config import Settings
from regwatch.reporting.daily import render_daily

DAY = date(2025, 6, 2)
RUN = "20250602-abcdef123456"
FINDING = (
    "Cash credit on 2025-06-02: CNY 50,000.00 and USD 0.00 (foreign legs) in 3 transaction(s) reach the "
    "CNY 50,000 / USD 10,000 large-value line (CNY); report by 2025-06-09; the customer's accounts "
    "received the money from counterparties in three provinces within four hours of each other"
)


def _splits(settings: Settings, count: int) -> int:
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("DELETE FROM results.exceptions")
        con.execute("DELETE FROM results.run_log")
        con.execute(
            "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.11.0', ?, '0.1.0', ?)",
            [RUN, DAY, "a" * 64, "b" * 64],
        )
        for n in range(count):
            evidence = json.dumps({"customer_id": f"C{n}", "cash_amount_cny": "50000.00"})
            con.execute(
                "INSERT INTO results.exceptions VALUES (?, ?, 'cn.aml.large_cash', 'high', 'PBOC Order [2016] No. 3',"
                " 'fct_customer_cash_days', ?, ?, ?)",
                [RUN, DAY, f"C{n}|2025-06-02|cash|credit", FINDING, evidence],
            )
        alerts.update(con, DAY, RUN)
    # Counted by a wrapper around WeasyPrint's split_first_line wherever it is looked up
    # (outermost calls only, as a profiler's primitive-call count): cProfile counted the same
    # but slowed every other call of the render three times over.
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    calls = [0, 0]  # outermost calls, depth
    original = line_break.split_first_line

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += calls[1] == 0
        calls[1] += 1
        try:
            return original(*args, **kwargs)
        finally:
            calls[1] -= 1

    wrapper: Callable[..., Any] = counted
    with pytest.MonkeyPatch.context() as patch:
        for module in (line_break, inline, preferred):
            patch.setattr(module, "split_first_line", wrapper)
        render_daily(settings, DAY, RUN)
    return calls[0]


def test_line_splits_per_alert_do_not_grow_with_the_finding(settings: Settings) -> None:
    few, many = _splits(settings, 4), _splits(settings, 16)
    per_alert = (many - few) / 12
    assert per_alert < 300, per_alert  # measured: 488.5 with "anywhere" on every cell, 188.5 now


def test_the_render_step_imports_neither_pandas_nor_numpy() -> None:
    """The render step runs in a fresh process (the pipeline's render_reports task, the bench):
    its imports are part of its cost. The report reads the delivery verdict through
    ``regwatch.ingest.delivery``, which imported the loader (``regwatch.ingest.load``) for
    two annotations, and with it pandas and numpy (~0.5 CPU-s of the 2,000-alert bench's
    10.6 s, for nothing)."""
    code = (
        "import sys; import regwatch.reporting.daily, regwatch.reporting.render; "
        "print(sorted(m for m in ('pandas', 'numpy', 'great_expectations', 'dbt') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]", out
