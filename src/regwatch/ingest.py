"""Typed load of a business date's landing files into ``raw.*``, with quarantine.

Every input row ends in exactly one place: a typed row in ``raw.<file>`` or one
row in ``quarantine.rows`` naming the file, row number, column, value and
reason. Parsing is done once in Python (exact row numbers, per-row UTF-8
checks); every type, enum, sign and key check then runs as one SQL statement in
DuckDB, so a file of millions of rows is checked column-wise, not row by row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from regwatch.archive import Archive
from regwatch.contract import CONTRACTS, CURRENCIES, REQUIRED_FILES, Column, FileContract
from regwatch.warehouse import delete_partition, transaction

_SUFFIXES = (".csv", ".parquet")
_SURROGATE = re.compile("[\udc80-\udcff]")
# Money carries at most two decimals: a third would be silently rounded by a cast.
_MONEY = r"^-?[0-9]+(\.[0-9]{1,2})?$"
_RATE = r"^-?[0-9]+(\.[0-9]{1,10})?$"
_INTEGER = r"^-?[0-9]+$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-]00:?00)?$"
_BOOLEANS = ("true", "false", "1", "0")


class IngestError(RuntimeError):
    """An input cannot be loaded at all (the run stops before publishing anything)."""


class MissingInputError(IngestError):
    """A required input file is not in the landing folder."""


@dataclass(frozen=True)
class FileLoad:
    """What became of one input file."""

    file_name: str
    source_file: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    notes: tuple[str, ...] = ()

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass(frozen=True)
class IngestResult:
    business_date: date
    load_id: str
    inputs_sha256: str
    files: tuple[FileLoad, ...] = field(default_factory=tuple)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_inputs(landing_dir: Path, business_date: date) -> dict[str, Path]:
    """The input files of ``business_date``; a missing required file is an error."""
    folder = landing_dir / business_date.isoformat()
    found: dict[str, Path] = {}
    for name in CONTRACTS:
        candidates = [folder / f"{name}{suffix}" for suffix in _SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) > 1:
            raise IngestError(
                f"{name} for {business_date} is there twice ({present[0].name}, {present[1].name})"
            )
        if present:
            found[name] = present[0]
    missing = [n for n in REQUIRED_FILES if n not in found]
    if missing:
        where = folder if folder.is_dir() else f"{folder} (folder missing)"
        raise MissingInputError(
            f"missing required input file{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {business_date} in {where}"
        )
    return found


def inputs_digest(files: Sequence[tuple[str, str]]) -> str:
    """One hash over (file name, content hash) pairs: the identity of a day's inputs."""
    lines = "".join(f"{name}\t{digest}\n" for name, digest in sorted(files))
    return sha256_bytes(lines.encode())


def current_load_id(con: duckdb.DuckDBPyConnection, business_date: date) -> str | None:
    """The load of ``business_date`` that counts now: its latest arrival."""
    row = con.execute(
        "SELECT load_id FROM raw.load_arrivals WHERE business_date = ? ORDER BY arrival_seq DESC LIMIT 1",
        [business_date],
    ).fetchone()
    return str(row[0]) if row else None


def load_record(result: IngestResult) -> bytes:
    """The archived description of a load: its files, their sha256 and row counts (canonical JSON)."""
    record = {
        "load_id": result.load_id,
        "business_date": result.business_date.isoformat(),
        "inputs_sha256": result.inputs_sha256,
        "files": [
            {
                "file_name": f.file_name,
                "source_file": f.source_file,
                "sha256": f.sha256,
                "rows_read": f.rows_read,
                "rows_loaded": f.rows_loaded,
                "rows_quarantined": f.rows_quarantined,
                "notes": list(f.notes),
            }
            for f in sorted(result.files, key=lambda f: f.file_name)
        ],
    }
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _result_from_record(data: bytes) -> IngestResult:
    record = json.loads(data)
    files = tuple(
        FileLoad(
            f["file_name"],
            f["source_file"],
            f["sha256"],
            f["rows_read"],
            f["rows_loaded"],
            f["rows_quarantined"],
            tuple(f["notes"]),
        )
        for f in record["files"]
    )
    return IngestResult(
        date.fromisoformat(record["business_date"]), record["load_id"], record["inputs_sha256"], files
    )


