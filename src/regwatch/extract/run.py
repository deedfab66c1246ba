"""Extract one business date from a source database into ``landing/D/`` as Parquet.

The rows stream from the database as Arrow record batches (PostgreSQL: ADBC, libpq's
binary COPY under it; MySQL/MariaDB: PyMySQL's text protocol, :mod:`regwatch.extract.databases`)
into DuckDB, which drops rows already delivered and writes one Parquet file per contract
file. Every value is written as text exactly as the database printed it (``numeric`` /
``DECIMAL`` digits never pass through a float; ``timestamptz`` / MySQL ``TIMESTAMP`` in
UTC; text decoded from the column's own character set), so the very same ingest that
reads a CSV delivery types, checks and quarantines it. All tables are read in one
REPEATABLE READ, read-only transaction: one consistent snapshot.

The date folder is built aside and renamed into place whole, with the extract block
(source, queries, watermark bounds, rows) in its ``_delivery.yml``; ingest archives that
manifest with the files, so an ``audit rerun`` of an extracted date needs no database.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import yaml

from regwatch.config import Settings
from regwatch.contract import CONTRACTS
from regwatch.extract import state
from regwatch.extract.databases import SourceDatabase, dataset_namespace, describe_error, open_database
from regwatch.extract.sources import Source, TableSpec, connection_uri
from regwatch.files import sha256_file, write_atomic
from regwatch.ingest.load import MANIFEST_NAMES, IngestError, read_delivery_body
from regwatch.warehouse import duckdb_config


class ExtractError(RuntimeError):
    """The source database failed the extract (unreachable, a missing table or column, a
    permission, a watermark that went backwards): exit 1, nothing written to landing/."""


@dataclass(frozen=True)
class TableResult:
    file_name: str
    rows: int
    watermark: str | None
    delivered: bool


@dataclass(frozen=True)
class ExtractResult:
    source: str
    business_date: date
    folder: Path
    tables: tuple[TableResult, ...]
    base_date: date | None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


# ---------------------------------------------------------------- watermark values


def _parse(value: str, kind: str) -> Any:
    if kind in ("timestamptz", "timestamp"):
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return int(value)


def _text(value: Any, kind: str) -> str:
    if kind == "timestamptz":
        return str((value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat())
    if kind in ("timestamp", "date"):
        return str(value.isoformat())
    return str(int(value))


def _cutoff(business_date: date, spec: TableSpec, zone: str) -> str | None:
    """D ends at D+1 00:00 in the platform's time zone: rows at or after it belong to later dates."""
    next_day = business_date + timedelta(days=1)
    if spec.watermark_type == "timestamptz":
        return (
            datetime(next_day.year, next_day.month, next_day.day, tzinfo=ZoneInfo(zone))
            .astimezone(UTC)
            .isoformat()
        )
    if spec.watermark_type == "timestamp":
        return datetime(next_day.year, next_day.month, next_day.day).isoformat()
    if spec.watermark_type == "date":
        return next_day.isoformat()
    return None  # a sequence number has no calendar cut-off


def _low(base: str | None, spec: TableSpec, overlap_seconds: int) -> str | None:
    """The lower bound read: the last sealed watermark less the overlap window (late commits)."""
    if base is None:
        return None
    value = _parse(base, spec.watermark_type)
    if spec.watermark_type in ("timestamptz", "timestamp"):
        return _text(value - timedelta(seconds=overlap_seconds), spec.watermark_type)
    if spec.watermark_type == "date":
        return _text(value - timedelta(days=math.ceil(overlap_seconds / 86400)), "date")
    return _text(value - overlap_seconds, "bigint")


# ---------------------------------------------------------------- the extract


def _where(
    database: SourceDatabase, spec: TableSpec, low: str | None, cutoff: str | None
) -> tuple[str, list[Any]]:
    col = f"q.{database.quote(spec.watermark)}"
    parts, params = [f"{col} IS NOT NULL"], []
    for op, bound in ((">", low), ("<", cutoff)):
        if bound is not None:
            sql, values = database.compare(col, op, bound, spec.watermark_type)
            parts.append(sql)
            params += values
    return " AND ".join(parts), params


