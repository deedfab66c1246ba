"""Typed load of a business date's landing files into ``raw.*``, with quarantine.

Every input row ends in exactly one place: a typed row in ``raw.<file>`` or one
row in ``quarantine.rows`` naming the file, row number, column, value and
reason. Parsing is done once in Python (exact row numbers, per-row UTF-8
checks); every type, enum, sign and key check then runs as one SQL statement in
DuckDB, so a file of millions of rows is checked column-wise, not row by row.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import difflib
import hashlib
import io
import itertools
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import yaml

from regwatch.contract import CONTRACTS, CURRENCIES, REQUIRED_FILES, Column, FileContract
from regwatch.files import sha256_bytes, sha256_file
from regwatch.ledger.archive import Archive
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
# Per column type: the pattern a value must match, the SQL type it must also cast to (a
# well-formed but impossible date, 2025-02-30, matches the pattern), and the reason given.
_FORMATS: dict[str, tuple[str, str | None, str]] = {
    "integer": (_INTEGER, None, "wrong type: expected an integer"),
    "decimal": (_MONEY, None, "wrong type: expected an amount with at most 2 decimals"),
    "rate": (_RATE, None, "wrong type: expected a decimal number"),
    "date": (_DATE, "DATE", "unparseable date (expected YYYY-MM-DD)"),
    "timestamp": (_TIMESTAMP, "TIMESTAMP", "unparseable timestamp (expected YYYY-MM-DD HH:MM:SS, UTC)"),
}


FileStatus = Literal["loaded", "loaded_with_quarantine", "rejected", "empty"]


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
    #: loaded | loaded_with_quarantine | rejected (whole file) | empty (no data record)
    status: FileStatus = "loaded"
    #: why a file is rejected or empty, in one line naming the column or fault
    reason: str | None = None
    #: the encoding the file was read in, and why that one (declared, BOM, detected ...)
    encoding: str = "utf-8"
    encoding_evidence: str = ""
    #: physical lines of the file after the header (records may span lines when quoted)
    physical_lines: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass(frozen=True)
class IngestResult:
    business_date: date
    load_id: str
    inputs_sha256: str
    files: tuple[FileLoad, ...] = field(default_factory=tuple)
    #: files in the date folder that are no contract file: (file name, closest contract name or None)
    unknown_files: tuple[tuple[str, str | None], ...] = ()
    #: the delivery manifest (``_delivery.yml``) that declared encodings: (source file, sha256)
    delivery_manifest: tuple[str, str] | None = None

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def find_inputs(
    landing_dir: Path, business_date: date, required: Sequence[str] = REQUIRED_FILES
) -> dict[str, Path]:
    """The input files of ``business_date``; a missing ``required`` file is an error."""
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
    missing = [n for n in required if n not in found]
    if missing:
        where = folder if folder.is_dir() else f"{folder} (folder missing)"
        near = [(f, c) for f, c in unknown_inputs(folder) if c in missing]
        hints = "".join(f"; found {f} — rename it to {c}.csv" for f, c in near)
        raise MissingInputError(
            f"missing required input file{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {business_date} in {where}{hints}"
        )
    return found


#: Files of a date folder that are not inputs and not reported as unknown.
MANIFEST_NAMES = ("_delivery.yml", "_delivery.yaml", "_delivery.json")
_COPY_MARK = re.compile(r"(\s*\(\d+\)|[\s_-]*copy(\s*\d+)?|[\s_-]+\d+)$")


def closest_contract(file_name: str) -> str | None:
    """The contract file a stray file name most likely means (``transactions (1).csv`` -> transactions)."""
    stem = file_name.lower().split(".", 1)[0].strip()
    stem = _COPY_MARK.sub("", stem).strip().replace(" ", "_").replace("-", "_")
    if stem in CONTRACTS:
        return stem
    close = difflib.get_close_matches(stem, list(CONTRACTS), n=1, cutoff=0.8)
    return close[0] if close else None


def unknown_inputs(folder: Path) -> tuple[tuple[str, str | None], ...]:
    """Files in a date folder that are no contract file: (file name, closest contract name or None).

    Contract files are ``<name>.csv`` or ``<name>.parquet`` exactly (so ``transactions.CSV``
    and ``transactions (1).csv`` are unknown); the delivery manifest, hidden files and
    sub-folders are not inputs and are not listed.
    """
    if not folder.is_dir():
        return ()
    expected = {f"{name}{suffix}" for name in CONTRACTS for suffix in _SUFFIXES}
    stray = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and p.name not in expected
        and p.name not in MANIFEST_NAMES
        and not p.name.startswith(".")
    )
    return tuple((name, closest_contract(name)) for name in stray)


def read_delivery_body(folder: Path) -> tuple[Path | None, dict[str, Any]]:
    """The date folder's delivery manifest, checked, and its body (keys ``encoding``, ``extract``).

    (None, {}) when the folder has none; IngestError when it cannot be read or is not the
    mapping ingest and ``regwatch extract`` write.
    """
    present = [folder / n for n in MANIFEST_NAMES if (folder / n).is_file()]
    if not present:
        return None, {}
    if len(present) > 1:
        raise IngestError(
            f"{folder}: two delivery manifests ({present[0].name}, {present[1].name}): keep one"
        )
    path = present[0]
    try:
        text = path.read_text(encoding="utf-8")
        body = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise IngestError(f"{path}: cannot be read: {first}") from error
    body = {} if body is None else body
    if not isinstance(body, dict) or set(body) - {"encoding", "extract"}:
        keys = ", ".join(sorted(map(str, body))) if isinstance(body, dict) else type(body).__name__
        raise IngestError(f"{path}: expected a mapping with the keys encoding or extract, found {keys}")
    if not isinstance(body.get("extract", {}), dict):  # written by regwatch extract: kept and archived
        raise IngestError(f"{path}: extract must be the mapping regwatch extract writes")
    return path, body


def read_delivery_manifest(folder: Path) -> tuple[Path | None, dict[str, str]]:
    """The date folder's delivery manifest and the encodings it declares (file name -> encoding).

    ``_delivery.yml`` (or ``.json``) may hold ``encoding: gb18030`` (every file) or
    ``encoding: {transactions: gb18030, watchlist: latin-1}``. A declared encoding
    beats detection. ``regwatch extract`` writes its ``extract:`` block here (source,
    queries, watermark bounds, rows): part of the load's identity and archived with it. A manifest that cannot be read is bad input (IngestError).
    """
    path, body = read_delivery_body(folder)
    if path is None:
        return None, {}
    encoding = body.get("encoding", {})
    named = {n: encoding for n in CONTRACTS} if isinstance(encoding, str) else encoding
    if not isinstance(named, dict) or not all(isinstance(v, str) for v in named.values()):
        raise IngestError(f"{path}: encoding must be one encoding name or a mapping of file name to encoding")
    unknown = sorted(set(map(str, named)) - set(CONTRACTS))
    if unknown:
        raise IngestError(f"{path}: encoding declared for unknown file {', '.join(unknown)}")
    try:
        return path, {str(n): _codec(v) for n, v in named.items()}
    except IngestError as error:
        raise IngestError(f"{path}: {error}") from error


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
    record: dict[str, object] = {
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
                "status": f.status,
                "reason": f.reason,
                "encoding": f.encoding,
                "encoding_evidence": f.encoding_evidence,
                "physical_lines": f.physical_lines,
            }
            for f in sorted(result.files, key=lambda f: f.file_name)
        ],
    }
    if result.delivery_manifest is not None:  # only then: records of loads without one keep their bytes
        source, digest = result.delivery_manifest
        record["delivery_manifest"] = {"source_file": source, "sha256": digest}
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
            f.get("status", "loaded"),
            f.get("reason"),
            f.get("encoding", "utf-8"),
            f.get("encoding_evidence", ""),
            f.get("physical_lines", f["rows_read"]),
        )
        for f in record["files"]
    )
    manifest = record.get("delivery_manifest")
    return IngestResult(
        date.fromisoformat(record["business_date"]),
        record["load_id"],
        record["inputs_sha256"],
        files,
        delivery_manifest=(manifest["source_file"], manifest["sha256"]) if manifest else None,
    )


def ingest_day(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    business_date: date,
    archive: Archive | None = None,
    required: Sequence[str] = REQUIRED_FILES,
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
    paths = find_inputs(landing_dir, business_date, required)  # () = the delivery verdict judges
    manifest_path, declared = read_delivery_manifest(landing_dir / business_date.isoformat())
    # Hashed and archived in chunks (archiving hashes as it copies: one read per file); a file
    # is read again only when its turn comes to be loaded, by pieces unless the reference
    # parser needs it whole, and checked against the digest the load is named by.
    if archive is not None:
        digests = {name: archive.put_file(path) for name, path in paths.items()}
    else:
        digests = {name: sha256_file(path) for name, path in paths.items()}
    identity = list(digests.items())
    manifest: tuple[str, str] | None = None
    if manifest_path is not None:  # how the files are to be read is part of the delivery
        manifest_bytes = manifest_path.read_bytes()
        manifest = (f"{business_date.isoformat()}/{manifest_path.name}", sha256_bytes(manifest_bytes))
        identity.append((manifest_path.name, manifest[1]))
        if archive is not None:
            archive.put(manifest_bytes)
    inputs_sha = inputs_digest(identity)
    load_id = f"{business_date:%Y%m%d}-{inputs_sha[:12]}"
    known = con.execute(
        "SELECT record_sha256 FROM raw.load_arrivals WHERE load_id = ? LIMIT 1", [load_id]
    ).fetchone()
    with transaction(con):
        if known is not None and archive is not None:
            result = _result_from_record(archive.get(str(known[0])))
            record = load_record(result)
        else:
            if known is not None:  # no archive to read the record from: rebuild this load's rows
                for table in (
                    "quarantine.rows",
                    "quarantine.nulled_values",
                    *(f"raw.{name}" for name in CONTRACTS),
                ):
                    con.execute(f"DELETE FROM {table} WHERE _load_id = ?", [load_id])
            loads: list[FileLoad] = []
            for name, path in sorted(paths.items()):
                source = f"{business_date.isoformat()}/{path.name}"
                declaration = (
                    (declared[name], manifest_path.name) if name in declared and manifest_path else None
                )
                load = _load_file(
                    con, CONTRACTS[name], path, digests[name], source, business_date, load_id, declaration
                )
                if not load.balanced:
                    raise IngestError(
                        f"{source}: {load.rows_read} rows read but {load.rows_loaded} loaded "
                        f"+ {load.rows_quarantined} quarantined"
                    )
                loads.append(load)
            result = IngestResult(
                business_date, load_id, inputs_sha, tuple(loads), delivery_manifest=manifest
            )
            record = load_record(result)
        result = replace(result, unknown_files=unknown_inputs(landing_dir / business_date.isoformat()))
        record_sha = archive.put(record) if archive is not None else sha256_bytes(record)
        if current_load_id(con, business_date) != load_id:
            con.execute(
                "INSERT INTO raw.load_arrivals "
                "SELECT coalesce(max(arrival_seq), 0) + 1, ?, ?, ?, ? FROM raw.load_arrivals",
                [load_id, business_date, inputs_sha, record_sha],
            )
        # results.load_log describes the date's current load (what the date's report shows).
        delete_partition(con, "results.load_log", business_date)
        if result.files:  # one statement for all the files
            row = f"({', '.join('?' * 13)})"
            con.execute(
                f"INSERT INTO results.load_log VALUES {', '.join(row for _ in result.files)}",
                [
                    value
                    for load in result.files
                    for value in (
                        load_id,
                        business_date,
                        load.file_name,
                        load.source_file,
                        load.sha256,
                        load.rows_read,
                        load.rows_loaded,
                        load.rows_quarantined,
                        "; ".join(load.notes) or None,
                        load.status,
                        load.reason,
                        load.encoding,
                        load.physical_lines,
                    )
                ],
            )
    return result


#: Encodings tried, in order, on a file that declares none; watch lists also try the single-byte ones.
_DETECTED = ("utf-8", "gb18030")
_SINGLE_BYTE = ("cp1252", "latin-1")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
#: A four-byte GB18030 character (e.g. ñ is 81 30 8A 39): one unit, though ASCII digits sit inside it.
_GB_FOUR_BYTES = re.compile(rb"[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39]")
_BOM = b"\xef\xbb\xbf"
_CTRL_Z = b"\x1a"


@dataclass(frozen=True)
class _Decoding:
    """How a file's bytes are read: the encoding, why that one, and the reason a line that does not decode gets."""

    encoding: str
    evidence: str
    bad_reason: str
    #: the whole file decodes in ``encoding``
    clean: bool


