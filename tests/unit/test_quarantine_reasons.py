"""The daily report's "quarantine by reason" groups by reason class, not by text holding row numbers (issue 15, point 9)."""

from __future__ import annotations

from datetime import date

import pytest

from regwatch import alerts, warehouse
from regwatch.config import Settings
from regwatch.reporting.daily import daily_context

DAY = date(2025, 6, 2)
RUN = "20250602-abcdef123456"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("duplicate key within the file (first at row 12)", "duplicate key within the file"),
        ("malformed record: 18 fields, header has 17", "malformed record: wrong number of fields"),
        (
            "missing required columns loan_id, principal: whole file quarantined",
            "missing required column: whole file quarantined",
        ),
        ("missing required value", "missing required value"),
        ("unknown currency (not an ISO 4217 code)", "unknown currency (not an ISO 4217 code)"),
        (
            "wrong type: expected an amount with at most 2 decimals",
            "wrong type: expected an amount with at most 2 decimals",
        ),
        ("row 7 repeats row 3", "row N repeats row N"),
    ],
)
def test_reason_class(reason: str, expected: str) -> None:
    from regwatch.reporting.daily import reason_class

    assert reason_class(reason) == expected


def test_quarantine_by_reason_has_one_line_per_class(settings: Settings) -> None:
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute(
            "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.11.0', ?, '0.1.0', ?)",
            [RUN, DAY, "a" * 64, "b" * 64],
        )
        con.execute(
            "INSERT INTO results.load_log VALUES ('L', ?, 'loans', '2025-06-02/loans.csv', ?, 9, 4, 5, NULL, "
            "'loaded_with_quarantine', NULL, 'utf-8', 10)",
            [DAY, "c" * 64],
        )
        for row, column, reason in [
            (4, "loan_id", "duplicate key within the file (first at row 2)"),
            (6, "loan_id", "duplicate key within the file (first at row 3)"),
            (8, "loan_id", "duplicate key within the file (first at row 2)"),
            (5, None, "malformed record: 18 fields, header has 17"),
            (9, None, "malformed record: 16 fields, header has 17"),
        ]:
            con.execute(
                "INSERT INTO quarantine.rows VALUES ('L', ?, '2025-06-02/loans.csv', 'loans', ?, ?, NULL, ?, '{}')",
                [DAY, row, column, reason],
            )
        alerts.update(con, DAY, RUN)
    context = daily_context(settings, DAY, RUN)
    assert [(r["file_name"], r["reason"], r["row_count"]) for r in context["quarantine_reasons"]] == [
        ("loans", "duplicate key within the file", 3),
        ("loans", "malformed record: wrong number of fields", 2),
    ]
    # The rows themselves keep their full reason (which row each duplicates).
    assert {q["reason"] for q in context["quarantined"]} >= {"duplicate key within the file (first at row 3)"}