def _text_columns(con: duckdb.DuckDBPyConnection, relation: str, names: tuple[str, ...]) -> str:
    """Each contract column as the text ingest reads: timestamptz in UTC, everything else as printed."""
    types = {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE {relation}").fetchall()}
    out = []
    for name in names:
        expr = f'"{name}"'
        if types[name].startswith("TIMESTAMP WITH TIME ZONE"):
            expr = f"timezone('UTC', {expr})"
        out.append(f'CAST({expr} AS VARCHAR) AS "{name}"')
    return ", ".join(out)


def _key_sql(spec: TableSpec) -> str:
    return " || chr(31) || ".join(f"coalesce(CAST(\"{k}\" AS VARCHAR), '')" for k in spec.key)


def _extract_table(
    settings: Settings,
    database: SourceDatabase,
    db: duckdb.DuckDBPyConnection,
    source: Source,
    spec: TableSpec,
    base: state.Base,
    business_date: date,
    out_dir: Path,
    keys_dir: Path,
) -> tuple[TableResult, dict[str, Any]]:
    where = f"source {source.name}, table {spec.file_name}"
    contract = CONTRACTS[spec.file_name]
    cutoff = _cutoff(business_date, spec, source.timezone)
    base_wm = base.watermark(spec.file_name)
    frame = f"SELECT * FROM ({spec.query}) q"
    duck_type = _duck_type(spec)
    try:
        # The newest watermark before the cut-off: never older than what was sealed.
        cond, params = _where(database, spec, None, cutoff)
        top = database.fetch(
            f"SELECT max(q.{database.quote(spec.watermark)}) AS top FROM ({spec.query}) q WHERE {cond}",
            params,
        )
        db.register("top_mark", top.read_all())
        ((top_value,),) = db.execute(f"SELECT CAST(top AS {duck_type}) FROM top_mark").fetchall()
        db.unregister("top_mark")
        top_text = None if top_value is None else _text(top_value, spec.watermark_type)
        went_back = (
            base_wm is not None
            and top_text is not None
            and _parse(top_text, spec.watermark_type) < _parse(base_wm, spec.watermark_type)
        )
        if went_back:
            raise ExtractError(
                f"{where}: the watermark went backwards: {spec.watermark} reaches {top_text} "
                f"but {base_wm} was sealed (a database restored from an older backup?)"
            )
        if spec.mode == "snapshot":
            newer = top_text is not None and (
                base_wm is None
                or _parse(top_text, spec.watermark_type) > _parse(base_wm, spec.watermark_type)
            )
            if not newer:
                unchanged: dict[str, Any] = {
                    "mode": spec.mode,
                    "query": spec.query,
                    "watermark_column": spec.watermark,
                    "cutoff": cutoff,
                    "rows": 0,
                    "watermark": base_wm,
                    "delivered": False,
                }
                return TableResult(spec.file_name, 0, base_wm, False), unchanged
            low = None
        else:
            low = _low(base_wm, spec, source.overlap_seconds)
        cond, params = _where(database, spec, low, cutoff)
        reader = database.fetch(f"{frame} WHERE {cond}", params)
    except ExtractError:
        raise
    except Exception as error:  # driver errors: missing table/column, permission, lost connection
        raise ExtractError(f"{where}: {describe_error(error)}") from error
    db.register("batch", reader)
    columns = {str(r[0]) for r in db.execute("DESCRIBE batch").fetchall()}
    missing = [c for c in (*contract.column_names, spec.watermark) if c not in columns]
    if missing:
        raise ExtractError(f"{where}: the query returns no column {', '.join(missing)}")
    # The watermark typed (a MySQL source hands it over as text; the UTC session's text).
    wm = f'CAST("{spec.watermark}" AS {duck_type})'
    known = []
    if spec.mode == "incremental" and low is not None:
        floor = _parse(low, spec.watermark_type)
        for day, batch in base.batches():  # newest first
            then = batch["tables"].get(spec.file_name) or {}
            top_of_batch = then.get("max_row_watermark")
            if then.get("keys_file") and top_of_batch and _parse(top_of_batch, spec.watermark_type) > floor:
                known.append(str(state.batch_dir(settings, source.name, day) / then["keys_file"]))
            reached_then = then.get("watermark")
            if reached_then and _parse(reached_then, spec.watermark_type) <= floor:
                break  # every earlier batch delivered rows before the window only
    anti = ""
    if known:
        files = ", ".join(f"'{p}'" for p in known)
        anti = (
            f"WHERE NOT EXISTS (SELECT 1 FROM read_parquet([{files}]) k "
            f"WHERE k.key = ({_key_sql(spec)}) AND k.wm = CAST({wm} AS VARCHAR))"
        )
    try:  # the rows stream from the database while DuckDB reads them
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE fresh AS SELECT *, {_key_sql(spec)} AS _key, "
            f"CAST({wm} AS VARCHAR) AS _wm, {wm} AS _wmv FROM batch {anti}"
        )
    except Exception as error:  # a connection lost mid-stream, a value the column cannot hold
        raise ExtractError(f"{where}: {describe_error(error)}") from error
    finally:
        db.unregister("batch")
    rows, top_row = db.execute("SELECT count(*), max(_wmv) FROM fresh").fetchone() or (0, None)
    order = ", ".join(f'"{k}"' for k in spec.key)
    target = out_dir / f"{spec.file_name}.parquet"
    db.execute(
        f"COPY (SELECT {_text_columns(db, 'fresh', contract.column_names)} FROM fresh "
        f"ORDER BY {order}, _wm) TO '{target}' (FORMAT parquet)"
    )
    marks = [v for v in (base_wm, _text(top_row, spec.watermark_type) if top_row is not None else None) if v]
    reached = max(marks, key=lambda v: _parse(v, spec.watermark_type)) if marks else None
    entry: dict[str, Any] = {
        "mode": spec.mode,
        "query": spec.query,
        "watermark_column": spec.watermark,
        "low": low,
        "cutoff": cutoff,
        "rows": int(rows),
        "max_row_watermark": _text(top_row, spec.watermark_type) if top_row is not None else None,
        "watermark": reached,
        "delivered": True,
        "sha256": sha256_file(target),
    }
    if spec.mode == "incremental" and rows and reached is not None:
        # The pairs a later extract may read again inside its overlap window.
        window = _low(reached, spec, source.overlap_seconds)
        keys_file = f"{spec.file_name}.keys.parquet"
        db.execute(
            f"COPY (SELECT _key AS key, _wm AS wm FROM fresh WHERE _wmv > CAST(? AS {_duck_type(spec)}) "
            f"ORDER BY key, wm) TO '{keys_dir / keys_file}' (FORMAT parquet)",
            [window],
        )
        entry["keys_file"] = keys_file
    db.execute("DROP TABLE fresh")
    return TableResult(spec.file_name, int(rows), reached, True), entry