def _codec(name: str) -> str:
    """The canonical name of an encoding a delivery may declare (one that keeps CSV's ASCII bytes ASCII)."""
    try:
        info = codecs.lookup(name)
    except LookupError as error:
        raise IngestError(f"unknown encoding {name!r}") from error
    probe = 'a,"\r\n'
    try:
        ascii_compatible = probe.encode(info.name) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        ascii_compatible = False
    if not ascii_compatible:
        raise IngestError(
            f"encoding {name!r} is not supported: commas, quotes and line ends must be single ASCII bytes"
        )
    return {"iso8859-1": "latin-1", "gbk": "gbk", "gb2312": "gb2312"}.get(info.name, info.name)


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether all of ``data`` decodes in ``encoding`` (by 4 MiB pieces: a big file is never held as text)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _UTF8_PIECE):
            decoder.decode(view[start : start + _UTF8_PIECE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _line_counts(data: bytes, encodings: Sequence[str]) -> tuple[int, dict[str, int]]:
    """(lines holding a non-ASCII byte, how many of them decode in each encoding)."""
    lines = [line for line in data.split(b"\n") if not line.isascii()]
    return len(lines), {e: sum(_decodes(line, e) for line in lines) for e in encodings}


def _looks_single_byte(data: bytes) -> bool:
    """Non-ASCII bytes mostly alone between ASCII ones (é in Jos\\xe9), not in pairs (GB18030's 2-byte characters)."""
    runs = [len(m) for m in _HIGH_RUN.findall(_GB_FOUR_BYTES.sub(b"\xaa\xaa", data))]
    return bool(runs) and sum(1 for r in runs if r == 1) * 2 >= len(runs)


def _choose_encoding(data: bytes, contract: FileContract, declared: tuple[str, str] | None) -> _Decoding:
    """The encoding a file is read in: declared beats detected; detection records its evidence."""
    if declared is not None:
        encoding, where = declared
        label = "utf-8" if encoding == "utf-8-sig" else encoding
        return _Decoding(
            label,
            f"declared in {where}",
            f"invalid encoding: not valid {label} (declared in {where})",
            _decodes(data.removeprefix(_BOM) if label == "utf-8" else data, label),
        )
    tried = [*_DETECTED, *(_SINGLE_BYTE if contract.screening_list else ())]
    tried_text = ", ".join(tried)
    if data.startswith(_BOM):
        clean = _decodes(data[3:], "utf-8")
        return _Decoding(
            "utf-8",
            "UTF-8 byte order mark",
            "invalid encoding: not valid utf-8 (the file has a UTF-8 byte order mark)",
            clean,
        )
    if data.isascii():
        return _Decoding("utf-8", "ASCII only", "", True)
    if _decodes(data, "utf-8"):
        return _Decoding("utf-8", "valid UTF-8", "", True)
    gb_clean = _decodes(data, "gb18030")
    if contract.screening_list and (not gb_clean or _looks_single_byte(data)):
        lines, counts = _line_counts(data, ("utf-8",))
        if counts["utf-8"] == 0:  # no line reads as UTF-8: a single-byte list (latin-1 / Windows-1252)
            c1 = any(0x80 <= b <= 0x9F for b in data)
            encoding = "cp1252" if c1 and _decodes(data, "cp1252") else "latin-1"
            return _Decoding(
                encoding,
                f"not UTF-8 ({lines} lines with non-ASCII bytes, none valid UTF-8), not GB18030-like"
                f" (bytes above 0x7F stand alone): read as {'Windows-1252' if encoding == 'cp1252' else 'latin-1'}",
                "",
                True,
            )
    if gb_clean:
        cjk = len(_CJK.findall(data.decode("gb18030")))
        return _Decoding("gb18030", f"not UTF-8; decodes as GB18030 with {cjk} CJK characters", "", True)
    lines, counts = _line_counts(data, _DETECTED)
    if counts["gb18030"] > counts["utf-8"]:
        return _Decoding(
            "gb18030",
            f"not UTF-8; {counts['gb18030']} of {lines} lines with non-ASCII bytes decode as GB18030"
            f" ({counts['utf-8']} as UTF-8); the other lines are quarantined",
            f"invalid encoding: not valid gb18030 (tried {tried_text})",
            False,
        )
    return _Decoding(
        "utf-8",
        f"mostly UTF-8: {lines - counts['utf-8']} of {lines} lines with non-ASCII bytes are not valid UTF-8"
        f" (GB18030 reads {counts['gb18030']}); they are quarantined",
        f"invalid encoding: not valid utf-8 (tried {tried_text})",
        False,
    )


_Reject = tuple[int, str | None, str | None, str, str]  # row, column, value, reason, raw record


@dataclass
class _Parsed:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, fields) of well-formed rows
    rejects: list[_Reject]
    rows_read: int = 0
    #: physical lines after the header (blank lines and every line of a multi-line record included)
    physical_lines: int = 0
    blank_lines: int = 0
    #: physical lines taken by the records read (each at least one)
    record_lines: int = 0
    #: records spread over more than one physical line (a quoted field with line breaks)
    multiline_records: int = 0


#: The largest field a record may carry (Python's csv default limit); a longer one is quarantined.
_MAX_FIELD = 1 << 17
#: The most physical lines one quoted field may span before its opening quote counts as unterminated.
_MAX_SPAN = 100
#: Shown of an oversized raw record in quarantine.
_RAW_SHOWN = 1024
_LINE_END = re.compile(r"\r\n|\r|\n")
_QUOTE_OR_COMMA = re.compile(r'[",]')

_START, _IN_FIELD, _IN_QUOTED, _QUOTE_IN_QUOTED = range(4)


def _quote_state(line: str, in_quote: bool) -> tuple[bool, int]:
    """(whether ``line`` ends inside a quoted field, index of the field it ends in), by Python csv's rules.

    ``in_quote``: the line continues a quoted field opened on an earlier line. Only
    quote characters and commas change the state, so only they are visited.
    """
    if '"' not in line:
        return in_quote, 0 if in_quote else line.count(",")
    state = _IN_QUOTED if in_quote else _START
    field, previous = 0, -1
    for match in _QUOTE_OR_COMMA.finditer(line):
        at, char = match.start(), match.group()
        if at > previous + 1 and state in (_START, _QUOTE_IN_QUOTED):
            state = _IN_FIELD  # ordinary characters opened (or continued) an unquoted field
        if state == _START:
            if char == '"':
                state = _IN_QUOTED
            else:
                field += 1
        elif state == _IN_FIELD:
            if char == ",":
                state, field = _START, field + 1
        elif state == _IN_QUOTED:
            if char == '"':
                state = _QUOTE_IN_QUOTED
        elif char == '"':  # a doubled quote inside a quoted field
            state = _IN_QUOTED
        else:
            state, field = _START, field + 1
        previous = at
    return state == _IN_QUOTED, field


def _ends_in_quote(line: str, in_quote: bool) -> bool:
    return _quote_state(line, in_quote)[0]


def _split_record(text: str) -> list[str]:
    """The fields of one complete record (Python's csv module, any field size)."""
    if '"' not in text:
        return text.split(",")
    limit = csv.field_size_limit()
    if len(text) >= limit:
        csv.field_size_limit(len(text) + 1)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    finally:
        csv.field_size_limit(limit)
    return rows[0] if len(rows) == 1 else [field for row in rows for field in row]


def _physical_lines(text: str) -> list[tuple[str, str]]:
    """(line, its terminator) for every physical line; a line ends at CRLF, CR or LF (as csv reads)."""
    lines: list[tuple[str, str]] = []
    start = 0
    for match in _LINE_END.finditer(text):
        lines.append((text[start : match.start()], match.group()))
        start = match.end()
    if start < len(text):
        lines.append((text[start:], ""))
    return lines


def _parse_csv(data: bytes, bad_bytes: str = "invalid UTF-8", encoding: str = "utf-8") -> _Parsed:
    """Split a CSV into records with exact 1-based data-line numbers; quarantine structural faults.

    The reference parser: the DuckDB fast path of :func:`_stage_csv_fast` must give
    exactly its result, and falls back to it whenever it cannot prove that it does.
    Fields are split as Python's csv module splits them, but a record never swallows
    the file: a quoted field may span line breaks only if it closes within
    ``_MAX_SPAN`` lines into a record of the header's width; otherwise its first line
    is quarantined as an unterminated quoted field and parsing resumes on the next
    line. A record's number is the data line it starts on (the header is line 0),
    so every physical line is accounted for: ``physical_lines`` = lines of the
    records read + blank lines.
    """
    if data.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower().startswith("utf8"):
        data = data[3:]
    text = data.decode(encoding, errors="surrogateescape")
    lines = _physical_lines(text)
    if not lines:
        return _Parsed([], [], [])
    # undecodable bytes in a header name are shown escaped (the name then matches no column)
    header = [_printable(h.strip()) for h in _split_record(lines[0][0])] if lines[0][0] else []
    parsed = _Parsed(header, [], [], physical_lines=len(lines) - 1)
    faults = _Faults(bad_bytes, _SURROGATE.search(text) is not None, "\x00" in text)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # oversized fields are quarantined, not raised
    try:
        number = 1
        while number < len(lines):
            number = _read_records(parsed, lines, number, faults)
    finally:
        csv.field_size_limit(limit)
    return parsed


@dataclass(frozen=True)
class _Faults:
    """What a record may be quarantined for: ``bad_bytes`` the reason for undecodable bytes;
    whether the text holds any (surrogates) or any NUL at all (else those checks are skipped)."""

    bad_bytes: str
    any_bad: bool
    any_nul: bool


def _read_records(parsed: _Parsed, lines: list[tuple[str, str]], start: int, faults: _Faults) -> int:
    """Read records from line ``start`` on with one csv reader (C speed); the line to go on from.

    Returns ``len(lines)`` at the end of the file, or the line after a quote that never
    closes (within ``_MAX_SPAN`` lines, into a record of the header's width): that line
    is quarantined and a new reader resumes on the next one.
    """
    header = parsed.header
    reader = csv.reader(text + end for text, end in itertools.islice(lines, start, None))
    consumed = 0
    for fields in reader:
        first, last = start + consumed, start + reader.line_num - 1
        consumed = reader.line_num
        if not fields:  # a blank line is not a record
            parsed.blank_lines += 1
            continue
        parsed.rows_read += 1
        parsed.record_lines += 1
        # csv ends a record inside a quote only at the end of the file
        open_at_end = last == len(lines) - 1 and _ends_in_quote(lines[last][0], last > first)
        if open_at_end or (
            last > first and (_quote_closes(lines, first) != last or len(fields) != len(header))
        ):
            line = lines[first][0]
            parsed.rejects.append(
                (
                    first,
                    _column_at(line, header),
                    None,
                    f"unterminated quoted field (file line {first + 1}): line quarantined,"
                    " reading resumes on the next line",
                    _shown(line),
                )
            )
            return first + 1
        lines_note = ""
        if last > first:
            parsed.multiline_records += 1
            parsed.record_lines += last - first
            lines_note = f" (file lines {first + 1}-{last + 1})"
        reject = _record_fault(first, fields, header, faults)
        if reject is not None:
            parsed.rejects.append((*reject[:3], reject[3] + lines_note, reject[4]))
        else:
            parsed.rows.append((first, fields))
    return len(lines)


def _quote_closes(lines: list[tuple[str, str]], number: int) -> int | None:
    """The line on which the quoted field opened on line ``number`` closes (within ``_MAX_SPAN``), or None."""
    for last in range(number + 1, min(len(lines), number + _MAX_SPAN)):
        if not _ends_in_quote(lines[last][0], True):
            return last
    return None


def _column_at(line: str, header: list[str]) -> str | None:
    """The header name of the field in which ``line`` leaves a quote open."""
    index = _quote_state(line, False)[1]
    return header[index] if index < len(header) else None


def _record_fault(number: int, fields: list[str], header: list[str], faults: _Faults) -> _Reject | None:
    """Why a complete record cannot be staged (bad bytes, NUL, oversized field, wrong width), or None."""
    width = len(header)
    if faults.any_bad and any(_SURROGATE.search(f) for f in fields):
        return _bytes_reject(number, fields, header, faults.bad_bytes)
    # a character is at most 4 bytes: only a long field needs its bytes counted
    if not faults.any_nul and max(map(len, fields)) * 4 <= _MAX_FIELD:
        return _shape_reject(number, fields, width) if len(fields) != width else None
    for index, value in enumerate(fields):
        column = header[index] if index < width else None
        if "\x00" in value:
            return (number, column, _shown(value), "NUL byte in field", _shown(",".join(fields)))
        size = len(value.encode("utf-8", errors="surrogateescape"))
        if size > _MAX_FIELD:
            return (
                number,
                column,
                _shown(value[:80]),
                f"field larger than {_MAX_FIELD} bytes ({size} bytes)",
                _shown(",".join(fields)),
            )
    if len(fields) != width:
        return _shape_reject(number, fields, width)
    return None


def _shown(text: str) -> str:
    """A value as quarantine shows it: printable (bad bytes and NUL escaped), at most ``_RAW_SHOWN`` characters."""
    shown = _printable(text).replace("\x00", "\\x00")
    return shown if len(shown) <= _RAW_SHOWN else shown[:_RAW_SHOWN] + f"... ({len(shown)} characters)"


def _bytes_reject(number: int, fields: list[str], header: list[str], reason: str) -> _Reject:
    width = len(header)
    column = next((header[i] if i < width else None) for i, f in enumerate(fields) if _SURROGATE.search(f))
    bad = next(f for f in fields if _SURROGATE.search(f))
    return (number, column, _printable(bad), reason, _printable(",".join(fields)))


def _shape_reject(number: int, fields: list[str], width: int) -> _Reject:
    return (
        number,
        None,
        None,
        f"malformed record: {len(fields)} fields, header has {width}",
        json.dumps(fields, ensure_ascii=False),
    )


#: Bytes of input read (and checked for UTF-8) in one piece; a piece always ends at a line end.
_UTF8_PIECE = 1 << 22
#: DuckDB's CSV buffer (None: DuckDB's default); tests lower it to exercise the parallel reader.
_CSV_BUFFER_SIZE: int | None = None
#: Longest line the fast path reads; a longer one sends the file to the reference parser.
_CSV_MAX_LINE = 1 << 21


def _pieces(path: Path) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``_UTF8_PIECE``, each ending just after a ``\\n`` (the last maybe not).

    A line, and so a multi-byte character, never straddles two pieces; one piece is in memory at a time.
    """
    carry = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_UTF8_PIECE), b""):
            end = block.rfind(b"\n")
            if end == -1:
                carry += block
                continue
            yield carry + block[: end + 1]
            carry = block[end + 1 :]
    if carry:
        yield carry


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _non_ascii_lines(text: bytes) -> Iterator[tuple[int, bytes]]:
    """(index, bytes) of the ``\\n``-separated lines of ``text`` that hold a byte above 0x7F."""
    for index, raw in enumerate(text.split(b"\n")):
        if not raw.isascii():
            yield index, raw


def _line_decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _undecodable_lines(text: bytes, encoding: str) -> list[int]:
    """Indexes of the ``\\n``-separated lines of ``text`` that do not decode in ``encoding``.

    ``\\n`` is never part of a multi-byte character in the encodings read here, so the text
    decodes exactly when each of its lines does; only a text that does not is looked at
    line by line, and only at its lines with non-ASCII bytes.
    """
    if _line_decodes(text, encoding):
        return []
    return [index for index, raw in _non_ascii_lines(text) if not _line_decodes(raw, encoding)]


@dataclass
class _Scan:
    """One streaming read of a CSV file: its hash, and what decides its encoding and whether the fast path applies."""

    #: (size, mtime) before the read: DuckDB's later reads must see the same file
    stamp: tuple[int, int]
    size: int = 0
    sha256: str = ""
    #: the first line's bytes, without its ``\\n`` (BOM included)
    first_line: bytes = b""
    bom: bool = False
    ascii: bool = True
    #: the file (after a leading BOM) is valid UTF-8
    utf8: bool = True
    quote: bool = False
    nul: bool = False
    cr: int = 0
    lf: int = 0
    crlf: int = 0
    commas: int = 0
    ends_lf: bool = False
    ends_ctrl_z: bool = False
    #: line numbers (the header is line 0) of empty lines ("" or a lone "\\r")
    blank: list[int] = field(default_factory=list)
    #: line numbers of the lines that are not valid UTF-8
    invalid: list[int] = field(default_factory=list)


def _scan_csv(path: Path) -> _Scan:
    """Read a CSV once, by pieces (never whole): sha256, encoding evidence, line ends, blank and non-UTF-8 lines."""
    scan = _Scan(_stamp(path))
    digest = hashlib.sha256()
    line = 0  # number of the piece's first line
    last = b""
    for index, piece in enumerate(_pieces(path)):
        digest.update(piece)
        scan.size += len(piece)
        last = piece[-1:]
        text = piece
        if index == 0:
            scan.bom = piece.startswith(_BOM)
            scan.first_line = piece.split(b"\n", 1)[0]
            text = piece[3:] if scan.bom else piece
        if not piece.isascii():
            scan.ascii = False
            bad = _undecodable_lines(text, "utf-8")
            if bad:
                scan.utf8 = False
                scan.invalid.extend(line + b for b in bad)
        scan.quote = scan.quote or b'"' in piece
        scan.nul = scan.nul or b"\x00" in piece
        cr = piece.count(b"\r")
        scan.cr += cr
        scan.crlf += piece.count(b"\r\n") if cr else 0
        scan.commas += piece.count(b",")
        starts = [0] if line > 0 and (piece.startswith(b"\n") or piece.startswith(b"\r\n")) else []
        for pattern in (b"\n\n", b"\n\r\n") if cr else (b"\n\n",):
            at = piece.find(pattern)
            while at != -1:
                starts.append(at + 1)
                at = piece.find(pattern, at + 1)
        counted, before = 0, 0
        for start in sorted(starts):
            before += piece.count(b"\n", counted, start)
            counted = start
            scan.blank.append(line + before)
        newlines = piece.count(b"\n")
        scan.lf += newlines
        line += newlines
    scan.sha256 = digest.hexdigest()
    scan.ends_lf = last == b"\n"
    scan.ends_ctrl_z = last == _CTRL_Z
    return scan


def _decoding_of(
    scan: _Scan, path: Path, contract: FileContract, declared: tuple[str, str] | None
) -> _Decoding | None:
    """The file's decoding as :func:`_choose_encoding` gives it, when the file is read as UTF-8 and the scan
    can tell; None when only the whole bytes can (another encoding, re-encoded before staging)."""
    if declared is not None:
        encoding, where = declared
        if encoding not in ("utf-8", "utf-8-sig"):
            return None
        return _Decoding(
            "utf-8",
            f"declared in {where}",
            f"invalid encoding: not valid utf-8 (declared in {where})",
            scan.utf8,
        )
    if scan.bom:
        return _Decoding(
            "utf-8",
            "UTF-8 byte order mark",
            "invalid encoding: not valid utf-8 (the file has a UTF-8 byte order mark)",
            scan.utf8,
        )
    if scan.ascii:
        return _Decoding("utf-8", "ASCII only", "", True)
    if scan.utf8:
        return _Decoding("utf-8", "valid UTF-8", "", True)
    if contract.screening_list:
        return None
    # Not UTF-8: as _line_counts counts, by pieces (a line decodes alone as it does in its piece).
    lines = not_gb = 0
    for piece in _pieces(path):
        if not piece.isascii():
            for _, raw in _non_ascii_lines(piece):
                lines += 1
                not_gb += not _line_decodes(raw, "gb18030")
    utf8_lines, gb_lines = lines - len(scan.invalid), lines - not_gb
    if not_gb == 0 or gb_lines > utf8_lines:  # GB18030: re-encoded (or the reference parser) from the bytes
        return None
    return _Decoding(
        "utf-8",
        f"mostly UTF-8: {lines - utf8_lines} of {lines} lines with non-ASCII bytes are not valid UTF-8"
        f" (GB18030 reads {gb_lines}); they are quarantined",
        f"invalid encoding: not valid utf-8 (tried {', '.join(_DETECTED)})",
        False,
    )


class _NotFast(Exception):
    """The fast path cannot prove it equals the reference parser on this file."""


def _stage_csv_fast(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    path: Path,
    scan: _Scan | None = None,
    bad_bytes: str = "invalid UTF-8",
) -> _Parsed | None:
    """Stage a UTF-8 CSV with DuckDB's parallel reader, giving exactly :func:`_parse_csv`'s result.

    Applies to files without quote characters, NUL bytes or lone carriage returns
    (line ends all ``\\n`` or all ``\\r\\n``): there a CSV record is a physical line and
    its fields are the line split at commas, in Python and in DuckDB alike. The file is
    never held whole: one streaming read (``scan``, :func:`_scan_csv`) finds the blank
    lines and the lines that are not UTF-8; DuckDB then reads the file in parallel
    twice. The first read keeps nothing but a count, the longest field and the lines
    it rejects (not UTF-8, wrong number of fields); each rejected line is read back from
    the file and checked in Python, every line Python found not UTF-8 must be among
    them, and the counts must reconcile (each non-blank line staged or rejected). The
    staged rows get their row numbers from the lines skipped before them. ``_staged``
    is then a view: the second read, row by row beside those numbers, which
    :func:`_load_file` reads once (no copy of the file as text is kept). If anything
    does not add up this returns None and the caller uses the reference parser.
    """
    try:
        return _fast_csv(con, contract, path, scan or _scan_csv(path), bad_bytes)
    except _NotFast:
        _drop_staged(con)
        return None


_FAST_TEMP = ("_staged_numbers", "_staged_rejects", "_staged_scans")


def _drop_tables(con: duckdb.DuckDBPyConnection, *tables: str, view: str | None = None) -> None:
    """``DROP ... IF EXISTS`` of a view and tables, sent as one call."""
    drops = ([f"DROP VIEW IF EXISTS {view}"] if view else []) + [f"DROP TABLE IF EXISTS {t}" for t in tables]
    con.execute("; ".join(drops))


def _drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``_staged`` and the tables behind it.

    ``_staged`` is always a view: over the file (the fast path) or over ``_staged_rows`` (the
    reference parser, Parquet, a fast-path file materialised), so dropping it needs no look
    into the catalog to learn what it is.
    """
    _drop_tables(con, "_staged_rows", *_FAST_TEMP, view="_staged")


def _fast_csv(
    con: duckdb.DuckDBPyConnection, contract: FileContract, path: Path, scan: _Scan, bad_bytes: str
) -> _Parsed:
    if scan.quote or scan.nul:
        raise _NotFast("quote characters or NUL bytes")
    if scan.cr == 0:
        crlf = False
    elif scan.cr == scan.lf == scan.crlf:
        crlf = True
    else:
        raise _NotFast("mixed line ends")
    first = scan.first_line.removeprefix(_BOM)
    first = first.removesuffix(b"\r") if crlf else first
    if scan.lf == 0 or not first:
        raise _NotFast("no header line")
    try:
        header = [h.strip() for h in first.decode("utf-8").split(",")]
    except UnicodeDecodeError as error:
        raise _NotFast("header not UTF-8") from error
    width = len(header)
    if width < 2 or (scan.lf == 1 and scan.ends_lf):
        raise _NotFast("one column or no data lines")

    # Records of the body: one per line end after the header's, plus an unterminated last line.
    records = scan.lf - 1 + (0 if scan.ends_lf else 1)
    blank = scan.blank
    invalid = {n for n in scan.invalid if n > 0}

    _drop_tables(con, *_FAST_TEMP)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    options = [
        "header = true",
        "auto_detect = false",
        f"columns = {columns}",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        # no new_line: DuckDB 2.0 reads nothing at all with new_line = '\\r\\n'; left
        # to itself it ends lines at \\n or \\r\\n, which is all this path admits
        "strict_mode = true",
        "null_padding = false",
        f"max_line_size = {_CSV_MAX_LINE}",
    ]
    if _CSV_BUFFER_SIZE is not None:
        options.append(f"buffer_size = {_CSV_BUFFER_SIZE}")
    source = f"read_csv('{_sql_str(str(path))}', {', '.join(options)}"
    lengths = ", ".join(f"coalesce(strlen(c{i}), 0)" for i in range(width))
    counted = con.execute(
        f"SELECT count(*), max(greatest({lengths})) FROM {source}, "
        "store_rejects = true, rejects_table = '_staged_rejects', rejects_scan = '_staged_scans')"
    ).fetchall()  # all: DuckDB writes the rejects tables only when the result is consumed
    staged, longest = int(counted[0][0]), counted[0][1]
    if longest is not None and int(longest) > _MAX_FIELD:
        raise _NotFast("a field larger than the limit (the reference parser quarantines it)")
    rejected = con.execute("SELECT DISTINCT line FROM _staged_rejects ORDER BY line").fetchall()
    rejects = _check_rejects(path, crlf, [int(r[0]) for r in rejected], invalid, header, bad_bytes)
    if staged + len(rejects) + len(blank) != records:
        raise _NotFast("counts do not reconcile")
    # Staged line i (file order) is the i-th record DuckDB neither skipped nor rejected.
    skipped = sorted([*blank, *(r[0] for r in rejects)])
    numbers = np.delete(np.arange(1, records + 1, dtype=np.int32), np.array(skipped, np.int64) - 1)
    # DuckDB rejects a line with too few fields but lets a trailing delimiter pass
    # ("1,2,3," as three fields). Every staged line has width - 1 commas exactly when
    # the file's commas add up (none has fewer, so none can have more); if they do
    # not, the lines with too many are found and taken out of the staged rows.
    if scan.commas != (width - 1) * (1 + staged) + sum(_commas(r) for r in rejects):
        known = {*skipped}
        extra = [n for n in _lines_off_width(path, width, crlf) if n not in known]
        for number, raw in zip(extra, _read_lines(path, extra, crlf), strict=True):
            if any(len(f) > _MAX_FIELD for f in raw.split(b",")):
                raise _NotFast("a line with a field larger than the limit")
            rejects.append(_shape_reject(number, raw.decode("utf-8").split(","), width))
            numbers[number - 1 - bisect.bisect_left(skipped, number)] = 0
        rejects.sort(key=lambda r: r[0])
    index = _column_index(contract, header)
    select = "".join(f"coalesce(l.c{i}, '') AS \"{c}\", " for c, i in index.items())
    con.register("_staged_frame", pd.DataFrame({"_row_number": numbers}))
    con.execute("CREATE TEMP TABLE _staged_numbers AS SELECT _row_number FROM _staged_frame")
    con.unregister("_staged_frame")
    del numbers
    _drop_tables(con, "_staged_rejects", "_staged_scans")
    # A view, not a copy of the file as text: the second read skips exactly the lines the
    # first rejected (same options), and a positional join keeps the two in lockstep.
    con.execute(
        f"""CREATE TEMP VIEW _staged AS
            SELECT {select}n._row_number
            FROM {source}, ignore_errors = true) AS l POSITIONAL JOIN _staged_numbers AS n
            WHERE n._row_number > 0"""
    )
    return _Parsed(
        header,
        [],
        rejects,
        rows_read=records - len(blank),
        physical_lines=records,
        blank_lines=len(blank),
        record_lines=records - len(blank),
    )


def _commas(reject: _Reject) -> int:
    """Commas of a rejected line, from the record the reference parser keeps of it."""
    reason, raw = reject[3], reject[4]
    if reason.startswith("malformed record"):
        return len(json.loads(raw)) - 1
    return raw.count(",")


def _read_lines(path: Path, numbers: Sequence[int], crlf: bool) -> list[bytes]:
    """The bytes of lines by number (the header is line 0), without their line end, read by pieces."""
    wanted = sorted(set(numbers))
    found: dict[int, bytes] = {}
    at, line = 0, 0  # next wanted index; number of the piece's first line
    for piece in _pieces(path):
        if at == len(wanted):
            break
        starting = piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
        if wanted[at] < line + starting:
            lines = piece.split(b"\n")
            while at < len(wanted) and wanted[at] < line + starting:
                raw = lines[wanted[at] - line]
                found[wanted[at]] = raw.removesuffix(b"\r") if crlf else raw
                at += 1
        line += piece.count(b"\n")
    if at < len(wanted):
        raise _NotFast("a line is past the end of the file")
    return [found[n] for n in numbers]


def _check_rejects(
    path: Path,
    crlf: bool,
    rejected: list[int],
    invalid: set[int],
    header: list[str],
    bad_bytes: str,
) -> list[_Reject]:
    """Each line DuckDB rejected, checked and recorded as the reference parser would."""
    rejects: list[_Reject] = []
    numbers = [line - 1 for line in rejected]  # DuckDB counts the header as line 1
    for number, raw in zip(numbers, _read_lines(path, numbers, crlf), strict=True):
        fields = raw.decode("utf-8", errors="surrogateescape").split(",")
        if number not in invalid and any(len(f) > _MAX_FIELD for f in raw.split(b",")):
            raise _NotFast("a rejected line with a field larger than the limit")
        if number in invalid:
            rejects.append(_bytes_reject(number, fields, header, bad_bytes))
        elif raw and len(fields) != len(header):
            rejects.append(_shape_reject(number, fields, len(header)))
        else:
            raise _NotFast("DuckDB rejected a line the reference parser accepts")
    if not invalid <= {r[0] for r in rejects}:
        raise _NotFast("DuckDB accepted a line that is not UTF-8")
    return rejects


def _lines_off_width(path: Path, width: int, crlf: bool) -> list[int]:
    """Numbers of the non-blank body lines without exactly ``width - 1`` commas (numpy, by pieces)."""
    blank_length = 1 if crlf else 0  # an empty line is "" or, with CRLF, "\r"
    found: list[int] = []
    before = 0  # number of the piece's first line
    for piece in _pieces(path):
        array = np.frombuffer(piece, np.uint8)
        ends = np.flatnonzero(array == 10)
        if array[-1] != 10:
            ends = np.append(ends, len(array))
        starts = np.concatenate([[0], ends[:-1] + 1])
        commas = np.concatenate([[0], np.cumsum(array == 44, dtype=np.int64)])
        counts = commas[ends] - commas[starts]
        off = np.flatnonzero((counts != width - 1) & (ends - starts > blank_length))
        found.extend(n for n in (before + off).tolist() if n > 0)
        before += len(ends)
    return found


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def _stage(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    path: Path,
    data: bytes,
    decoding: _Decoding | None = None,
    as_delivered: bool = True,
    keep: ExitStack | None = None,
    try_fast: bool = True,
) -> tuple[_Parsed, list[str]]:
    """Put the file's well-formed rows into temp table (or view) ``_staged`` as VARCHAR, with ``_row_number``.

    ``data`` (unused for Parquet) is the file's bytes as they are to be read; a re-encoded
    copy that the fast path stages lives in a temporary file until ``keep`` closes (the
    view reads it). ``try_fast=False``: the fast path already declined these bytes.
    """
    _drop_staged(con)
    if path.suffix == ".parquet":
        try:
            relation = con.sql(f"SELECT * FROM read_parquet('{_sql_str(str(path))}') LIMIT 0")
            header = list(relation.columns)
            select = ", ".join(
                f'CAST("{_sql_name(header[i])}" AS VARCHAR) AS "{c}"'
                for c, i in _column_index(contract, header).items()
            )
            rows = _rows_staged(
                con,
                f"SELECT {select}{', ' if select else ''}"
                f"CAST(file_row_number + 1 AS INTEGER) AS _row_number "
                f"FROM read_parquet('{_sql_str(str(path))}', file_row_number = true)",
            )
        except duckdb.Error as error:  # not Parquet, truncated, corrupt: the file cannot be read at all
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise IngestError(f"{path.parent.name}/{path.name} cannot be read as Parquet: {first}") from error
        parsed = _Parsed(header, [], [], rows_read=rows, physical_lines=rows, record_lines=rows)
        return parsed, header
    decoding = decoding or _Decoding("utf-8", "", "invalid UTF-8", True)
    if decoding.encoding != "utf-8" and not decoding.clean:  # lines that do not decode: reference parser only
        parsed = _stage_csv_reference(con, contract, data, decoding.bad_reason, decoding.encoding)
        return parsed, parsed.header
    # Staged as UTF-8: a file in another encoding is re-encoded first (the archive keeps the delivered bytes).
    utf8 = data if decoding.encoding == "utf-8" else data.decode(decoding.encoding).encode("utf-8")
    fast = None
    if try_fast:
        with ExitStack() as local:
            csv_path = (keep or local).enter_context(_as_file(path, utf8, as_delivered and utf8 is data))
            fast = _stage_csv_fast(con, contract, csv_path, None, decoding.bad_reason)
            if fast is not None and keep is None:  # the view must not outlive its file
                _materialise_staged(con)
    csv_parsed = fast if fast is not None else _stage_csv_reference(con, contract, utf8, decoding.bad_reason)
    return csv_parsed, csv_parsed.header


def _rows_staged(con: duckdb.DuckDBPyConnection, select: str) -> int:
    """Stage the rows of ``select`` as table ``_staged_rows`` and view ``_staged`` over it; how many."""
    created = con.execute(f"CREATE TEMP TABLE _staged_rows AS {select}").fetchone()
    con.execute("CREATE TEMP VIEW _staged AS SELECT * FROM _staged_rows")
    return int(created[0]) if created else 0


def _materialise_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Copy what the fast path's ``_staged`` view reads into ``_staged_rows`` (its file is about to go)."""
    con.execute("CREATE TEMP TABLE _staged_rows AS SELECT * FROM _staged")
    _drop_tables(con, *_FAST_TEMP, view="_staged")
    con.execute("CREATE TEMP VIEW _staged AS SELECT * FROM _staged_rows")


@contextmanager
def _as_file(path: Path, data: bytes, same: bool) -> Iterator[Path]:
    """``path`` if it holds ``data`` (``same``), else a temporary file that does (for DuckDB's reader)."""
    if same:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="regwatch-ingest-") as folder:
        staged = Path(folder) / path.name
        staged.write_bytes(data)
        yield staged


