"""Great Expectations on DuckDB: the two workarounds, in one place (as GX keeps its own shims
under ``great_expectations/compatibility/``).

GX 1.24 has no native DuckDB engine: it runs through SQLAlchemy and duckdb-engine, where it
returns empty results unless it keeps one persisted connection (:func:`enable_gx_duckdb`), and
reflects every table through a slow emulated ``pg_catalog`` (:func:`speed_up_duckdb_reflection`).
``tests/unit/test_gx_duckdb_fix.py`` fails when GX's behaviour changes, so each is removed as
soon as it is no longer needed (upstream: GX issues #10738 and #11579, native engine PR #12084).
"""

from __future__ import annotations

from typing import Any


class _DuckDBDialect(str):
    """Looks like GX's dialect enum members (a str with ``.value``) for the name "duckdb"."""

    @property
    def value(self) -> str:
        return str(self)


def enable_gx_duckdb() -> None:
    """Make GX keep one persisted SQLAlchemy connection for DuckDB, as it does for SQLite.

    Without it GX closes its pooled connection before fetching, duckdb-engine's cursor
    shares that connection, and every expectation fails with an empty result
    ("list index out of range"). Upstream: great_expectations issues #10738 and #11579,
    native DuckDB engine PR #12084. ``tests/unit/test_gx_duckdb_fix.py`` fails when GX's
    behaviour changes, so this is removed as soon as it is no longer needed.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    if "duckdb" not in engine._PERSISTED_CONNECTION_DIALECTS:
        engine._PERSISTED_CONNECTION_DIALECTS = (  # type: ignore[assignment]
            *engine._PERSISTED_CONNECTION_DIALECTS,
            _DuckDBDialect("duckdb"),
        )


#: Column reflection for GX's table metadata on DuckDB: one small catalog query per schema.
_DUCKDB_COLUMNS_SQL = """
SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS format_type,
       a.attnotnull AS not_null, c.relname AS table_name
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND a.attnum > 0
ORDER BY c.relname, a.attnum
"""
_DUCKDB_PRIMARY_KEYS_SQL = """
SELECT table_name, constraint_column_names FROM duckdb_constraints()
WHERE schema_name = :schema AND constraint_type = 'PRIMARY KEY'
"""


def speed_up_duckdb_reflection(dialect: Any) -> None:
    """Give one duckdb-engine dialect instance a cheap ``get_columns`` and ``get_pk_constraint``.

    GX reflects every batch's table (names and types, for ``table.columns``) through
    SQLAlchemy's PostgreSQL reflection, which duckdb-engine runs against DuckDB's
    emulated ``pg_catalog``: one query with correlated sub-selects for defaults,
    comments, collations and identity (50-150 ms per table), and a primary-key query
    DuckDB cannot run (``REGCLASS``), raised and caught on every batch. This asks the
    same catalog for name, type and nullability only, and reads primary keys from
    ``duckdb_constraints()``; the types go through the dialect's own parser
    (``_get_columns_info``), so GX sees the same columns and types.
    ``tests/unit/test_gx_duckdb_fix.py`` checks both against duckdb-engine's reflection.

    Each schema is read once, for all its tables, and kept for the life of the dialect
    instance, i.e. one ``run_rules`` call (GX itself reflects again for every batch, in
    case a table changed in between). That is safe here: ``run_rules`` holds the
    warehouse's read-write connection, so no other process can open the file meanwhile,
    and it writes nothing while validating. Only the dialect instance of GX's engine is
    changed; defaults and comments are not reflected (GX reads neither).
    """
    import sqlalchemy as sa

    columns_of: dict[str | None, dict[tuple[str | None, str], Any]] = {}
    primary_keys_of: dict[str | None, dict[str, list[str]]] = {}

    def _schema_columns(connection: Any, schema: str | None) -> dict[tuple[str | None, str], Any]:
        if schema not in columns_of:
            rows = [
                {
                    **r,
                    "default": None,
                    "comment": None,
                    "generated": None,
                    "identity_options": None,
                    "collation": None,
                }
                for r in connection.execute(
                    sa.text(_DUCKDB_COLUMNS_SQL), {"schema": schema or "main"}
                ).mappings()
            ]
            enums = {
                ((e["name"],) if e["visible"] else (e["schema"], e["name"])): e
                for e in dialect._load_enums(connection, schema="*")
            }
            columns_of[schema] = dict(dialect._get_columns_info(rows, {}, enums, schema))
        return columns_of[schema]

    def get_columns(connection: Any, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        columns = _schema_columns(connection, schema).get((schema, table_name))
        if not columns:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return [dict(column) for column in columns]  # callers may change what they get

    def get_pk_constraint(connection: Any, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        if schema not in primary_keys_of:
            result = connection.execute(sa.text(_DUCKDB_PRIMARY_KEYS_SQL), {"schema": schema or "main"})
            primary_keys_of[schema] = {str(r[0]): list(r[1]) for r in result}
        return {"constrained_columns": list(primary_keys_of[schema].get(table_name, [])), "name": None}

    dialect.get_columns = get_columns
    dialect.get_pk_constraint = get_pk_constraint
