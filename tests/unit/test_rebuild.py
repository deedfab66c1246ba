"""``regwatch rebuild`` without the pipeline: what it refuses, and the atomic swap.

The replay itself (three sealed days rebuilt and proven) is ``tests/e2e/test_rebuild.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from regwatch import rebuild
from regwatch.cli import main
from regwatch.config import Settings


def test_an_empty_ledger_has_nothing_to_rebuild_from(settings: Settings) -> None:
    with pytest.raises(rebuild.RebuildError, match="is empty: there is nothing to rebuild from"):
        rebuild.rebuild(settings)


def test_a_ledger_from_before_the_archive_cannot_be_replayed(settings: Settings) -> None:
    settings.ledger_dir.mkdir(parents=True)
    (settings.ledger_dir / "000001_2025-06-02_20250602-aaaaaaaaaaaa.json").write_text(
        json.dumps({"manifest_version": 1, "sequence": 1, "run_id": "20250602-aaaaaaaaaaaa"})
    )
    with pytest.raises(rebuild.RebuildError, match="predates the archive"):
        rebuild.rebuild(settings)


def test_the_swap_keeps_the_previous_file_and_its_wal(tmp_path: Path) -> None:
    target, built = tmp_path / "warehouse.duckdb", tmp_path / "work" / "warehouse.duckdb"
    built.parent.mkdir()
    for path, value in ((target, 1), (built, 2)):
        con = duckdb.connect(str(path))
        con.execute(f"CREATE TABLE t AS SELECT {value} AS v")
        con.close()
    (tmp_path / "warehouse.duckdb.wal").write_bytes(b"left by a crashed writer")
    kept = rebuild._swap(built, target)
    assert kept is not None and kept.name.startswith("warehouse.duckdb.replaced-")
    assert not built.exists() and not (tmp_path / "warehouse.duckdb.wal").exists()
    assert kept.with_name(kept.name + ".wal").read_bytes() == b"left by a crashed writer"
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SELECT v FROM t").fetchone() == (2,)
    con.close()
    fresh = tmp_path / "work" / "fresh.duckdb"
    fresh.write_bytes(b"")
    assert rebuild._swap(fresh, tmp_path / "lost.duckdb") is None  # nothing to keep
    assert (tmp_path / "lost.duckdb").exists() and not fresh.exists()


def test_rebuild_command_fails_in_one_line(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGWATCH_VAR", str(settings.var_dir))
    result = CliRunner().invoke(main, ["rebuild"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("regwatch: error: the ledger at ") and "nothing to rebuild from" in lines[-1]