def _stage_csv_reference(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    data: bytes,
    bad_bytes: str = "invalid UTF-8",
    encoding: str = "utf-8",
) -> _Parsed:
    """Stage a CSV parsed by :func:`_parse_csv` (any CSV: quoted fields, embedded line ends)."""
    parsed = _parse_csv(data, bad_bytes, encoding)
    index = _column_index(contract, parsed.header)
    present = list(index)
    frame = pd.DataFrame(
        {name: pd.Series([row[i] for _, row in parsed.rows], dtype=object) for name, i in index.items()}
        | {"_row_number": pd.Series([n for n, _ in parsed.rows], dtype="int64")}
    )
    con.register("_staged_frame", frame)
    select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in present)
    _rows_staged(
        con,
        f"SELECT {select}{', ' if select else ''}CAST(_row_number AS INTEGER) AS _row_number FROM _staged_frame",
    )
    con.unregister("_staged_frame")
    parsed.rows = []  # staged now; the Python lists can go
    return parsed


def _header_key(name: str) -> str:
    """A header name as matched against the contract: BOM and surrounding spaces dropped, lower case."""
    return name.replace("\ufeff", "").strip().lower()


def _column_index(contract: FileContract, header: Sequence[str]) -> dict[str, int]:
    """Contract column -> position of the first header field naming it (in contract order)."""
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        key = _header_key(name)
        if key in contract.column_names and key not in found:
            found[key] = position
    return {c: found[c] for c in contract.column_names if c in found}


