"""Read-only commands during a run (issue 13, observation 7): they read the last sealed state.

A second process plays the run: it holds var/'s run lock and a DuckDB write connection
on the warehouse, as a step does. ``alerts list`` used to die on DuckDB's raw lock
error; now it answers from the snapshot the last seal wrote, says so in one line, and
never takes the writer's lock.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date

import duckdb
import pytest
from click.testing import CliRunner

from regwatch import warehouse
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.ledger import snapshot

D1, D2 = date(2025, 6, 2), date(2025, 6, 3)

_RUN = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path
    import duckdb
    from regwatch.ledger.runlock import hold
    var = Path(sys.argv[1])
    with hold(var, "regwatch run", [date(2025, 6, 3)]):
        con = duckdb.connect(str(var / "warehouse.duckdb"))
        con.execute("DELETE FROM results.alert_days")  # the run's work in progress, not sealed
        print("running", flush=True)
        time.sleep(60)
    """
)


def _alert(con: duckdb.DuckDBPyConnection, day: date, key: str, status: str) -> None:
    con.execute(
        "INSERT INTO results.alert_days VALUES (?, 'R', ?, 'cn.aml.large_cash', 'aml', 'C1|2025-06-02', 'C1', "
        "'high', 'l', 'm', ?, true, ?, ?, NULL, 0, 1, NULL, NULL, NULL, NULL, 'msg', '{}', 'event')",
        [day, key, status, day, day],
    )
    con.execute("INSERT INTO results.alert_log VALUES (?, 'R', NULL, 1, 0, 0, 0, 0, 0)", [day])


@pytest.fixture
def sealed(settings: Settings) -> Settings:
    with warehouse.connect(settings.warehouse_path) as con:
        _alert(con, D1, "AL-000000000001", "new")
    snapshot.write(settings, "000001_2025-06-02_R.json")
    return settings


@pytest.fixture
def running(sealed: Settings) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(sealed.var_dir)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "running"
    yield process
    process.kill()
    process.wait()


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("REGWATCH_VAR", str(settings.var_dir))
    monkeypatch.setenv("REGWATCH_LANDING", str(settings.landing_dir))


def test_alerts_list_during_a_run_answers_from_the_last_sealed_state(
    sealed: Settings, running: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, sealed)
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["alerts", "list"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 2.0
    assert "2025-06-02: 1 alert" in result.output and "AL-000000000001" in result.output
    assert (
        f"regwatch: note: a run is writing the warehouse (pid {running.pid} on " in result.output
        and "business date 2025-06-03" in result.output
        and "showing the last sealed state (as of 000001_2025-06-02_R.json)" in result.output
    )
    assert "Traceback" not in result.output and "IOException" not in result.output


def test_without_a_run_read_commands_read_the_warehouse(
    sealed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warehouse.connect(sealed.warehouse_path) as con:  # a date run after the last seal
        _alert(con, D2, "AL-000000000002", "new")
    _env(monkeypatch, sealed)
    result = CliRunner().invoke(main, ["alerts", "list"])
    assert result.exit_code == 0, result.output
    assert "2025-06-03: 1 alert" in result.output and "note:" not in result.output


def test_during_a_first_run_there_is_no_sealed_state_to_show(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warehouse.connect(settings.warehouse_path):
        pass
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(settings.var_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "running"
        _env(monkeypatch, settings)
        result = CliRunner().invoke(main, ["rules", "evaluate", "--truth", str(settings.var_dir)])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(
            "regwatch: error: a run is writing the warehouse (pid "
        )
        assert lines[0].endswith("run this again when it ends")
    finally:
        process.kill()
        process.wait()


def test_the_snapshot_holds_results_and_never_raw(sealed: Settings) -> None:
    with warehouse.connect(sealed.warehouse_path) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS reporting")
        con.execute("CREATE TABLE reporting.rpt_disclosure_indicators AS SELECT 1 AS value")
        con.execute("CREATE TABLE reporting.rpt_other AS SELECT 1 AS value")
    snapshot.write(sealed, "000002_2025-06-02_R.json")
    con = duckdb.connect(str(snapshot.path(sealed)), read_only=True)
    try:
        tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
    finally:
        con.close()
    assert "results.alert_days" in tables and "results.exceptions" in tables
    assert "reporting.rpt_disclosure_indicators" in tables and "reporting.rpt_other" not in tables
    assert not any(t.startswith(("raw.", "quarantine.")) for t in tables)
    assert snapshot.sealed_head(sealed) == "000002_2025-06-02_R.json"