def _duck_type(spec: TableSpec) -> str:
    return {"timestamptz": "TIMESTAMPTZ", "timestamp": "TIMESTAMP", "date": "DATE"}.get(
        spec.watermark_type, "BIGINT"
    )


def _is_extract_folder(folder: Path, source: str) -> bool:
    """True when ``folder`` holds nothing, or an earlier extract of the same source."""
    files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    if not files:
        return True
    try:
        _path, body = read_delivery_body(folder)
    except IngestError:  # a manifest ingest would refuse: not one regwatch extract wrote
        return False
    block = body.get("extract")
    return isinstance(block, dict) and block.get("source") == source


def extract_day(settings: Settings, source: Source, business_date: date) -> ExtractResult:
    """Extract D from ``source`` into ``landing/D/`` (replacing an earlier extract of D)."""
    folder = settings.landing_for(business_date)
    if not _is_extract_folder(folder, source.name):
        raise ExtractError(
            f"source {source.name}: {folder} holds a file delivery; extract into an empty date folder"
        )
    base = state.base_for(settings, source.name, business_date)
    uri = connection_uri(source)
    namespace, database_name = dataset_namespace(source.kind, uri)
    work = settings.landing_dir / f".extract-{business_date.isoformat()}-{source.name}"
    keys_work = state.source_dir(settings, source.name) / f".{business_date.isoformat()}.tmp"
    for path in (work, keys_work):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    try:
        try:
            database = open_database(source.kind, uri)
        except Exception as error:
            raise ExtractError(f"source {source.name}: cannot connect: {describe_error(error)}") from error
        # Bounded like every DuckDB regwatch opens (REGWATCH_DUCKDB_MEMORY_LIMIT; spills to var/).
        db = duckdb.connect(config={**duckdb_config(settings.warehouse_path, settings.duckdb_memory_limit)})
        db.execute("SET TimeZone = 'UTC'")
        db.execute("SET threads = 1")  # one writer: the Parquet bytes depend only on the rows
        results: list[TableResult] = []
        entries: dict[str, dict[str, Any]] = {}
        try:
            try:
                database.begin()
            except Exception as error:
                raise ExtractError(f"source {source.name}: {describe_error(error)}") from error
            for spec in source.tables:
                result, entry = _extract_table(
                    settings, database, db, source, spec, base, business_date, work, keys_work
                )
                results.append(result)
                entries[spec.file_name] = entry
        finally:
            database.close()  # read only: nothing to keep
            db.close()
        block: dict[str, Any] = {
            "source": source.name,
            "kind": source.kind,
            "business_date": business_date.isoformat(),
            "since_sealed_date": base.sealed_date.isoformat() if base.sealed_date else None,
            # Where the rows came from, for lineage (regwatch.ledger.lineage): host, port, database.
            "dataset_namespace": namespace,
            "database": database_name,
            "overlap_seconds": source.overlap_seconds,
            "timezone": source.timezone,
            "tables": {
                n: {k: v for k, v in e.items() if k != "keys_file"} for n, e in sorted(entries.items())
            },
        }
        block["batch_id"] = hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()[:16]
        write_atomic(
            work / MANIFEST_NAMES[0],
            yaml.safe_dump({"extract": block}, sort_keys=True, allow_unicode=True).encode(),
        )
        state.write_batch(keys_work, {"batch_id": block["batch_id"], "tables": entries})
        _swap(work, folder)
        _swap(keys_work, state.batch_dir(settings, source.name, business_date))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(keys_work, ignore_errors=True)
    return ExtractResult(source.name, business_date, folder, tuple(results), base.sealed_date)


def _swap(built: Path, target: Path) -> None:
    """Put the complete folder ``built`` at ``target`` (an earlier one is removed)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        built.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        built.rename(target)