def _sql_name(name: str) -> str:
    """A column name as it goes between double quotes in SQL."""
    return name.replace('"', '""')


def _sql_str(value: str) -> str:
    return value.replace("'", "''")


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{_sql_str(v)}'" for v in values)


def _reason_sql(col: Column, markers: Sequence[str] = (), value: str | None = None) -> str:
    """SQL giving why ``col``'s value breaks the contract, or NULL when it is fine.

    ``value``: a column holding :func:`_value_sql` already (computed once: trimming every
    value again in each check was most of a big file's check time).
    """
    v = value or _value_sql(col, markers)
    checks: list[tuple[str, str]] = []
    if col.required:
        checks.append((f"{v} IS NULL", "missing required value"))
    if col.type in _FORMATS:
        pattern, cast_type, reason = _FORMATS[col.type]
        cond = f"NOT regexp_full_match({v}, '{pattern}')"
        if cast_type is not None:
            cond += f" OR TRY_CAST({v} AS {cast_type}) IS NULL"
        checks.append((cond, reason))
    elif col.type == "boolean":
        checks.append((f"lower({v}) NOT IN ({_sql_list(_BOOLEANS)})", "wrong type: expected true or false"))
    elif col.type == "enum":
        checks.append(
            (
                _not_in_sql(v, col.values),
                f"unknown enum value (expected one of {', '.join(col.values)})",
            )
        )
    elif col.type == "currency":
        checks.append((_not_in_sql(v, sorted(CURRENCIES)), "unknown currency (not an ISO 4217 code)"))
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