def ingest_day(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    business_date: date,
    archive: Archive | None = None,
) -> IngestResult:
    """Load every input of ``business_date`` as a new load; earlier loads are kept.

    raw.* and quarantine.rows are append-only by load: a date delivered again with
    other files adds a load (and an arrival in ``raw.load_arrivals``) and becomes the
    date's current load; the earlier load stays, so a rerun of an earlier run can use
    exactly what that run saw. The same files delivered again add nothing. The files
    are archived content-addressed (``archive``) before anything is loaded, so a rerun
    never depends on the landing folder. All files are checked for presence first,
    then loaded in one transaction: either the whole load lands or nothing changes.
    """
    paths = find_inputs(landing_dir, business_date)
    contents = {name: path.read_bytes() for name, path in paths.items()}
    digests = {name: sha256_bytes(data) for name, data in contents.items()}
    inputs_sha = inputs_digest(list(digests.items()))
    load_id = f"{business_date:%Y%m%d}-{inputs_sha[:12]}"
    if archive is not None:
        for data in contents.values():
            archive.put(data)
    known = con.execute(
        "SELECT record_sha256 FROM raw.load_arrivals WHERE load_id = ? LIMIT 1", [load_id]
    ).fetchone()
    with transaction(con):
        if known is not None and archive is not None:
            result = _result_from_record(archive.get(str(known[0])))
            record = load_record(result)
        else:
            if known is not None:  # no archive to read the record from: rebuild this load's rows
                for table in ("quarantine.rows", *(f"raw.{name}" for name in CONTRACTS)):
                    con.execute(f"DELETE FROM {table} WHERE _load_id = ?", [load_id])
            loads: list[FileLoad] = []
            for name, path in sorted(paths.items()):
                source = f"{business_date.isoformat()}/{path.name}"
                load = _load_file(con, CONTRACTS[name], path, contents[name], source, business_date, load_id)
                if not load.balanced:
                    raise IngestError(
                        f"{source}: {load.rows_read} rows read but {load.rows_loaded} loaded "
                        f"+ {load.rows_quarantined} quarantined"
                    )
                loads.append(load)
            result = IngestResult(business_date, load_id, inputs_sha, tuple(loads))
            record = load_record(result)
        record_sha = archive.put(record) if archive is not None else sha256_bytes(record)
        if current_load_id(con, business_date) != load_id:
            con.execute(
                "INSERT INTO raw.load_arrivals "
                "SELECT coalesce(max(arrival_seq), 0) + 1, ?, ?, ?, ? FROM raw.load_arrivals",
                [load_id, business_date, inputs_sha, record_sha],
            )
        # results.load_log describes the date's current load (what the date's report shows).
        delete_partition(con, "results.load_log", business_date)
        for load in result.files:
            con.execute(
                "INSERT INTO results.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    business_date,
                    load.file_name,
                    load.source_file,
                    load.sha256,
                    load.rows_read,
                    load.rows_loaded,
                    load.rows_quarantined,
                    "; ".join(load.notes) or None,
                ],
            )
    return result


@dataclass
class _Parsed:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, fields) of well-formed rows
    rejects: list[tuple[int, str | None, str | None, str, str]]  # row, column, value, reason, raw
    rows_read: int = 0


def _parse_csv(data: bytes) -> _Parsed:
    """Split a CSV into rows with exact 1-based data-row numbers; flag bad UTF-8 and bad shape."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        suspect = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape")
        suspect = True
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return _Parsed([], [], [])
    parsed = _Parsed(header, [], [])
    width = len(header)
    for number, fields in enumerate(reader, start=1):
        if not fields:  # a blank line is not a row
            continue
        parsed.rows_read += 1
        if suspect and any(_SURROGATE.search(f) for f in fields):
            column = next(
                (header[i] if i < width else None) for i, f in enumerate(fields) if _SURROGATE.search(f)
            )
            bad = next(f for f in fields if _SURROGATE.search(f))
            parsed.rejects.append(
                (number, column, _printable(bad), "invalid UTF-8", _printable(",".join(fields)))
            )
        elif len(fields) != width:
            parsed.rejects.append(
                (
                    number,
                    None,
                    None,
                    f"malformed record: {len(fields)} fields, header has {width}",
                    json.dumps(fields, ensure_ascii=False),
                )
            )
        else:
            parsed.rows.append((number, fields))
    return parsed


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def _stage(
    con: duckdb.DuckDBPyConnection, contract: FileContract, path: Path, data: bytes
) -> tuple[_Parsed, list[str]]:
    """Put the file's well-formed rows into temp table ``_staged`` as VARCHAR, with ``_row_number``."""
    con.execute("DROP TABLE IF EXISTS _staged")
    if path.suffix == ".parquet":
        relation = con.sql(f"SELECT * FROM read_parquet('{_sql_str(str(path))}') LIMIT 0")
        header = list(relation.columns)
        present = [c for c in contract.column_names if c in header]
        select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in present)
        con.execute(
            f"CREATE TEMP TABLE _staged AS SELECT {select}{', ' if select else ''}"
            f"CAST(file_row_number + 1 AS INTEGER) AS _row_number "
            f"FROM read_parquet('{_sql_str(str(path))}', file_row_number = true)"
        )
        count = con.execute("SELECT count(*) FROM _staged").fetchone()
        parsed = _Parsed(header, [], [], rows_read=int(count[0]) if count else 0)
        return parsed, header
    parsed = _parse_csv(data)
    header = parsed.header
    present = [c for c in contract.column_names if c in header]
    index = {name: header.index(name) for name in present}
    frame = pd.DataFrame(
        {name: pd.Series([row[i] for _, row in parsed.rows], dtype=object) for name, i in index.items()}
        | {"_row_number": pd.Series([n for n, _ in parsed.rows], dtype="int64")}
    )
    con.register("_staged_frame", frame)
    select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in present)
    con.execute(
        f"CREATE TEMP TABLE _staged AS SELECT {select}{', ' if select else ''}"
        "CAST(_row_number AS INTEGER) AS _row_number FROM _staged_frame"
    )
    con.unregister("_staged_frame")
    return parsed, header


