"""The DuckDB fast path of CSV staging gives exactly the reference parser's result.

The reference is :func:`regwatch.ingest.load._parse_csv` (Python's csv module). The fast
path must stage the same rows with the same row numbers and reject the same lines
for the same reasons, or decline (return None) so the reference runs instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch import warehouse
from regwatch.contract import CONTRACTS
from regwatch.demo import generate
from regwatch.ingest import load
from tests.conftest import examples

TXN = CONTRACTS["transactions"]
COLUMNS = list(TXN.column_names)


def _staged(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
    relation = con.sql("SELECT * FROM _staged ORDER BY _row_number")
    return list(relation.columns), relation.fetchall()


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _both(con: duckdb.DuckDBPyConnection, path: Path, data: bytes) -> tuple[Any, Any]:
    """(fast, reference): each as (header, rejects, rows_read, physical lines, blank lines, staged columns,
    staged rows); fast may be None."""
    path.write_bytes(data)
    fast = load._stage_csv_fast(con, TXN, path)
    fast_result = None
    if fast is not None:
        fast_result = (fast.header, fast.rejects, fast.rows_read, *_lines(fast), *_staged(con))
        load._drop_staged(con)
    ref = load._stage_csv_reference(con, TXN, data)
    ref_result = (ref.header, ref.rejects, ref.rows_read, *_lines(ref), *_staged(con))
    load._drop_staged(con)
    return fast_result, ref_result


def _lines(parsed: Any) -> tuple[int, int]:
    return parsed.physical_lines, parsed.blank_lines


_FIELD_CHARS = st.sampled_from(["a", "Z", "7", "0", ".", "-", " ", ":", "é", "中", "|", ","])
_field = st.text(_FIELD_CHARS, max_size=6)


@st.composite
def _csv(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A CSV of the transactions file with every kind of damage; True when the fast path must apply."""
    header = draw(st.permutations(COLUMNS))
    if draw(st.booleans()):
        header = [*header, "legacy_flag"]
    if draw(st.integers(0, 4)) == 0:
        header = header[:-1]
    width = len(header)
    term = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(
            st.sampled_from(
                ["good"] * 6
                + ["blank", "short", "long", "utf8", "utf8_short", "spaces"]
                + ["quote_open", "quote_ok", "quote_newline", "quote_stray", "nul", "huge"]
            )
        )
        fields = [draw(_field).replace(",", "") for _ in range(width)]
        if kind == "blank":
            lines.append(b"")
            continue
        if kind == "spaces":
            lines.append(b"   ")
            continue
        if kind == "short":
            fields = fields[: draw(st.integers(0, width - 1))]
        elif kind == "long":
            fields += [draw(_field) for _ in range(draw(st.integers(1, 3)))]
        elif draw(st.booleans()):
            fields[draw(st.integers(0, width - 1))] = draw(_field)  # may carry a comma
        at_field = draw(st.integers(0, width - 1))
        if kind == "quote_open":  # an opening quote never closed
            fields[at_field] = '"' + fields[at_field]
        elif kind == "quote_ok":
            fields[at_field] = '"' + draw(_field).replace('"', '""') + '"'
        elif kind == "quote_newline":
            fields[at_field] = '"' + fields[at_field] + draw(st.sampled_from(["\n", "\r\n", "\r"])) + 'x"'
        elif kind == "quote_stray":  # a quote inside an unquoted field is a literal character
            fields[at_field] = "a" + '"' * draw(st.integers(1, 3)) + fields[at_field]
        elif kind == "nul":
            fields[at_field] += "\x00"
        elif kind == "huge":  # longer than the field limit (lowered to 40 bytes in the test)
            fields[at_field] = "h" * draw(st.integers(38, 45))
        line = ",".join(fields).encode()
        if kind in ("utf8", "utf8_short"):
            at = draw(st.integers(0, len(line)))
            bad = draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xe4\xb8", b"\xed\xa0\x80", b"\xc0\xaf"]))
            line = line[:at] + bad + line[at:]
            if kind == "utf8_short":
                line = line.split(b",")[0]
        lines.append(line)
    data = b",".join(h.encode() for h in header) + term + term.join(lines)
    if draw(st.booleans()):
        data += term
    if draw(st.integers(0, 5)) == 0:
        data = b"\xef\xbb\xbf" + data
    lines_of = data.replace(b"\r\n", b"\n").split(b"\n")
    eligible = b'"' not in data and b"\x00" not in data and max(len(line) for line in lines_of) <= 40
    spoil = draw(st.integers(0, 9))
    if spoil == 0:  # a quoted field: only the reference parser reads quotes
        data = data.replace(term, term + b'"x,y",', 1)
        eligible = False
    elif spoil == 1 and term == b"\n":  # a lone carriage return ends a record for Python's csv
        data = data.replace(b"\n", b"\r", 1)
        eligible = False
    body = data.split(term, 1)[1] if term in data else b""
    if not body:
        eligible = False
    return data, eligible


@settings(
    max_examples=examples(full=80, fast=20),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=_csv())