def _trimmed_sql(name: str) -> str:
    """SQL of ``trim(name)``, trimming only a value that could change.

    DuckDB's ``trim`` removes the Unicode space separators at both ends (the space, U+00A0,
    U+2000-U+200A, U+3000...): an ASCII value with no space at either end is its own trimmed
    value (``strlen <> length``: a non-ASCII character is more than one byte). Testing that
    costs a third of trimming (copying) every value.
    """
    n = f'"{name}"'
    return (
        f"CASE WHEN {n} LIKE ' %' OR {n} LIKE '% ' OR strlen({n}) <> length({n}) THEN trim({n}) ELSE {n} END"
    )


def _value_sql(col: Column, markers: Sequence[str] = ()) -> str:
    """SQL of a column's trimmed value, NULL when empty or one of the source's null markers."""
    trimmed = _trimmed_sql(col.name)
    if not markers:
        return f"NULLIF({trimmed}, '')"
    return f"CASE WHEN {trimmed} IN ({_sql_list(['', *markers])}) THEN NULL ELSE {trimmed} END"


def _not_in_sql(value: str, values: Sequence[str]) -> str:
    """SQL true when the (non-null) ``value`` is none of ``values``; a long list by a cast to an ENUM of
    them (a hash lookup: a 180-code IN list costs eight times as much per row)."""
    if len(values) <= 8:
        return f"{value} NOT IN ({_sql_list(values)})"
    return f"TRY_CAST({value} AS ENUM({_sql_list(values)})) IS NULL"


