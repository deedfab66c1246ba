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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from regwatch.config import Settings

#: Tables outside ``results.*`` that read-only commands read.
EXTRA_TABLES = ("reporting.rpt_disclosure_indicators",)


class SnapshotError(RuntimeError):
    """A writer holds the warehouse and no sealed state has been saved yet."""


def path(settings: Settings) -> Path:
    return settings.var_dir / "snapshot" / "sealed.duckdb"


def _quoted(value: Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def write(settings: Settings, sealed_head: str) -> Path:
    """Copy ``results.*`` (and :data:`EXTRA_TABLES`) of the warehouse into the snapshot file."""
    import duckdb

    target = path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".sealed-{os.getpid()}.duckdb")
    temp.unlink(missing_ok=True)
    temp.with_name(temp.name + ".wal").unlink(missing_ok=True)
    con = duckdb.connect(str(temp))
    try:
        con.execute(f"ATTACH {_quoted(settings.warehouse_path)} AS wh (READ_ONLY)")
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'wh' "
            "AND (table_schema = 'results' OR table_schema || '.' || table_name IN "
            f"({', '.join(repr(t) for t in EXTRA_TABLES)})) ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM wh."{schema}"."{table}"')
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


def sealed_head(settings: Settings) -> str | None:
    """The manifest the snapshot was written at (None without a snapshot)."""
    import duckdb

    if not path(settings).is_file():
        return None
    con = duckdb.connect(str(path(settings)), read_only=True)
    try:
        row = con.execute("SELECT sealed_head FROM main.snapshot_info").fetchone()
    finally:
        con.close()
    return str(row[0]) if row else None


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
