"""The only module that opens DuckDB.

DuckDB allows one writer per file: every step opens the warehouse, does its work
in a transaction and closes it again, so dbt and GX (which open their own
connections) never meet a held lock. A rerun of a business date replaces that
date's partition in one transaction: results never double.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from regwatch.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from regwatch.contract import CONTRACTS

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_id", "VARCHAR NOT NULL"),
    ("_business_date", "DATE NOT NULL"),
    ("_source_file", "VARCHAR NOT NULL"),
    ("_row_number", "INTEGER NOT NULL"),
)

# An alert's identity, the same in its daily snapshot (alert_days) and its latest state (alerts).
_ALERT_IDENTITY = """\
        alert_key VARCHAR NOT NULL,
        rule_id VARCHAR NOT NULL,
        domain VARCHAR NOT NULL,
        entity_key VARCHAR NOT NULL,
        customer_id VARCHAR,
        severity VARCHAR NOT NULL,
"""
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
    # Optional values of a screening list's loaded entries that broke the contract and were
    # nulled so the entry is still screened (the row itself is loaded, not quarantined).
    "quarantine.nulled_values": """
        _load_id VARCHAR NOT NULL,
        _business_date DATE NOT NULL,
        source_file VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        row_number INTEGER NOT NULL,
        column_name VARCHAR NOT NULL,
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
        notes VARCHAR,
        status VARCHAR NOT NULL,
        reason VARCHAR,
        encoding VARCHAR NOT NULL,
        physical_lines BIGINT NOT NULL
    """,
    # The delivery verdict of each date's current load (regwatch.ingest.delivery): one row per file.
    "results.delivery_log": """
        business_date DATE NOT NULL,
        run_id VARCHAR NOT NULL,
        load_id VARCHAR,
        verdict VARCHAR NOT NULL,
        accepted_reason VARCHAR,
        file_name VARCHAR NOT NULL,
        source_file VARCHAR,
        status VARCHAR NOT NULL,
        required BOOLEAN NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        blocking BOOLEAN NOT NULL,
        reason VARCHAR
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
    # The analysts' decisions file as read for each date (regwatch.alerts), invalid rows included.
    "results.dispositions": """
        business_date DATE NOT NULL,
        row_number INTEGER NOT NULL,
        alert_key VARCHAR,
        decision VARCHAR,
        decided_on DATE,
        until DATE,
        analyst VARCHAR,
        note VARCHAR,
        problem VARCHAR,
        raw_record VARCHAR NOT NULL
    """,
    "results.disposition_log": """
        business_date DATE NOT NULL,
        source_file VARCHAR NOT NULL,
        file_exists BOOLEAN NOT NULL,
        sha256 VARCHAR NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_invalid BIGINT NOT NULL,
        file_sha256 VARCHAR NOT NULL
    """,
    # Each date's alert snapshot: every alert firing on D, plus those resolved on D.
    "results.alert_days": f"""
        business_date DATE NOT NULL,
        run_id VARCHAR NOT NULL,
{_ALERT_IDENTITY}        legal_basis VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        is_firing BOOLEAN NOT NULL,
        first_seen DATE NOT NULL,
        last_seen DATE NOT NULL,
        open_since DATE,
        days_open INTEGER NOT NULL,
        days_seen INTEGER NOT NULL,
        previous_status VARCHAR,
        decision VARCHAR,
        decision_until DATE,
        decided_by VARCHAR,
        message VARCHAR NOT NULL,
        evidence VARCHAR NOT NULL,
        kind VARCHAR
    """,
    # That the alert step ran for a date's run, with its counts (the report checks it).
    "results.alert_log": """
        business_date DATE NOT NULL,
        run_id VARCHAR NOT NULL,
        previous_date DATE,
        new_alerts INTEGER NOT NULL,
        open_alerts INTEGER NOT NULL,
        resolved_alerts INTEGER NOT NULL,
        suppressed_alerts INTEGER NOT NULL,
        returned_alerts INTEGER NOT NULL,
        customer_alerts INTEGER NOT NULL
    """,
    # One row per alert ever seen (rule id + entity): its latest state.
    "results.alerts": f"""
{_ALERT_IDENTITY}        status VARCHAR NOT NULL,
        first_seen DATE NOT NULL,
        last_seen DATE NOT NULL,
        status_date DATE NOT NULL,
        resolved_on DATE,
        decision VARCHAR,
        decision_until DATE
    """,
    # One AML alert per customer and day, gathering every AML rule the customer tripped.
    "results.customer_alerts": """
        business_date DATE NOT NULL,
        run_id VARCHAR NOT NULL,
        customer_alert_key VARCHAR NOT NULL,
        customer_id VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        rule_count INTEGER NOT NULL,
        alert_count INTEGER NOT NULL,
        rule_ids VARCHAR NOT NULL,
        alert_keys VARCHAR NOT NULL,
        new_alerts INTEGER NOT NULL,
        suppressed_alerts INTEGER NOT NULL,
        previous_alert_date DATE,
        earlier_alert_days INTEGER NOT NULL
    """,
}


