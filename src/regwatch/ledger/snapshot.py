"""The last sealed state, for read-only commands while a run writes the warehouse.

DuckDB lets no other process open a file a writer has open, so during the nightly
batch ``alerts list`` used to die on a raw lock error. Each seal (the last step of a
run, and ``regwatch rebuild``) therefore copies what the read-only commands read
into ``var/snapshot/sealed.duckdb``: every ``results.*`` table (alerts, exceptions,
run log: thousands of rows a day even for a 10M-transaction platform; never
``raw.*``) and the filing's ``reporting.rpt_disclosure_indicators``. The copy is
written aside and renamed into place, so a reader sees the previous seal's state or
this one's, never half of one.

Read-only commands pass :func:`regwatch.ledger.runlock.reading`: with no writer at work they
read the warehouse itself (and a writer waits for them at the gate); while a writer
holds it they read this snapshot, and say so on stderr in one line.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from regwatch.config import Settings

#: Tables outside ``results.*`` that read-only commands read.
EXTRA_TABLES = ("reporting.rpt_disclosure_indicators",)


class SnapshotError(RuntimeError):
    """A writer holds the warehouse and no sealed state has been saved yet."""


def path(settings: Settings) -> Path:
    return settings.var_dir / "snapshot" / "sealed.duckdb"


def _quoted(value: Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def write(
    settings: Settings,
    sealed_head: str,
    business_date: date | None = None,
    previous_head: str | None = None,
) -> Path:
    """Copy ``results.*`` (and :data:`EXTRA_TABLES`) of the warehouse into the snapshot file.

    A seal of ``business_date`` that follows the seal the snapshot was written at
    (``previous_head``, the ledger head before this seal) copies only that date's partition
    of each table with a ``business_date`` column, and the other tables whole (the current
    alerts): the earlier dates' partitions are the ones their own seals copied, and a run
    changes only its own date's. Each seal used to copy every date's rows again, so its
    cost grew with the history. Anything else (no snapshot yet, one written at another
    head, a table whose columns changed, ``regwatch rebuild``) copies everything.
    """
    import duckdb

    target = path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".sealed-{os.getpid()}.duckdb")
    temp.unlink(missing_ok=True)
    temp.with_name(temp.name + ".wal").unlink(missing_ok=True)
    incremental = (
        business_date is not None
        and previous_head is not None
        and target.is_file()
        and sealed_head_of(target) == previous_head
    )
    if incremental:
        shutil.copyfile(target, temp)
    con = duckdb.connect(str(temp))
    try:
        con.execute(f"ATTACH {_quoted(settings.warehouse_path)} AS wh (READ_ONLY)")
        kept = _columns(con, "wh")  # the tables to snapshot, ordered by schema and name
        held = _columns(con, _catalog(con)) if incremental else {}
        for schema, name in sorted(set(held) - set(kept)):  # gone from the warehouse
            con.execute(f'DROP TABLE "{schema}"."{name}"')
        for schema, table in kept:
            source = f'wh."{schema}"."{table}"'
            columns = kept[schema, table]
            partitioned = any(column == "business_date" for column, _ in columns)
            if incremental and partitioned and held.get((schema, table)) == columns:
                day = f"DATE '{business_date}'"
                con.execute(f'DELETE FROM "{schema}"."{table}" WHERE business_date = {day}')
                con.execute(
                    f'INSERT INTO "{schema}"."{table}" SELECT * FROM {source} WHERE business_date = {day}'
                )
                continue
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM {source}')
        con.execute("DROP TABLE IF EXISTS main.snapshot_info")
        con.execute(
            "CREATE TABLE main.snapshot_info AS SELECT ? AS sealed_head, ? AS written_at",
            [sealed_head, datetime.now(UTC).isoformat(timespec="seconds")],
        )
        con.execute("DETACH wh")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(temp, target)
    return target


def _catalog(con: Any) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    return str(row[0]) if row else "memory"


def _columns(con: Any, catalog: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each snapshotted table of ``catalog`` with its columns (name, type) in order."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, kind in con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND (table_schema = 'results' OR table_schema || '.' || table_name IN "
        f"({', '.join(repr(t) for t in EXTRA_TABLES)})) ORDER BY table_schema, table_name, ordinal_position",
        [catalog],
    ).fetchall():
        found.setdefault((schema, table), []).append((column, kind))
    return found


def sealed_head_of(snapshot_file: Path) -> str | None:
    """The manifest a snapshot file was written at (None when unreadable)."""
    import duckdb

    try:
        return _head(snapshot_file)
    except duckdb.Error:
        return None


def _head(snapshot_file: Path) -> str | None:
    import duckdb

    con = duckdb.connect(str(snapshot_file), read_only=True)
    try:
        row = con.execute("SELECT sealed_head FROM main.snapshot_info").fetchone()
    finally:
        con.close()
    return str(row[0]) if row else None


def sealed_head(settings: Settings) -> str | None:
    """The manifest the snapshot was written at (None without a snapshot)."""
    return _head(path(settings)) if path(settings).is_file() else None


def for_reading(settings: Settings) -> tuple[Settings, str]:
    """Settings that read the snapshot instead of the warehouse, and the note to show the reader."""
    from regwatch.ledger.runlock import current_holder

    holder = current_holder(settings.var_dir)
    who = f" ({holder.describe()})" if holder is not None else ""
    if not path(settings).is_file():
        raise SnapshotError(
            f"a run is writing the warehouse{who} and no sealed state has been saved yet "
            f"({path(settings)}): run this again when it ends"
        )
    head = sealed_head(settings)
    note = f"a run is writing the warehouse{who}: showing the last sealed state (as of {head})"
    return replace(settings, warehouse_file=path(settings)), note
