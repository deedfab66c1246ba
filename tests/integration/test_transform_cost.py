"""What a day's dbt build costs besides the SQL itself (issue 17: a demo day's transform).

A demo day's transform was dbt executing ~160 nodes, the time spread evenly across them:
per-node overhead, not data. The largest part was DuckDB itself: with ``keep_open: false``
dbt-duckdb closes the database whenever no node holds a cursor and opens it again for the
next node, so the warehouse file (its whole catalogue) was opened, and checkpointed on
close, once per node. The database now stays open for the whole ``dbt build`` and regwatch
closes it when dbt returns, so regwatch's own connections (other settings, read-only)
open it afterwards as before.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import duckdb
import pytest
from dbt.adapters.duckdb.environments import Environment
from dbt.adapters.duckdb.environments.local import DuckDBCursorWrapper

from regwatch import transform, warehouse
from regwatch.config import Settings
from tests.helpers import project_copy

pytestmark = pytest.mark.integration

D1 = date(2025, 6, 2)
#: A few nodes of every kind: a seed, a view on it, a table on the view, their data tests.
SELECTED = ("+int_working_days_counted",)


@contextmanager
def _model_edited(project: Settings, edit: Callable[[str], str]) -> Iterator[None]:
    """``int_working_days_counted.sql`` changed by ``edit`` inside the block, restored after it."""
    model = project.dbt_project_dir / "models" / "intermediate" / "calendar" / "int_working_days_counted.sql"
    original = model.read_text()
    model.write_text(edit(original))
    try:
        yield
    finally:
        model.write_text(original)


def _broken(sql: str) -> str:
    """The model reading a column that does not exist: its table cannot be built."""
    return sql.replace("select", "select no_such_column,", 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the project's content folders and an empty warehouse."""
    return project_copy(tmp_path_factory.mktemp("cost"))


