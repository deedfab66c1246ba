"""Two runs of the same landing on two engines give the same results (issue 19).

What ``make test-spark`` (tests/spark/test_spark_equals_duckdb.py) asserts and
``bench/platform_bench.py --engine both`` reports, from each run's ``var/`` folder: every
exception (rule, entity key, message, evidence), every alert table, every CSV and JSON report
byte for byte (the daily CSVs, the large-value report's CSV and JSON), the APRs bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

EXCEPTIONS_SQL = (
    "SELECT business_date, rule_id, severity, model, entity_key, message, evidence "
    "FROM results.exceptions ORDER BY ALL"
)
ALERT_TABLES = ("results.alerts", "results.alert_days", "results.customer_alerts")
APRS_SQL = (
    "SELECT loan_id, real_apr, real_apr_simple, real_apr_compound FROM marts.fct_loan_apr ORDER BY loan_id"
)
REPORT_SUFFIXES = frozenset({".csv", ".json"})


def rows(var: Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` over the run's warehouse, read-only."""
    con = duckdb.connect(str(var / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def alerts_sql(table: str) -> str:
    return f"SELECT * FROM {table} ORDER BY ALL"


def report_files(var: Path) -> list[Path]:
    """The run's CSV and JSON reports, relative to its ``reports/`` folder."""
    root = var / "reports"
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.suffix in REPORT_SUFFIXES and p.is_file())


def compare(first: Path, second: Path) -> dict[str, Any]:
    """What was compared between two runs' ``var/`` folders and what differed (empty: equal)."""
    differences: list[str] = []
    compared: dict[str, int] = {}
    queries = {"exceptions": EXCEPTIONS_SQL, "aprs": APRS_SQL} | {t: alerts_sql(t) for t in ALERT_TABLES}
    for what, sql in queries.items():
        a, b = rows(first, sql), rows(second, sql)
        compared[what] = len(a)
        if a != b:
            only_a, only_b = len(set(a) - set(b)), len(set(b) - set(a))
            differences.append(
                f"{what}: {len(a)} vs {len(b)} rows, {only_a} only in the first, {only_b} only in the second"
            )
    files = report_files(first)
    compared["report_files"] = len(files)
    compared["report_bytes"] = 0
    for name in files:
        twin = second / "reports" / name
        if not twin.is_file():
            differences.append(f"{name}: missing in the second run")
        elif twin.read_bytes() != (first / "reports" / name).read_bytes():
            differences.append(f"{name}: bytes differ")
        compared["report_bytes"] += (first / "reports" / name).stat().st_size
    extra = sorted(set(report_files(second)) - set(files))
    differences += [f"{name}: only in the second run" for name in extra]
    return {"equal": not differences, "compared": compared, "differences": differences}
