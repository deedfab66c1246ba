"""Results a run carries from one business date to the next, snapshotted per run for reruns.

Some outputs of D depend on earlier dates' *results*, not only on their inputs: the
alert lifecycle (new / still open / resolved) reads earlier exceptions and alert days,
a period's filing reads the incremental indicator rows of the period's earlier days.
A rerun of D rebuilds only D, so it needs those results as they were when D was run.
Each run therefore archives its own date's partition of every carried table (Parquet,
content-addressed, recorded in the manifest under ``state``), and ``audit rerun``
restores, for every earlier date, the partition of that date's latest run sealed
before the run being reproduced.

Carried tables are found, not listed: every ``results.*`` table with a
``business_date`` column (``results.load_log`` excepted: ingest rebuilds it from the
archived loads) and every dbt model materialised ``incremental`` that has one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from regwatch.config import Settings
from regwatch.ledger.archive import Archive

_NOT_CARRIED = {"results.load_log"}


def _incremental_models(settings: Settings) -> set[str]:
    manifest = settings.dbt_target_dir / "manifest.json"
    if not manifest.is_file():
        return set()
    nodes = json.loads(manifest.read_text()).get("nodes", {})
    return {
        f"{node['schema']}.{node.get('alias') or node['name']}".lower()
        for node in nodes.values()
        if node.get("resource_type") == "model"
        and node.get("config", {}).get("materialized") == "incremental"
    }


def carried_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """``schema.table`` of every table whose per-date rows a later date's run may read."""
    rows = con.execute(
        "SELECT DISTINCT table_schema, table_name FROM information_schema.columns "
        "WHERE column_name = 'business_date' ORDER BY 1, 2"
    ).fetchall()
    incremental = _incremental_models(settings)
    tables = []
    for schema, table in rows:
        name = f"{schema}.{table}".lower()
        if name in _NOT_CARRIED:
            continue
        if schema == "results" or name in incremental:
            tables.append(name)
    return tables


def snapshot(
    con: duckdb.DuckDBPyConnection, settings: Settings, business_date: date, archive: Archive
) -> list[dict[str, Any]]:
    """Archive the date's rows of every carried table; what the manifest records under ``state``."""
    entries = []
    with tempfile.TemporaryDirectory(prefix="regwatch-state-") as folder:
        for table in carried_tables(con, settings):
            target = Path(folder) / f"{table}.parquet"
            count = con.execute(
                f"SELECT count(*) FROM {table} WHERE business_date = ?", [business_date]
            ).fetchone()
            con.execute(
                f"COPY (SELECT * FROM {table} WHERE business_date = DATE '{business_date.isoformat()}' "
                f"ORDER BY ALL) TO '{target}' (FORMAT parquet)"
            )
            entries.append(
                {"table": table, "rows": int(count[0]) if count else 0, "sha256": archive.put_file(target)}
            )
    return entries


def restore(con: duckdb.DuckDBPyConnection, archive: Archive, entries: Iterable[dict[str, Any]]) -> int:
    """Put archived partitions back (creating a table that dbt has not built yet); rows restored."""
    restored = 0
    with tempfile.TemporaryDirectory(prefix="regwatch-state-") as folder:
        for number, entry in enumerate(entries):
            table = str(entry["table"])
            schema, name = table.split(".", 1)
            path = Path(folder) / f"{number}.parquet"
            path.write_bytes(archive.get(str(entry["sha256"])))
            source = f"read_parquet('{path}')"
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchone()
            if exists and exists[0]:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {source}")
            else:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM {source}")
            restored += int(entry["rows"])
    return restored