#: (table, column definition) added to a released table; ensure_schema adds them to an older warehouse.
_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    # the alert's kind (condition / event, regwatch.alerts), NULL on rows made before it existed
    ("results.alert_days", "kind VARCHAR"),
)


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
    # Columns added after a table was first released: a warehouse made before gets them (empty).
    for table, column in _ADDED_COLUMNS:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")


class NoWarehouseError(FileNotFoundError):
    """A read-only command found no warehouse at all: no business date has been run (exit 2)."""


def duckdb_config(path: Path, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT) -> dict[str, str]:
    """The DuckDB settings of every connection to the warehouse at ``path``: the one place they are set.

    Unbounded, DuckDB takes 80 % of the machine's memory and a platform-scale day grew to
    16 GiB; with ``memory_limit`` it spills to ``temp_directory`` instead (``duckdb_tmp/``
    beside the warehouse, under ``var/``). Every connection regwatch opens (:func:`connect`,
    GX's engine in :mod:`regwatch.validate`) and dbt's (``profiles.yml``, given these
    values by :mod:`regwatch.transform`) use the same values: DuckDB refuses a second
    connection to an open file with other settings. ``memory_limit`` is the setting
    ``Settings.duckdb_memory_limit`` (``REGWATCH_DUCKDB_MEMORY_LIMIT``).
    """
    return {"memory_limit": memory_limit, "temp_directory": str(path.parent / "duckdb_tmp")}