def _cast_sql(col: Column, markers: Sequence[str] = (), value: str | None = None) -> str:
    v = value or _value_sql(col, markers)
    if col.type == "boolean":
        return f"lower({v}) IN ('true', '1')"
    if col.type in ("string", "enum", "currency"):
        if markers:
            return f'CASE WHEN {v} IS NULL THEN NULL ELSE "{col.name}" END'
        return f"NULLIF(\"{col.name}\", '')"
    return f"CAST({v} AS {col.sql_type})"


def _record_nulled(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    nullable: dict[str, str],
    lineage: list[object],
    raw_json: str,
) -> list[str]:
    """Record the optional values a screening list's loaded entries lost; a note on how many, by column."""
    counts: list[str] = []
    for column, why in nullable.items():
        con.execute(
            f"""INSERT INTO quarantine.nulled_values
                SELECT ?, ?, ?, ?, _row_number, '{column}', "{column}",
                       'optional value nulled, entry kept for screening: ' || {why}, {raw_json}
                FROM _checked
                WHERE {why} IS NOT NULL
                  AND _reason IS NULL AND _first_row IS NULL
                ORDER BY _row_number""",
            lineage,
        )
        row = con.execute(
            "SELECT count(*) FROM quarantine.nulled_values WHERE _load_id = ? AND file_name = ? AND column_name = ?",
            [lineage[0], contract.name, column],
        ).fetchone()
        if row and row[0]:
            counts.append(f"{column}: {row[0]}")
    if not counts:
        return []
    total = sum(int(c.rsplit(": ", 1)[1]) for c in counts)
    return [
        f"{total} invalid optional value{'s' if total > 1 else ''} nulled, entries kept for screening"
        f" ({', '.join(counts)}; see quarantine.nulled_values)"
    ]