def test_a_build_opens_the_warehouse_once_and_lets_go_of_it(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    initialize_db = Environment.initialize_db

    def counted(cls: type[Environment], creds: Any, plugins: Any = None) -> Any:
        opened.append(creds.path)
        return initialize_db(creds, plugins)

    monkeypatch.setattr(Environment, "initialize_db", classmethod(counted))
    result = transform.build(D1, project, select=SELECTED)
    assert result.models == 2 and result.tests >= 2, result
    # Was one open per node or so (7 with this selection): dbt-duckdb's keep_open: false.
    # The path relative to the warehouse's folder, where dbt runs (a copied var/ keeps dbt's parse).
    assert opened == [project.warehouse_path.name]
    # dbt let go of it: a connection with other settings (read-only) opens the file, which
    # DuckDB refuses while the same process holds it open with another configuration.
    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM intermediate.int_working_days_counted").fetchone()[0] > 0


def test_a_failed_build_lets_go_of_the_warehouse_too(project: Settings) -> None:
    """A model that fails (here: a table that cannot be built) still leaves the file closed."""
    with (
        _model_edited(project, _broken),
        pytest.raises(transform.TransformError, match="int_working_days_counted"),
    ):
        transform.build(D1, project, select=SELECTED)
    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_a_copied_platform_keeps_dbt_s_parse(project: Settings, tmp_path: Any) -> None:
    """A copy of a built ``var/`` (a test's private copy, a moved or restored platform) parses
    the project partially: the warehouse path and the spill folder reach dbt's profile relative
    to the warehouse's folder, so its saved parse's state check still holds. With absolute paths
    the copy re-parsed everything ("full: profile has changed"), about half of a small day's transform."""
    transform.build(D1, project, select=SELECTED)
    assert transform.build(D1, project, select=SELECTED).parse == "partial"
    copied = Settings(
        project_root=project.project_root,
        var_dir=tmp_path / "elsewhere" / "var",
        landing_dir=tmp_path / "landing",
    )
    shutil.copytree(project.var_dir, copied.var_dir)
    original = project.warehouse_path.stat().st_mtime_ns
    result = transform.build(D1, copied, select=SELECTED)
    assert result.parse == "partial", result.parse
    assert result.models == 2
    with duckdb.connect(str(copied.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM intermediate.int_working_days_counted").fetchone()[0] > 0
    # dbt built in the copy's warehouse, not the original's.
    assert project.warehouse_path.stat().st_mtime_ns == original


def test_a_fresh_var_starts_from_the_project_s_last_parse(project: Settings, tmp_path: Any) -> None:
    """A second ``var/`` of the same project in one process (the test suite's many fresh platforms)
    starts from the parse its last build saved, and dbt's checks decide it still holds: partial.
    It parsed the whole project (``full: saved manifest not found``); another project folder never
    reuses it (its nodes name their folder)."""
    transform.build(D1, project, select=SELECTED)
    fresh = Settings(
        project_root=project.project_root,
        var_dir=tmp_path / "fresh" / "var",
        landing_dir=tmp_path / "landing",
    )
    with warehouse.connect(fresh.warehouse_path):
        pass
    result = transform.build(D1, fresh, select=SELECTED)
    assert result.parse == "partial", result.parse
    assert result.models == 2
    with duckdb.connect(str(fresh.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM intermediate.int_working_days_counted").fetchone()[0] > 0
    assert (fresh.dbt_target_dir / "partial_parse.msgpack").is_file()


def _node_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement dbt-duckdb executes from now on (the list fills as dbt runs)."""
    statements: list[str] = []
    execute = DuckDBCursorWrapper.execute

    def recorded(self: DuckDBCursorWrapper, sql: str, bindings: Any = None) -> Any:
        statements.append(sql)
        return execute(self, sql, bindings)

    monkeypatch.setattr(DuckDBCursorWrapper, "execute", recorded)
    return statements


def test_a_table_model_is_replaced_in_one_statement_and_kept_when_its_build_fails(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's ``table`` materialization (macros/materializations/table.sql) drops the old table
    and creates the new one in one statement inside the model's transaction. dbt-duckdb's built
    the table aside, asked DuckDB for the old one's indexes, renamed old and new and dropped the
    backup: five statements and three adapter macro calls (a Jinja context each) per model.
    A model that fails still leaves the table it had, and the error in dbt.log."""
    transform.build(D1, project, select=SELECTED)
    table = "intermediate.int_working_days_counted"
    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    statements = _node_statements(monkeypatch)
    transform.build(D1, project, select=SELECTED)
    # dbt-duckdb's pre-model hook reads each schema's key constraints once per build (the first
    # model of the schema pays it); what is left is the materialization's own.
    node = [
        s
        for s in statements
        if '"node_id": "model.regwatch.int_working_days_counted"' in s
        and "from duckdb_constraints()" not in s
    ]
    # Was 5: create __dbt_tmp, duckdb_indexes(), rename, rename, drop __dbt_backup.
    assert len(node) == 1, [s[s.index("*/") + 2 :][:200] for s in node]
    assert "drop table if exists" in node[0] and "create" in node[0] and "__dbt_" not in node[0]

    log = project.var_dir / "dbt" / "logs" / "dbt.log"
    logged = log.stat().st_size
    with _model_edited(project, _broken), pytest.raises(transform.TransformError, match="no_such_column"):
        transform.build(D1, project, select=SELECTED)
    with duckdb.connect(str(project.warehouse_path), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows
        leftovers = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%__dbt_%'"
        ).fetchall()
    assert leftovers == []
    with log.open("rb") as lines:
        lines.seek(logged)
        assert b"no_such_column" in lines.read()


def test_the_manifest_is_written_once_per_changed_parse(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt wrote manifest.json twice per build (after its parse, and again after the build), ~10 % of
    a small day's build, though a day almost never changes the project. regwatch parses first and
    writes the manifest only when the parse changed; the build's run_results.json is written as before."""
    from dbt.contracts.graph.manifest import Manifest

    writes: list[str] = []
    write = Manifest.write

    def counted(self: Manifest, path: str) -> None:
        writes.append(path)
        write(self, path)

    monkeypatch.setattr(Manifest, "write", counted)
    transform.build(D1, project, select=SELECTED)
    writes.clear()
    run_results = project.dbt_target_dir / "run_results.json"
    run_results.unlink()
    transform.build(D1, project, select=SELECTED)
    assert writes == []  # was 2
    ran = {r["unique_id"] for r in json.loads(run_results.read_text())["results"]}
    assert "model.regwatch.int_working_days_counted" in ran

    with _model_edited(project, lambda sql: sql + "\n-- a changed model\n"):
        transform.build(D1, project, select=SELECTED)
    assert len(writes) == 1
    manifest = json.loads((project.dbt_target_dir / "manifest.json").read_text())
    assert "-- a changed model" in manifest["nodes"]["model.regwatch.int_working_days_counted"]["raw_code"]


def test_dbt_s_log_keeps_its_lines_without_formatting_every_event(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's own file log formatted every event, debug ones included, and scanned the environment for
    secrets in each, before its level dropped them (~7 % of a small day's build). regwatch writes
    dbt's info, warning and error lines to var/dbt/logs/dbt.log itself."""
    from dbt_common.events.logger import _TextLogger

    formatted: list[Any] = []
    monkeypatch.setattr(_TextLogger, "create_line", lambda self, msg: formatted.append(msg) or "")
    log = project.var_dir / "dbt" / "logs" / "dbt.log"
    logged = log.stat().st_size if log.exists() else 0
    transform.build(D1, project, select=SELECTED)
    assert formatted == []  # was every event of the build (thousands)
    with log.open("rb") as lines:
        lines.seek(logged)
        text = lines.read().decode()
    assert "START sql table model intermediate.int_working_days_counted" in text
    assert "OK created sql table model intermediate.int_working_days_counted" in text
    assert "[debug]" not in text and "[info ]" in text
