"""The only module that opens DuckDB.

DuckDB allows one writer per file: every step opens the warehouse, does its work
in a transaction and closes it again, so dbt and GX (which open their own
connections) never meet a held lock. A rerun of a business date replaces that
date's partition in one transaction: results never double.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from regwatch.contract import CONTRACTS

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_id", "VARCHAR NOT NULL"),
    ("_business_date", "DATE NOT NULL"),
    ("_source_file", "VARCHAR NOT NULL"),
    ("_row_number", "INTEGER NOT NULL"),
)

#: Tables regwatch itself writes (raw.* comes from the input contract).
_OWN_TABLES = {
    # Append-only register of deliveries: one row each time a business date's inputs
    # arrive with content that differs from the date's current load. The current load
    # of a date is its latest arrival; earlier loads stay in raw.* (nothing is deleted).
    "raw.load_arrivals": """
        arrival_seq BIGINT NOT NULL,
        load_id VARCHAR NOT NULL,
        business_date DATE NOT NULL,
        inputs_sha256 VARCHAR NOT NULL,
        record_sha256 VARCHAR NOT NULL
    """,
    "quarantine.rows": """
        _load_id VARCHAR NOT NULL,
        _business_date DATE NOT NULL,
        source_file VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        row_number INTEGER NOT NULL,
        column_name VARCHAR,
        value VARCHAR,
        reason VARCHAR NOT NULL,
        raw_record VARCHAR
    """,
    "results.load_log": """
        _load_id VARCHAR NOT NULL,
        business_date DATE NOT NULL,
        file_name VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        sha256 VARCHAR,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        notes VARCHAR
    """,
    "results.run_log": """
        run_id VARCHAR NOT NULL,
        business_date DATE NOT NULL,
        pack VARCHAR NOT NULL,
        pack_version VARCHAR NOT NULL,
        pack_sha256 VARCHAR NOT NULL,
        code_version VARCHAR NOT NULL,
        inputs_sha256 VARCHAR NOT NULL
    """,
    "results.exceptions": """
        run_id VARCHAR NOT NULL,
        business_date DATE NOT NULL,
        rule_id VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        legal_basis VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        entity_key VARCHAR NOT NULL,
        message VARCHAR NOT NULL,
        evidence VARCHAR NOT NULL
    """,
}


def raw_table_ddl(file_name: str) -> str:
    contract = CONTRACTS[file_name]
    columns = [f"{c.name} {c.sql_type}" for c in contract.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS raw.{file_name} ({', '.join(columns)})"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and tables regwatch writes, if they are not there yet."""
    for schema in ("raw", "quarantine", "results"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in CONTRACTS:
        con.execute(raw_table_ddl(name))
    for table, columns in _OWN_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating it and its schema when writing) and always close it."""
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run a business date first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit on success, roll back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def delete_partition(
    con: duckdb.DuckDBPyConnection, table: str, business_date: date, column: str = "business_date"
) -> None:
    """Remove one business date from a partitioned table (call inside a transaction)."""
    con.execute(f"DELETE FROM {table} WHERE {column} = ?", [business_date])