def test_fast_path_equals_the_reference_parser(
    case: tuple[bytes, bool], con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Damaged files included: broken and multi-line quotes, NUL bytes, oversized fields."""
    data, eligible = case
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(load, "_MAX_FIELD", 40)
        fast, ref = _both(con, tmp_path / "transactions.csv", data)
        parsed = load._parse_csv(data)
    if eligible:
        assert fast is not None, "the fast path declined a file it handles"
    if fast is not None:
        assert fast == ref
    # Every physical line accounted for: blank, or a line of a record staged or quarantined.
    assert parsed.rows_read == len(parsed.rows) + len(parsed.rejects)
    numbers = sorted([n for n, _ in parsed.rows] + [r[0] for r in parsed.rejects])
    assert len(set(numbers)) == len(numbers) == parsed.rows_read
    assert parsed.physical_lines == parsed.blank_lines + parsed.record_lines
    header_lines = 1 if load._physical_lines(_text(data)) else 0
    assert header_lines + parsed.physical_lines == len(load._physical_lines(_text(data)))


def _text(data: bytes) -> str:
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")


def test_fast_path_with_small_buffers_read_in_parallel(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many DuckDB buffers (read by both cores): rows keep file order, numbers stay exact."""
    monkeypatch.setattr(load, "_CSV_BUFFER_SIZE", 4096)
    monkeypatch.setattr(load, "_CSV_MAX_LINE", 1024)
    monkeypatch.setattr(load, "_UTF8_PIECE", 1000)
    rng = random.Random(5)
    lines = [",".join(COLUMNS).encode()]
    for i in range(12_000):
        fields = [f"TX{i:08d}", f"A{rng.randrange(999):05d}", "2025-06-02 10:00:00", "credit", "12.50", "CNY"]
        fields += ["cash", "", "", "", "deposit"]
        line = ",".join(fields).encode()
        roll = rng.random()
        if roll < 0.003:
            line = b""
        elif roll < 0.006:
            line = line.replace(b"deposit", b"dep\xffosit")
        elif roll < 0.009:
            line = line + b",extra"
        elif roll < 0.012:
            line = line.rsplit(b",", 2)[0]
        lines.append(line)
    data = b"\n".join(lines) + b"\n"
    fast, ref = _both(con, tmp_path / "transactions.csv", data)
    assert fast is not None
    assert len(ref[1]) > 80, "the file has bad lines all over it"
    assert fast == ref


def test_trailing_delimiter_blank_lines_and_crlf(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """DuckDB lets "a,b,c," pass as three fields: the fast path still quarantines it as four."""
    good = b"TX1,A1,2025-06-02 10:00:00,credit,1.00,CNY,cash,,,,"
    for term in (b"\n", b"\r\n"):
        lines = [",".join(COLUMNS).encode(), good, b"", good.replace(b"TX1", b"TX2") + b",", b"", good[:-1]]
        data = term.join(lines) + term
        fast, ref = _both(con, tmp_path / "transactions.csv", data)
        assert fast is not None and fast == ref
        assert [(r[0], r[3]) for r in ref[1]] == [
            (3, "malformed record: 12 fields, header has 11"),
            (5, "malformed record: 10 fields, header has 11"),
        ]
        assert [row[-1] for row in ref[6]] == [1]


def test_whole_days_of_the_demo_platform_load_the_same_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every table ingest writes is identical with and without the fast path, every bad-input class included."""
    start = date(2025, 6, 2)
    landing = tmp_path / "landing"
    generate(landing, start, start + timedelta(days=4), loans=200, accounts=150, seed=3)
    with (landing / "_truth" / "malformed.csv").open() as handle:
        marked = [line.split(",") for line in handle.read().splitlines()[1:]]
    # The fewest days that hold every bad-input class the generator wrote.
    days: list[str] = []
    missing = {row[3] for row in marked}
    assert {"invalid_utf8", "duplicate_key"} <= missing
    while missing:
        best = max(
            sorted({row[1] for row in marked}),
            key=lambda d: len({r[3] for r in marked if r[1] == d} & missing),
        )
        days.append(best)
        missing -= {r[3] for r in marked if r[1] == best}

    used: list[bool] = []
    real_fast: Callable[..., Any] = load._stage_csv_fast

    def counting(*args: Any) -> Any:
        result = real_fast(*args)
        used.append(result is not None)
        return result

    def tables(path: Path, fast: bool) -> dict[str, list[tuple[Any, ...]]]:
        monkeypatch.setattr(load, "_stage_csv_fast", counting if fast else lambda *args: None)
        with warehouse.connect(path) as con:
            for day in days:
                load.ingest_day(con, landing, date.fromisoformat(day))
            names = ["quarantine.rows", "results.load_log", *(f"raw.{n}" for n in CONTRACTS)]
            return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}

    via_fast = tables(tmp_path / "fast.duckdb", fast=True)
    via_reference = tables(tmp_path / "reference.duckdb", fast=False)
    assert used and all(used), "the fast path applies to every generated file"
    assert via_fast == via_reference
    assert any("invalid encoding" in r[7] for r in via_fast["quarantine.rows"])
