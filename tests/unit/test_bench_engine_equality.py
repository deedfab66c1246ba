"""bench/engine_equality.py: what make test-spark and ``platform_bench --engine both`` compare."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench import engine_equality


def _run(var: Path, message: str = "over the cap", report: bytes = b"rule,entity\nR1,L1\n") -> Path:
    var.mkdir()
    con = duckdb.connect(str(var / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA results")
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE results.exceptions AS SELECT DATE '2025-06-02' AS business_date, 'R1' AS rule_id, "
        f"'high' AS severity, 'fct_loans' AS model, 'L1' AS entity_key, '{message}' AS message, "
        "'{}' AS evidence"
    )
    for table in engine_equality.ALERT_TABLES:
        con.execute(f"CREATE TABLE {table} AS SELECT 'A1' AS alert_id, 1 AS days")
    con.execute(
        "CREATE TABLE marts.fct_loan_apr AS SELECT 'L1' AS loan_id, 0.1 AS real_apr, "
        "0.1 AS real_apr_simple, 0.105 AS real_apr_compound"
    )
    con.close()
    (var / "reports" / "2025-06-02").mkdir(parents=True)
    (var / "reports" / "2025-06-02" / "daily_exceptions.csv").write_bytes(report)
    (var / "reports" / "2025-06-02" / "daily.pdf").write_bytes(b"%PDF not compared")
    return var


def test_two_equal_runs_are_equal_and_what_was_compared_is_counted(tmp_path: Path) -> None:
    verdict = engine_equality.compare(_run(tmp_path / "a"), _run(tmp_path / "b"))
    assert verdict["equal"] and verdict["differences"] == []
    compared = verdict["compared"]
    assert compared["exceptions"] == 1 and compared["aprs"] == 1 and compared["report_files"] == 1
    assert all(compared[t] == 1 for t in engine_equality.ALERT_TABLES)


def test_a_different_exception_a_different_byte_and_an_extra_report_are_each_reported(tmp_path: Path) -> None:
    second = _run(tmp_path / "b", message="over the  cap", report=b"rule,entity\nR1,L2\n")
    (second / "reports" / "2025-06-02" / "lvt.json").write_text("{}")
    verdict = engine_equality.compare(_run(tmp_path / "a"), second)
    assert not verdict["equal"]
    assert verdict["differences"] == [
        "exceptions: 1 vs 1 rows, 1 only in the first, 1 only in the second",
        "2025-06-02/daily_exceptions.csv: bytes differ",
        "2025-06-02/lvt.json: only in the second run",
    ]


def test_the_bench_table_puts_the_engines_side_by_side() -> None:
    from bench import platform_bench

    def step(wall: float, cpu: float, rss: float, load: float) -> dict[str, object]:
        return {
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "peak_rss_mib": rss,
            "load_average": {"start": [load]},
        }

    compared = {"exceptions": 819, "aprs": 12132, "report_files": 4, "report_bytes": 1000}
    compared |= dict.fromkeys(engine_equality.ALERT_TABLES, 3)
    day = {
        "engine": "duckdb",
        "engines": {
            "duckdb": {"steps": {"ingest": step(10, 8, 1024, 5.0)}},
            "spark": {"steps": {"ingest": step(12, 9, 2048, 6.0), "transform": step(900, 1500, 6144, 7.0)}},
        },
        "equality": {"spark": {"equal": True, "compared": compared, "differences": []}},
    }
    lines = platform_bench.engines_table(day)
    assert lines[2] == "| ingest | 10.0 | 8.0 | 1.00 GiB | 12.0 | 9.0 | 2.00 GiB | 5.0 / 6.0 |"
    assert lines[3] == "| transform | not run | | | 900.0 | 1500.0 | 6.00 GiB | 7.0 |"
    assert (
        lines[4]
        == "| **all steps** | **10** | **8.0** | **1.00 GiB** | **912** | **1509.0** | **6.00 GiB** | |"
    )
    assert lines[-1].startswith("Equal (duckdb vs spark): yes (819 exceptions")
