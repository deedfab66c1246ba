"""Guard for the GX-on-DuckDB fix: fails when GX stops needing it, or when it stops working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

_PROBE = """
import sys
import great_expectations as gx
from regwatch._gx_duckdb import enable_gx_duckdb
if sys.argv[2] == "fixed":
    enable_gx_duckdb()
context = gx.get_context(mode="ephemeral")
source = context.data_sources.add_sql(name="w", connection_string="duckdb:///" + sys.argv[1])
batch = source.add_table_asset(name="t", table_name="t").add_batch_definition_whole_table("b").get_batch()
result = batch.validate(gx.expectations.ExpectColumnValuesToBeBetween(column="amount", max_value=100))
print(result.success, result.result.get("unexpected_count"), bool(result.exception_info.get("raised_exception")))
"""


def _probe(path: Path, mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gx") / "t.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT i AS amount FROM range(0, 1000) r(i)")
    raw = con.execute("SELECT count(*) FROM t WHERE amount > 100").fetchone()
    con.close()
    assert raw == (899,)
    return path


def test_without_the_fix_gx_is_still_broken_on_duckdb(table: Path) -> None:
    # If this fails, GX fixed DuckDB upstream: remove regwatch._gx_duckdb.enable_gx_duckdb.
    assert _probe(table, "plain") != "False 899 False"


def test_with_the_fix_gx_counts_what_sql_counts(table: Path) -> None:
    assert _probe(table, "fixed") == "False 899 False"


@pytest.fixture(scope="module")
def typed_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gx") / "typed.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TYPE mood AS ENUM ('low', 'high')")
    con.execute(
        "CREATE TABLE marts.typed (id VARCHAR PRIMARY KEY, day DATE NOT NULL, n INTEGER, big BIGINT,"
        " amount DECIMAL(18, 2), rate DECIMAL(12, 8), ratio DOUBLE, flag BOOLEAN, seen_at TIMESTAMP,"
        " seen_at_tz TIMESTAMPTZ, tags VARCHAR[], m mood)"
    )
    con.execute("CREATE TABLE marts.keyless AS SELECT 1 AS a, 'x' AS b")
    con.close()
    return path


def test_fast_reflection_gives_gx_the_columns_duckdb_engine_reflects(typed_tables: Path) -> None:
    import sqlalchemy as sa

    from regwatch._gx_duckdb import speed_up_duckdb_reflection

    stock, fast = (sa.create_engine(f"duckdb:///{typed_tables}") for _ in range(2))
    speed_up_duckdb_reflection(fast.dialect)
    try:
        for table in ("typed", "keyless"):
            expected, got = (
                [
                    (c["name"], repr(c["type"]), c["nullable"], c["default"], c["autoincrement"])
                    for c in sa.inspect(engine).get_columns(table, schema="marts")
                ]
                for engine in (stock, fast)
            )
            assert got == expected
        # duckdb-engine's own primary-key query fails on DuckDB (REGCLASS); GX swallows that.
        assert sa.inspect(fast).get_pk_constraint("typed", schema="marts")["constrained_columns"] == ["id"]
        assert sa.inspect(fast).get_pk_constraint("keyless", schema="marts")["constrained_columns"] == []
        with pytest.raises(sa.exc.NoSuchTableError):
            sa.inspect(fast).get_columns("missing", schema="marts")
    finally:
        stock.dispose()
        fast.dispose()