def _sql_str(value: str) -> str:
    return value.replace("'", "''")


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{_sql_str(v)}'" for v in values)


def _reason_sql(col: Column) -> str:
    """SQL giving why ``col``'s value breaks the contract, or NULL when it is fine."""
    v = f"NULLIF(trim(\"{col.name}\"), '')"
    checks: list[tuple[str, str]] = []
    if col.required:
        checks.append((f"{v} IS NULL", "missing required value"))
    if col.type == "integer":
        checks.append((f"NOT regexp_full_match({v}, '{_INTEGER}')", "wrong type: expected an integer"))
    elif col.type == "decimal":
        checks.append(
            (
                f"NOT regexp_full_match({v}, '{_MONEY}')",
                "wrong type: expected an amount with at most 2 decimals",
            )
        )
    elif col.type == "rate":
        checks.append((f"NOT regexp_full_match({v}, '{_RATE}')", "wrong type: expected a decimal number"))
    elif col.type == "date":
        checks.append(
            (
                f"NOT regexp_full_match({v}, '{_DATE}') OR TRY_CAST({v} AS DATE) IS NULL",
                "unparseable date (expected YYYY-MM-DD)",
            )
        )
    elif col.type == "timestamp":
        checks.append(
            (
                f"NOT regexp_full_match({v}, '{_TIMESTAMP}') OR TRY_CAST({v} AS TIMESTAMP) IS NULL",
                "unparseable timestamp (expected YYYY-MM-DD HH:MM:SS, UTC)",
            )
        )
    elif col.type == "boolean":
        checks.append((f"lower({v}) NOT IN ({_sql_list(_BOOLEANS)})", "wrong type: expected true or false"))
    elif col.type == "enum":
        checks.append(
            (
                f"{v} NOT IN ({_sql_list(col.values)})",
                f"unknown enum value (expected one of {', '.join(col.values)})",
            )
        )
    elif col.type == "currency":
        checks.append(
            (f"{v} NOT IN ({_sql_list(sorted(CURRENCIES))})", "unknown currency (not an ISO 4217 code)")
        )
    if col.nonnegative:
        label = "negative amount" if col.type == "decimal" else "negative value"
        checks.append((f"TRY_CAST({v} AS DOUBLE) < 0", label))
    if not checks:
        return "NULL"
    # The first check that fails names the reason; an absent optional value passes
    # every check but the missing-value one.
    whens = " ".join(
        f"WHEN {cond} THEN '{_sql_str(reason)}'"
        if i == 0 and col.required
        else f"WHEN {v} IS NOT NULL AND ({cond}) THEN '{_sql_str(reason)}'"
        for i, (cond, reason) in enumerate(checks)
    )
    return f"CASE {whens} END"


def _cast_sql(col: Column) -> str:
    v = f"NULLIF(trim(\"{col.name}\"), '')"
    if col.type == "boolean":
        return f"lower({v}) IN ('true', '1')"
    if col.type in ("string", "enum", "currency"):
        return f"NULLIF(\"{col.name}\", '')"
    return f"CAST({v} AS {col.sql_type})"