def _count_markers(
    con: duckdb.DuckDBPyConnection, present: list[Column], markers: Sequence[str]
) -> list[str]:
    """A note on how many values were the source's own null markers (read as empty)."""
    total = " + ".join(f'count(*) FILTER (WHERE trim("{c.name}") IN ({_sql_list(markers)}))' for c in present)
    row = con.execute(f"SELECT {total} FROM _checked").fetchone()
    found = int(row[0]) if row and row[0] else 0
    if not found:
        return []
    return [
        f"{found} value{'s' if found > 1 else ''} given as the list's null marker ({', '.join(markers)}) read as empty"
    ]


def _load_file(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    path: Path,
    digest: str,
    source: str,
    business_date: date,
    load_id: str,
    declared: tuple[str, str] | None = None,
) -> FileLoad:
    """Load one file: staged as text once, checked in one pass, typed rows and quarantine rows both
    selected from that pass (``_checked``). ``digest`` is the sha256 the load is named by: the
    file read now must have it (a file that changed since it was hashed stops the load).

    A UTF-8 CSV is never held whole in Python: it is read by pieces (:func:`_scan_csv`) and
    staged by DuckDB (:func:`_stage_csv_fast`). Only a file the fast path cannot stage (quoted
    fields, another encoding, a Ctrl-Z end) is read whole, as the reference parser needs.
    """
    with ExitStack() as keep:  # a staged copy of the file lives until the load ends
        name = contract.name
        notes: list[str] = []
        changed = IngestError(
            f"{source} changed while it was ingested (sha256 differs from the one hashed "
            "and archived): deliver the date again"
        )
        stamp: tuple[int, int] | None = None
        if path.suffix == ".parquet":
            if sha256_file(path) != digest:
                raise changed
            decoding = _Decoding("utf-8", "Parquet (strings are UTF-8 by format)", "", True)
            parsed, header = _stage(con, contract, path, b"", decoding)
            empty = path.stat().st_size == 0
        else:
            scan = _scan_csv(path)
            if scan.sha256 != digest:
                raise changed
            stamp = scan.stamp
            streamed = None if scan.ends_ctrl_z else _decoding_of(scan, path, contract, declared)
            fast = (
                None if streamed is None else _stage_csv_fast(con, contract, path, scan, streamed.bad_reason)
            )
            if fast is not None and streamed is not None:
                decoding, parsed, header, empty = streamed, fast, fast.header, scan.size == 0
            else:  # read whole: the reference parser, or bytes re-encoded to UTF-8 first
                data = path.read_bytes()
                if sha256_bytes(data) != digest:
                    raise changed
                body = data
                if body.endswith(_CTRL_Z):  # DOS end-of-file mark, as some list publishers still write
                    body = body.rstrip(_CTRL_Z)
                    notes.append("trailing end-of-file byte 0x1A (Ctrl-Z) ignored")
                decoding = _choose_encoding(body, contract, declared)
                parsed, header = _stage(
                    con, contract, path, body, decoding, body is data, keep, try_fast=streamed is None
                )
                empty = not body
                del data, body
            if decoding.evidence not in ("ASCII only", "valid UTF-8"):
                notes.append(f"read as {decoding.encoding}: {decoding.evidence}")
        index = _column_index(contract, header)
        extra = [h for h in header if _header_key(h) not in contract.column_names]
        if extra:
            notes.append(f"unexpected column{'s' if len(extra) > 1 else ''} ignored: {', '.join(extra)}")
        renamed = [f"{header[i]!r} as {c}" for c, i in index.items() if header[i] != c]
        if renamed:
            notes.append(f"header matched ignoring case, spaces and BOM: {', '.join(renamed)}")
        keys = [_header_key(h) for h in header]
        twice = sorted({k for k in keys if k in contract.column_names and keys.count(k) > 1})
        missing_required = [c.name for c in contract.columns if c.required and c.name not in index]
        missing_optional = [c.name for c in contract.columns if not c.required and c.name not in index]
        rejection = _header_rejection(contract, header, index, missing_required, twice)
        if missing_optional:
            notes.append(
                f"optional column{'s' if len(missing_optional) > 1 else ''} absent: {', '.join(missing_optional)}"
            )
        lineage = [load_id, business_date, source, name]
        quarantined = 0  # rows this file puts into quarantine.rows, counted as each insert reports them

        if parsed.rejects:  # one insert for all (a big file can have thousands)
            rejects = pd.DataFrame(
                parsed.rejects,
                columns=["row_number", "column_name", "value", "reason", "raw_record"],
                dtype=object,
            )
            con.register("_rejects", rejects)
            quarantined += _inserted(
                con,
                "INSERT INTO quarantine.rows SELECT ?, ?, ?, ?, CAST(row_number AS INTEGER), CAST(column_name AS VARCHAR),"
                " CAST(value AS VARCHAR), reason, raw_record FROM _rejects ORDER BY row_number",
                lineage,
            )
            con.unregister("_rejects")
        present = [c for c in contract.columns if c.name in index]
        raw_json = (
            "to_json(struct_pack(" + ", ".join(f'"{c.name}" := "{c.name}"' for c in present) + "))"
            if present
            else "NULL"
        )

        if rejection is not None:
            reason = rejection
            notes.append(f"{reason}: whole file quarantined")
            quarantined += _inserted(
                con,
                f"INSERT INTO quarantine.rows SELECT ?, ?, ?, ?, _row_number, ?, NULL, ?, {raw_json} FROM _staged",
                [*lineage, (missing_required or twice)[0], f"{reason}: whole file quarantined"],
            )
            loaded = 0
        else:
            # One pass over the staged text: each column's reason computed once (inner query),
            # the first one wins. A screening list keeps a row whose only fault is an optional
            # value: that value is nulled (and recorded), the entry is still screened. Typed
            # raw rows and quarantine rows are both selected from this one table, in file order.
            markers = contract.null_markers
            why = {c.name: f'"_why_{i}"' for i, c in enumerate(present)}
            nullable = {c.name: why[c.name] for c in present if contract.screening_list and not c.required}
            fatal = {col: w for col, w in why.items() if col not in nullable}
            # Each value trimmed once (_v_i), every check and cast reads that; _checked keeps it only
            # where the cast needs it (not for text columns, which load as delivered).
            value = {c.name: f'"_v_{i}"' for i, c in enumerate(present)}
            values = ", ".join(f"{_value_sql(c, markers)} AS {value[c.name]}" for c in present)
            reasons = ", ".join(f"{_reason_sql(c, markers, value[c.name])} AS {why[c.name]}" for c in present)
            text_only = [
                value[c.name] for c in present if c.type in ("string", "enum", "currency") and not markers
            ]
            first_column = (
                "COALESCE("
                + ", ".join(f"CASE WHEN {w} IS NOT NULL THEN '{col}' END" for col, w in fatal.items())
                + ")"
            )
            first_reason = "COALESCE(" + ", ".join(fatal.values()) + ")"
            staged = _inserted(
                con,
                f"""CREATE OR REPLACE TEMP TABLE _checked AS
                    SELECT * EXCLUDE ({", ".join([*fatal.values(), *text_only])}),
                           {first_column} AS _bad_column, {first_reason} AS _reason,
                           CAST(NULL AS INTEGER) AS _first_row
                    FROM (SELECT *, {reasons} FROM (SELECT *, {values} FROM _staged))""",
            )
            _drop_staged(con)  # the fast path's file read ends here; the staged text is not kept twice
            if staged != parsed.rows_read - len(parsed.rejects) or (
                stamp is not None and _stamp(path) != stamp
            ):
                raise changed
            typed = {
                c.name: f"CASE WHEN {nullable[c.name]} IS NULL THEN {_cast_sql(c, markers, value[c.name])} END"
                if c.name in nullable
                else _cast_sql(c, markers, value[c.name])
                for c in present
            }
            # Invalid values first, then duplicate keys among the valid rows: the first
            # occurrence of a key loads, every later one is quarantined pointing at it.
            value_of = (
                "CASE _bad_column " + " ".join(f"WHEN '{c.name}' THEN \"{c.name}\"" for c in present) + " END"
            )
            quarantined += _inserted(
                con,
                f"""INSERT INTO quarantine.rows
                    SELECT ?, ?, ?, ?, _row_number, _bad_column, {value_of}, _reason, {raw_json}
                    FROM _checked WHERE _reason IS NOT NULL ORDER BY _row_number""",
                lineage,
            )
            quarantined += _quarantine_duplicates(con, contract, typed, raw_json, lineage)
            all_columns = ", ".join(
                (f'{typed[c.name]} AS "{c.name}"' if c.name in index else f'NULL AS "{c.name}"')
                for c in contract.columns
            )
            # No ORDER BY: a filtered scan of _checked keeps file order (insertion order is preserved).
            loaded = _inserted(
                con,
                f"""INSERT INTO raw.{name}
                    SELECT {all_columns}, ?, ?, ?, _row_number FROM _checked
                    WHERE _reason IS NULL AND _first_row IS NULL""",
                [load_id, business_date, source],
            )
            if nullable:
                notes.extend(_record_nulled(con, contract, nullable, lineage, raw_json))
            if markers:
                notes.extend(_count_markers(con, present, markers))
        _drop_tables(con, "_staged_rows", *_FAST_TEMP, "_checked", "_first_rows", view="_staged")
        if stamp is not None and _stamp(path) != stamp:
            raise changed
        if parsed.blank_lines:
            notes.append(f"{parsed.blank_lines} blank line{'s' if parsed.blank_lines > 1 else ''} skipped")
        if parsed.multiline_records:
            notes.append(
                f"{parsed.multiline_records} record{'s' if parsed.multiline_records > 1 else ''}"
                " spread over several lines (quoted line breaks)"
            )
        status: FileStatus
        why_file: str | None = None
        if parsed.rows_read == 0:
            status = "empty"
            if empty:
                why_file = "0 bytes: no header and no data"
            elif not header:
                why_file = "no header line and no data records"
            else:
                blank = f" ({parsed.blank_lines} blank lines)" if parsed.blank_lines else ""
                why_file = f"header only: no data records{blank}"
            if rejection is not None and header:
                why_file += f"; and {rejection}"
        elif rejection is not None:
            status, why_file = "rejected", rejection
        else:
            status = "loaded_with_quarantine" if quarantined else "loaded"
        return FileLoad(
            name,
            source,
            digest,
            parsed.rows_read,
            loaded,
            quarantined,
            tuple(notes),
            status,
            why_file,
            decoding.encoding,
            decoding.evidence,
            parsed.physical_lines,
        )


