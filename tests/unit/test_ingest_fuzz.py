"""Fuzzing the landing folder (issue 13): whatever arrives, ingest accounts for every record.

Hypothesis damages the files of a small delivery at random (bytes flipped, inserted or
cut, quotes, NUL bytes, Ctrl-Z, line ends mixed, header names renamed or re-cased,
other encodings, truncation, emptied files) and asserts for every case: no exception
but an :class:`IngestError`, every file has a status and, when it is not loaded clean,
a reason or quarantined rows; rows read = loaded + quarantined, matching the tables;
every physical line after the header counted. ``derandomize`` makes the examples the
same on every run (CI is reproducible); ``max_examples`` keeps it well under a minute
(40 under ``make test``, the first 10 of them under ``make test-fast``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch import warehouse
from regwatch.contract import CONTRACTS
from regwatch.ingest.load import IngestError, ingest_day
from tests.conftest import DAY, GOOD_ROWS, examples

FILES: dict[str, str] = {
    **GOOD_ROWS,
    "transactions": GOOD_ROWS["transactions"]
    + "".join(
        f'T{i},A1,2025-06-02 11:{i:02d}:00,debit,{i}.50,CNY,transfer,6222{i:08d},王芳{i}号,CN,"rent, June"\n'
        for i in range(2, 12)
    ),
    "watchlist": "list_id,name,aliases,date_of_birth,country,list_name\r\n"
    + "".join(f"W{i},José Núñez {i},-0-,1960-01-{i:02d},-0-,SDN\r\n" for i in range(1, 8)),
}
STATUSES = {"loaded", "loaded_with_quarantine", "rejected", "empty"}
_LINE_END = re.compile(rb"\r\n|\r|\n")


@st.composite
def _damage(draw: st.DrawFn) -> dict[str, bytes]:
    """The delivery's files after a few random injuries."""
    files = {name: text.encode() for name, text in FILES.items()}
    # Positions come from a seeded Random: spread over the file, not hypothesis's favourite 0.
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        data = files[name]
        kind = draw(
            st.sampled_from(
                [
                    "flip",
                    "insert",
                    "cut",
                    "truncate",
                    "header_case",
                    "header_rename",
                    "encoding",
                    "crlf_mix",
                    "empty",
                    "duplicate_line",
                ]
            )
        )
        at = rnd.randrange(max(1, len(data)))
        if kind == "flip" and data:
            data = data[:at] + bytes([data[at] ^ rnd.randrange(1, 256)]) + data[at + 1 :]
        elif kind == "insert":
            piece = draw(
                st.sampled_from(
                    [b'"', b'""', b"\x00", b"\r", b"\n", b",", b"\x1a", b"\xff", b"\xe4\xb8", b"\xef\xbb\xbf"]
                )
            )
            data = data[:at] + piece * rnd.randint(1, 3) + data[at:]
        elif kind == "cut":
            data = data[:at] + data[at + rnd.randint(1, 40) :]
        elif kind == "truncate":
            data = data[:at]
        elif kind in ("header_case", "header_rename"):
            header, _, body = data.partition(b"\n")
            columns = header.split(b",")
            i = rnd.randrange(len(columns))
            columns[i] = columns[i].upper() if kind == "header_case" else b"x_" + columns[i]
            data = b",".join(columns) + (b"\n" + body if _ else b"")
        elif kind == "encoding":
            codec = draw(st.sampled_from(["gb18030", "latin-1", "utf-8-sig", "cp1252"]))
            text = data.decode("utf-8", errors="surrogateescape")
            data = text.encode(codec, errors="replace" if codec != "gb18030" else "surrogateescape")
        elif kind == "crlf_mix":
            data = data.replace(b"\n", b"\r\n", rnd.randint(1, 5))
        elif kind == "empty":
            data = b""
        elif kind == "duplicate_line":
            lines = data.split(b"\n")
            j = rnd.randrange(len(lines))
            data = b"\n".join([*lines[: j + 1], lines[j], *lines[j + 1 :]])
        files[name] = data
    manifest = draw(
        st.sampled_from(
            [
                None,
                None,
                None,
                b"encoding: gb18030\n",
                b"encoding: {transactions: latin-1, watchlist: utf-8}\n",
                b"encoding: [\n",
            ]
        )
    )
    if manifest is not None:  # a declaration, right or wrong for the bytes, or one that does not read
        files["_delivery.yml"] = manifest
    return files


def _physical_lines(data: bytes) -> int:
    """Lines after the header, counted on the bytes (every encoding ingest reads keeps CR, LF ASCII)."""
    data = data.rstrip(b"\x1a")
    if not data:
        return 0
    lines = len(_LINE_END.findall(data)) + (0 if data.endswith((b"\n", b"\r")) else 1)
    return lines - 1


@settings(
    max_examples=examples(full=40, fast=10),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=_damage())
def test_whatever_arrives_every_record_is_accounted_for(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="regwatch-fuzz-") as root:
        folder = Path(root) / DAY.isoformat()
        folder.mkdir()
        for name, data in files.items():
            (folder / (name if name.startswith("_") else f"{name}.csv")).write_bytes(data)
        con = duckdb.connect()
        try:
            warehouse.ensure_schema(con)
            try:
                result = ingest_day(con, Path(root), DAY)
            except IngestError:
                return  # a documented refusal (bad input, exit 2)
            assert {f.file_name for f in result.files} == set(files) - {"_delivery.yml"}
            for load in result.files:
                data = files[load.file_name]
                assert load.status in STATUSES
                assert load.rows_read == load.rows_loaded + load.rows_quarantined, load
                assert load.physical_lines == _physical_lines(data), load
                assert load.physical_lines >= load.rows_read
                if load.status in ("rejected", "empty"):
                    assert load.reason and load.rows_loaded == 0
                if load.status == "empty":
                    assert load.rows_read == 0
                if load.status == "loaded":
                    assert load.rows_quarantined == 0 and load.reason is None
                if load.status == "loaded_with_quarantine":
                    assert load.rows_quarantined > 0
                raw = con.execute(
                    f"SELECT count(*) FROM raw.{load.file_name} WHERE _load_id = ?", [result.load_id]
                ).fetchone()
                quarantined = con.execute(
                    "SELECT count(*), count(DISTINCT row_number) FROM quarantine.rows"
                    " WHERE _load_id = ? AND file_name = ?",
                    [result.load_id, load.file_name],
                ).fetchone()
                assert raw == (load.rows_loaded,)
                assert quarantined == (load.rows_quarantined, load.rows_quarantined), "one row per record"
            assert {f.file_name for f in result.files} <= set(CONTRACTS)
        finally:
            con.close()