def _load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    path: Path,
    data: bytes,
    source: str,
    business_date: date,
    load_id: str,
) -> FileLoad:
    name = contract.name
    parsed, header = _stage(con, contract, path, data)
    notes: list[str] = []
    extra = [h for h in header if h not in contract.column_names]
    if extra:
        notes.append(f"unexpected column{'s' if len(extra) > 1 else ''} ignored: {', '.join(extra)}")
    missing_required = [c.name for c in contract.columns if c.required and c.name not in header]
    missing_optional = [c.name for c in contract.columns if not c.required and c.name not in header]
    if missing_optional:
        notes.append(
            f"optional column{'s' if len(missing_optional) > 1 else ''} absent: {', '.join(missing_optional)}"
        )
    lineage = [load_id, business_date, source, name]

    for row_number, column, value, reason, raw in parsed.rejects:
        con.execute(
            "INSERT INTO quarantine.rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, business_date, source, name, row_number, column, value, reason, raw],
        )
    present = [c for c in contract.columns if c.name in header]
    raw_json = (
        "to_json(struct_pack(" + ", ".join(f'"{c.name}" := "{c.name}"' for c in present) + "))"
        if present
        else "NULL"
    )

    if missing_required:
        reason = (
            f"missing required column{'s' if len(missing_required) > 1 else ''} "
            f"{', '.join(missing_required)}: whole file quarantined"
        )
        notes.append(reason)
        con.execute(
            f"INSERT INTO quarantine.rows SELECT ?, ?, ?, ?, _row_number, ?, NULL, ?, {raw_json} FROM _staged",
            [*lineage, missing_required[0], reason],
        )
        loaded = 0
    else:
        reasons = {c.name: _reason_sql(c) for c in present}
        first_column = (
            "COALESCE("
            + ", ".join(f"CASE WHEN {expr} IS NOT NULL THEN '{col}' END" for col, expr in reasons.items())
            + ")"
        )
        first_reason = "COALESCE(" + ", ".join(reasons.values()) + ")"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _checked AS
                SELECT *, {first_column} AS _bad_column, {first_reason} AS _reason FROM _staged"""
        )
        casts = ", ".join(f'{_cast_sql(c)} AS "{c.name}"' for c in present)
        key = ", ".join(f'"{k}"' for k in contract.key)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _typed AS
                SELECT {casts}, _row_number,
                       first_value(_row_number) OVER (PARTITION BY {key} ORDER BY _row_number) AS _first_row
                FROM _checked WHERE _reason IS NULL"""
        )
        # Invalid values first, then duplicate keys among the valid rows: the first
        # occurrence of a key loads, every later one is quarantined pointing at it.
        value_of = (
            "CASE _bad_column " + " ".join(f"WHEN '{c.name}' THEN \"{c.name}\"" for c in present) + " END"
        )
        con.execute(
            f"""INSERT INTO quarantine.rows
                SELECT ?, ?, ?, ?, _row_number, _bad_column, {value_of}, _reason, {raw_json}
                FROM _checked WHERE _reason IS NOT NULL""",
            lineage,
        )
        _quarantine_duplicates(con, contract, present, lineage)
        all_columns = ", ".join(
            (f'"{c.name}"' if c.name in header else f'NULL AS "{c.name}"') for c in contract.columns
        )
        before = _count(con, f"raw.{name}")
        con.execute(
            f"""INSERT INTO raw.{name}
                SELECT {all_columns}, ?, ?, ?, _row_number FROM _typed
                WHERE _row_number = _first_row ORDER BY _row_number""",
            [load_id, business_date, source],
        )
        loaded = _count(con, f"raw.{name}") - before
    quarantined_row = con.execute(
        "SELECT count(*) FROM quarantine.rows WHERE _load_id = ? AND file_name = ?",
        [load_id, name],
    ).fetchone()
    quarantined = int(quarantined_row[0]) if quarantined_row else 0
    for table in ("_staged", "_checked", "_typed"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return FileLoad(
        name,
        source,
        sha256_bytes(data),
        parsed.rows_read,
        loaded,
        quarantined,
        tuple(notes),
    )


def _quarantine_duplicates(
    con: duckdb.DuckDBPyConnection, contract: FileContract, present: list[Column], lineage: list[object]
) -> None:
    key_text = " || ', ' || ".join(
        f"'{k}=' || coalesce(CAST(t.\"{k}\" AS VARCHAR), '')" for k in contract.key
    )
    raw_json = "to_json(struct_pack(" + ", ".join(f'"{c.name}" := c."{c.name}"' for c in present) + "))"
    con.execute(
        f"""INSERT INTO quarantine.rows
            SELECT ?, ?, ?, ?, t._row_number, '{", ".join(contract.key)}', {key_text},
                   'duplicate key within the file (first at row ' || t._first_row || ')', {raw_json}
            FROM _typed t JOIN _checked c ON c._row_number = t._row_number
            WHERE t._row_number <> t._first_row""",
        lineage,
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