def _header_rejection(
    contract: FileContract,
    header: list[str],
    index: dict[str, int],
    missing_required: list[str],
    twice: list[str],
) -> str | None:
    """Why the header makes the whole file unusable (a required column absent or named twice), or None."""
    if twice:
        names = "; ".join(
            f"{key} ({', '.join(repr(h) for h in header if _header_key(h) == key)})" for key in twice
        )
        return f"column named twice: {names}"
    if not missing_required:
        return None
    unmatched = [h for h in header if _header_key(h) not in index]
    described = []
    for column in missing_required:
        close = difflib.get_close_matches(column, [_header_key(h) for h in unmatched], n=1, cutoff=0.5)
        near = next((h for h in unmatched if close and _header_key(h) == close[0]), None)
        described.append(f"{column} (did you mean {near}?)" if near is not None else column)
        if near is not None:
            unmatched.remove(near)
    plural = "s" if len(missing_required) > 1 else ""
    return f"missing required column{plural} {', '.join(described)}"


def _quarantine_duplicates(
    con: duckdb.DuckDBPyConnection,
    contract: FileContract,
    typed: dict[str, str],
    raw_json: str,
    lineage: list[object],
) -> int:
    """Mark (``_checked._first_row``) and quarantine every valid row whose typed key came earlier in
    the file; how many were quarantined.

    The keys that occur more than once are found by one aggregate (it spills under
    DuckDB's memory_limit); only when there are any are their rows marked.
    """
    keys = {f"_k{i}": typed[k] for i, k in enumerate(contract.key)}
    repeated = _inserted(
        con,
        f"""CREATE OR REPLACE TEMP TABLE _first_rows AS
            SELECT {", ".join(keys)}, min(_row_number) AS _first
            FROM (SELECT {", ".join(f"{expr} AS {alias}" for alias, expr in keys.items())}, _row_number
                  FROM _checked WHERE _reason IS NULL)
            GROUP BY ALL HAVING count(*) > 1""",
    )
    if not repeated:
        return 0
    match = " AND ".join(f"({expr}) IS NOT DISTINCT FROM f.{alias}" for alias, expr in keys.items())
    con.execute(
        f"""UPDATE _checked SET _first_row = f._first FROM _first_rows AS f
            WHERE _checked._reason IS NULL AND {match} AND _checked._row_number <> f._first"""
    )
    key_text = " || ', ' || ".join(
        f"'{k}=' || coalesce(CAST(({typed[k]}) AS VARCHAR), '')" for k in contract.key
    )
    return _inserted(
        con,
        f"""INSERT INTO quarantine.rows
            SELECT ?, ?, ?, ?, _row_number, '{", ".join(contract.key)}', {key_text},
                   'duplicate key within the file (first at row ' || _first_row || ')', {raw_json}
            FROM _checked WHERE _first_row IS NOT NULL ORDER BY _row_number""",
        lineage,
    )


def _inserted(con: duckdb.DuckDBPyConnection, statement: str, parameters: list[object] | None = None) -> int:
    """Run an ``INSERT`` or ``CREATE TABLE ... AS``; the number of rows it wrote (DuckDB returns it)."""
    row = con.execute(statement, parameters).fetchone()
    return int(row[0]) if row else 0
