"""The warehouse is checked against the ledger head (issue 13, observation 5).

The ledger and the warehouse are fabricated here (manifests written as the ledger
names them, rows inserted as the steps write them), so every kind of drift is one
small edit: the warehouse deleted, recreated empty, truncated, restored from an old
backup. ``tests/e2e/test_rebuild.py`` reproduces the observation with real runs.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from regwatch import warehouse
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.ledger import consistency

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)


def _load(day: date) -> str:
    return f"{day:%Y%m%d}-{'a' * 12}"


def _run(day: date, tag: str = "1") -> str:
    return f"{day:%Y%m%d}-{tag * 12}"


def _seal(
    settings: Settings, sequence: int, day: date, run_id: str, loads: list[date], days: int = 3
) -> None:
    body = {
        "manifest_version": 2,
        "sequence": sequence,
        "run_id": run_id,
        "business_date": day.isoformat(),
        "loads": [
            {"business_date": d.isoformat(), "load_id": _load(d), "record_sha256": "0" * 64} for d in loads
        ],
        "state": [
            {"table": "results.alert_days", "rows": days, "sha256": "0" * 64},
            {"table": "results.run_log", "rows": 1, "sha256": "0" * 64},
        ],
    }
    settings.ledger_dir.mkdir(parents=True, exist_ok=True)
    (settings.ledger_dir / f"{sequence:06d}_{day.isoformat()}_{run_id}.json").write_text(json.dumps(body))


def _warehouse_of(settings: Settings, runs: dict[date, str], alert_rows: int = 3) -> None:
    """A warehouse as runs of ``runs`` leave it: their loads, run log, alert log and alert days."""
    with warehouse.connect(settings.warehouse_path) as con:
        for seq, (day, run_id) in enumerate(sorted(runs.items()), start=1):
            con.execute(
                "INSERT INTO raw.load_arrivals VALUES (?, ?, ?, ?, ?)", [seq, _load(day), day, "x", "0" * 64]
            )
            con.execute("INSERT INTO results.run_log VALUES (?, ?, 'cn', '1', 'p', 'c', 'i')", [run_id, day])
            con.execute("INSERT INTO results.alert_log VALUES (?, ?, NULL, 0, 0, 0, 0, 0, 0)", [day, run_id])
            for n in range(alert_rows):
                con.execute(
                    "INSERT INTO results.alert_days VALUES (?, ?, ?, 'r', 'aml', 'e', NULL, 'high', 'l', 'm', "
                    "'new', true, ?, ?, NULL, 0, 1, NULL, NULL, NULL, NULL, 'msg', '{}', 'event')",
                    [day, run_id, f"AL-{n}", day, day],
                )


@pytest.fixture
def sealed(settings: Settings) -> Settings:
    """Three sealed dates, and a warehouse that holds exactly them."""
    _seal(settings, 1, D1, _run(D1), [D1])
    _seal(settings, 2, D2, _run(D2), [D1, D2])
    _seal(settings, 3, D3, _run(D3), [D1, D2, D3])
    _warehouse_of(settings, {D1: _run(D1), D2: _run(D2), D3: _run(D3)})
    return settings


def test_a_warehouse_that_holds_what_the_ledger_sealed_passes(sealed: Settings) -> None:
    assert consistency.problems(sealed) == []
    consistency.require_consistent(sealed)


def test_no_ledger_no_check(settings: Settings) -> None:
    assert consistency.problems(settings) == []


def test_a_deleted_warehouse_is_refused(sealed: Settings) -> None:
    sealed.warehouse_path.unlink()
    with pytest.raises(consistency.WarehouseDriftError) as caught:
        consistency.require_consistent(sealed)
    text = str(caught.value)
    assert "warehouse.duckdb is missing, but the ledger holds 3 sealed runs" in text
    assert "000003_2025-06-04_" in text and "`regwatch rebuild`" in text


def test_a_recreated_warehouse_holding_only_the_next_day_is_refused(sealed: Settings) -> None:
    """What observation 5 saw: the warehouse recreated by a run of the next date alone."""
    sealed.warehouse_path.unlink()
    _warehouse_of(sealed, {date(2025, 6, 5): _run(date(2025, 6, 5))})
    found = consistency.problems(sealed)
    assert found[0] == (
        "it lacks 3 of the 3 loads the ledger head 000003_2025-06-04_20250604-111111111111.json names "
        "(first: load 20250602-aaaaaaaaaaaa of 2025-06-02)"
    )


def test_an_empty_warehouse_is_refused(sealed: Settings) -> None:
    sealed.warehouse_path.unlink()
    with warehouse.connect(sealed.warehouse_path):
        pass
    assert consistency.problems(sealed)[0].startswith(
        "it holds no load at all, but the ledger holds 3 sealed"
    )


def test_truncated_results_are_refused(sealed: Settings) -> None:
    with warehouse.connect(sealed.warehouse_path) as con:
        con.execute("DELETE FROM results.alert_log")
    assert consistency.problems(sealed)[0].startswith(
        "it holds no results of 3 of the 3 sealed business dates"
    )


def test_a_truncated_alert_snapshot_of_the_head_is_refused(sealed: Settings) -> None:
    with warehouse.connect(sealed.warehouse_path) as con:
        con.execute("DELETE FROM results.alert_days WHERE alert_key = 'AL-1'")
    assert consistency.problems(sealed) == [
        "results.alert_days holds 2 rows of 2025-06-04, the ledger head "
        "000003_2025-06-04_20250604-111111111111.json sealed 3 (truncated or edited)"
    ]


def test_an_old_backup_is_refused(settings: Settings) -> None:
    """A backup taken after day 2 and restored after day 3: day 3's load and results are missing."""
    _seal(settings, 1, D1, _run(D1), [D1])
    _seal(settings, 2, D2, _run(D2), [D1, D2])
    _warehouse_of(settings, {D1: _run(D1), D2: _run(D2)})
    _seal(settings, 3, D3, _run(D3), [D1, D2, D3])
    assert consistency.problems(settings)[0].startswith("it lacks 1 of the 3 loads")