@contextmanager
def connect(
    path: Path, read_only: bool = False, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating it and its schema when writing) and always close it."""
    if read_only and not path.exists():
        raise NoWarehouseError(
            f"no warehouse at {path}: run a business date first (regwatch run --business-date D)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {**duckdb_config(path, memory_limit)}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        if not read_only:
            with transaction(con):  # one commit: a new warehouse's ~25 statements cost a third less
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


#: The schema of the dbt seeds (``dbt_project.yml``) and of the record of what built them.
SEED_SCHEMA = "reference"


def built_seed_hashes(path: Path, seeds: Iterable[str]) -> dict[str, str]:
    """The recorded sha256 of each of ``seeds`` whose table exists (:mod:`regwatch.transform`)."""
    with connect(path, read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [SEED_SCHEMA]
            ).fetchall()
        }
        if "seed_hashes" not in tables:
            return {}
        recorded = dict(con.execute(f"SELECT seed_name, sha256 FROM {SEED_SCHEMA}.seed_hashes").fetchall())
    return {name: recorded[name] for name in seeds if name in tables and name in recorded}


def relations_exist(path: Path, relations: Iterable[tuple[str, str]]) -> bool:
    """Whether every (schema, name) is a table or view in the warehouse (:mod:`regwatch.transform`)."""
    with connect(path, read_only=True) as con:
        present = set(
            con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        )
    return all(relation in present for relation in relations)


def record_seed_hashes(path: Path, hashes: dict[str, str]) -> None:
    """Record the sha256 of the seeds a dbt build has just loaded (replacing the earlier record)."""
    with connect(path) as con, transaction(con):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SEED_SCHEMA}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {SEED_SCHEMA}.seed_hashes (seed_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL)"
        )
        con.execute(f"DELETE FROM {SEED_SCHEMA}.seed_hashes")
        con.executemany(f"INSERT INTO {SEED_SCHEMA}.seed_hashes VALUES (?, ?)", sorted(hashes.items()))


#: The record of the last dbt build a day's incremental build continues from (regwatch.transform).
BUILD_STATE_TABLE = "staging.incremental_build_state"


def raw_fingerprint(con: duckdb.DuckDBPyConnection, through: date) -> str:
    """sha256 of what the raw layer holds for the business dates up to ``through``.

    Every arrival of a load of those dates (a restated date is a new arrival) and the
    number of rows of each raw table up to that date (rows put into raw.* by hand, as
    test fixtures do, carry no arrival). Equal fingerprints mean those dates are as a
    build up to ``through`` saw them.
    """
    digest = hashlib.sha256()
    arrivals = con.execute(
        "SELECT arrival_seq, load_id, business_date FROM raw.load_arrivals"
        " WHERE business_date <= ? ORDER BY arrival_seq",
        [through],
    ).fetchall()
    digest.update(repr(arrivals).encode())
    for name in sorted(CONTRACTS):
        row = con.execute(f"SELECT count(*) FROM raw.{name} WHERE _business_date <= ?", [through]).fetchone()
        digest.update(f"{name}:{row[0] if row else 0}".encode())
    return digest.hexdigest()


def built_state(path: Path) -> tuple[date, str, str] | None:
    """(business date, project fingerprint, raw fingerprint) of the last complete build, or None."""
    if not path.exists():
        return None
    schema, table = BUILD_STATE_TABLE.split(".")
    with connect(path, read_only=True) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = con.execute(
            f"SELECT business_date, project_sha256, raw_sha256 FROM {BUILD_STATE_TABLE}"
        ).fetchone()
    return (row[0], str(row[1]), str(row[2])) if row else None


def read_raw_fingerprint(path: Path, through: date) -> str:
    """:func:`raw_fingerprint` of the warehouse at ``path``, opened read-only."""
    with connect(path, read_only=True) as con:
        return raw_fingerprint(con, through)


def _drop_dbt_leftovers(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the ``<model>__dbt_tmp<timestamp>`` tables a dbt build left behind.

    dbt-duckdb's incremental materialization builds a Python model's new rows as such a
    table in ``main`` and never drops it (a SQL model's is a temporary table): one table a
    model a day, kept by the warehouse for good. Each build clears them before it starts
    (a failed build's too) and after it completes (test_incremental_builds).
    """
    leftovers = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()"
        " WHERE database_name = current_database() AND NOT temporary"
        " AND contains(table_name, '__dbt_tmp')"
    ).fetchall()
    for schema, table in leftovers:
        con.execute(f'DROP TABLE "{schema}"."{table}"')


def record_build_state(path: Path, business_date: date | None, project_sha256: str = "") -> None:
    """Record the build just completed as of ``business_date`` (None: forget any record, before a build)."""
    with connect(path) as con, transaction(con):
        _drop_dbt_leftovers(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {BUILD_STATE_TABLE.split('.')[0]}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {BUILD_STATE_TABLE} (business_date DATE NOT NULL,"
            " project_sha256 VARCHAR NOT NULL, raw_sha256 VARCHAR NOT NULL)"
        )
        con.execute(f"DELETE FROM {BUILD_STATE_TABLE}")
        if business_date is not None:
            con.execute(
                f"INSERT INTO {BUILD_STATE_TABLE} VALUES (?, ?, ?)",
                [business_date, project_sha256, raw_fingerprint(con, business_date)],
            )