def test_a_backup_older_than_a_rerun_is_refused(settings: Settings) -> None:
    """Day 2 was run again (new decisions: same loads, new run id); the backup holds the first run."""
    _seal(settings, 1, D1, _run(D1), [D1])
    _seal(settings, 2, D2, _run(D2), [D1, D2])
    _warehouse_of(settings, {D1: _run(D1), D2: _run(D2)})
    _seal(settings, 3, D2, _run(D2, "2"), [D1, D2])
    found = consistency.problems(settings)
    assert found == [
        "its results of 2025-06-03 are of run 20250603-111111111111, but the ledger's latest sealed run of "
        "2025-06-03 is 20250603-222222222222 (the warehouse is older than the ledger)"
    ]


def test_work_in_progress_ahead_of_the_ledger_passes(sealed: Settings) -> None:
    """A later date ingested, and the head date being run again (not sealed yet): ordinary work."""
    with warehouse.connect(sealed.warehouse_path) as con:
        con.execute(
            "INSERT INTO raw.load_arrivals VALUES (9, '20250605-bbbbbbbbbbbb', DATE '2025-06-05', 'x', 'y')"
        )
        con.execute(
            "UPDATE results.run_log SET run_id = '20250604-333333333333' WHERE business_date = ?", [D3]
        )
        con.execute(
            "UPDATE results.alert_log SET run_id = '20250604-333333333333' WHERE business_date = ?", [D3]
        )
        con.execute("DELETE FROM results.alert_days WHERE business_date = ?", [D3])
    assert consistency.problems(sealed) == []


def test_regwatch_run_refuses_a_lost_warehouse(sealed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Observation 5: today the run recreates the warehouse and computes from one day's files."""
    sealed.warehouse_path.unlink()
    monkeypatch.setenv("REGWATCH_VAR", str(sealed.var_dir))
    monkeypatch.setenv("REGWATCH_LANDING", str(sealed.landing_dir))
    result = CliRunner().invoke(main, ["run", "--business-date", "2025-06-05"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("regwatch: error: the warehouse does not match the ledger: ")
    assert "regwatch rebuild" in lines[0]
    assert not sealed.warehouse_path.exists()


def test_a_warehouse_held_by_another_program_is_named_not_called_drift(
    sealed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQL client holding the file: the run says so in one line (today: a raw DuckDB IOException)."""
    import subprocess
    import sys

    code = "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(60)"
    client = subprocess.Popen(
        [sys.executable, "-c", code, str(sealed.warehouse_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "open"
        monkeypatch.setenv("REGWATCH_VAR", str(sealed.var_dir))
        monkeypatch.setenv("REGWATCH_LANDING", str(sealed.landing_dir))
        result = CliRunner().invoke(main, ["run", "--business-date", "2025-06-05"])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert (
            len(lines) == 1 and "is open for writing in another process: close it and run again" in lines[0]
        )
        assert "rebuild" not in lines[0]
    finally:
        client.kill()
        client.wait()


def test_an_unreadable_warehouse_is_refused(sealed: Settings) -> None:
    sealed.warehouse_path.write_bytes(b"not a database" * 1000)
    found = consistency.problems(sealed)
    assert len(found) == 1 and "warehouse.duckdb cannot be opened (" in found[0]
    assert found[0].endswith(
        "but the ledger holds 3 sealed runs (head 000003_2025-06-04_20250604-111111111111.json)"
    )
