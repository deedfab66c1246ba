"""Ingest at scale (issue 17, point 4): files hashed and archived in chunks, one file in memory at a time.

The trap of moving to a typed ``read_csv``: DuckDB's DECIMAL(18,2) read rounds
``12.345`` to ``12.35`` without a reject; regwatch quarantines it (either staging path).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regwatch import warehouse
from regwatch.contract import CONTRACTS
from regwatch.files import sha256_bytes, sha256_file
from regwatch.ingest import load as ingest
from regwatch.ledger.archive import Archive
from tests.conftest import DAY, GOOD_ROWS

TXN = b"T9,A1,2025-06-02 12:00:00,debit,12.345,CNY,transfer,6222,Li Na,CN,rent\n"


@pytest.mark.parametrize("fast", [True, False])
def test_an_amount_with_three_decimals_is_quarantined_not_rounded(
    fast: bool, make_landing: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(ingest, "_stage_csv_fast", lambda *args: None)
    landing = make_landing(extra={"transactions": TXN})
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ingest.ingest_day(con, landing, DAY)
        assert con.execute("SELECT amount FROM raw.transactions ORDER BY txn_id").fetchall() == [
            (pytest.approx(50000),)
        ]
        assert con.execute(
            "SELECT row_number, column_name, value, reason FROM quarantine.rows"
        ).fetchall() == [(2, "amount", "12.345", "wrong type: expected an amount with at most 2 decimals")]


def test_archive_put_file_streams_to_the_same_object(tmp_path: Path) -> None:
    data = b"a,b\n" + b"1,2\n" * 300_000  # several chunks
    source = tmp_path / "big.csv"
    source.write_bytes(data)
    archive = Archive(tmp_path / "archive")
    digest = archive.put_file(source)
    assert digest == sha256_bytes(data)
    assert archive.get(digest) == data
    assert archive.put_file(source) == digest  # present: a no-op
    assert not list((tmp_path / "archive").rglob("*.tmp"))


def test_no_file_is_read_whole_before_its_turn(
    make_landing: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing and archiving stream; a CSV the fast path stages is never read whole, one the
    reference parser needs (a quoted field) is read whole only when its turn comes."""
    quoted = b'T2,A1,2025-06-02 12:00:00,debit,1.00,CNY,transfer,6222,"Li, Na",CN,rent\n'
    landing = make_landing(extra={"transactions": quoted})
    events: list[tuple[str, str]] = []
    real_read = Path.read_bytes
    real_load: Any = ingest._load_file

    def read_bytes(self: Path) -> bytes:
        if self.suffix == ".csv" and self.parent.name == DAY.isoformat():
            events.append(("read", self.stem))
        return real_read(self)

    def load_file(con: Any, contract: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        events.append(("load", contract.name))
        return real_load(con, contract, path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(ingest, "_load_file", load_file)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        result = ingest.ingest_day(con, landing, DAY, Archive(tmp_path / "archive"))
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (2,)
    names = sorted(f.file_name for f in result.files)
    expected = [("load", name) for name in names]
    expected.insert(expected.index(("load", "transactions")) + 1, ("read", "transactions"))
    assert events == expected


def test_a_big_csv_is_staged_without_its_bytes_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's peak memory while an 18 MB file loads is a few pieces of it, not the file (issue 17)."""
    monkeypatch.setattr(ingest, "_UTF8_PIECE", 1 << 16)
    header = GOOD_ROWS["transactions"].splitlines()[0]
    rows = "".join(
        f"T{i:07d},A{i % 977:04d},2025-06-02 11:{i % 60:02d}:00,credit,{i % 90000}.{i % 100:02d},CNY,cash,"
        f"6222{i:08d},Name {i % 313},CN,deposit\n"
        for i in range(200_000)
    )
    bad = "T9999999,A1,2025-06-02 11:00:00,credit,12.345,CNY,cash,,,,deposit\n"
    path = tmp_path / DAY.isoformat() / "transactions.csv"
    path.parent.mkdir()
    path.write_text(header + "\n" + rows + bad + "T0000001,A2,2025-06-02 11:00:00,debit,1.00,CNY,cash,,,,x\n")
    size = path.stat().st_size
    assert size > 18_000_000
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        tracemalloc.start()
        try:
            load = ingest._load_file(con, CONTRACTS["transactions"], path, sha256_file(path), "t", DAY, "L1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (load.rows_read, load.rows_loaded, load.rows_quarantined) == (200_002, 200_000, 2)
        assert con.execute(
            "SELECT row_number, reason FROM quarantine.rows ORDER BY row_number"
        ).fetchall() == [
            (200_001, "wrong type: expected an amount with at most 2 decimals"),
            (200_002, "duplicate key within the file (first at row 2)"),
        ]
        assert con.execute(
            "SELECT min(_row_number), max(_row_number), count(DISTINCT _row_number) FROM raw.transactions"
        ).fetchone() == (1, 200_000, 200_000)
    assert peak < size / 4, f"Python held {peak / 1e6:.1f} MB while loading a {size / 1e6:.1f} MB file"


def test_a_file_that_changes_while_it_is_ingested_stops_the_load(
    make_landing: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = make_landing()
    real_load: Any = ingest._load_file

    def load_file(con: Any, contract: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "transactions.csv":  # the file as it is when its turn comes, not as hashed
            path.write_bytes(path.read_bytes() + TXN)
        return real_load(con, contract, path, *args, **kwargs)

    monkeypatch.setattr(ingest, "_load_file", load_file)
    with (
        warehouse.connect(tmp_path / "w.duckdb") as con,
        pytest.raises(ingest.IngestError, match="changed while it was ingested"),
    ):
        ingest.ingest_day(con, landing, DAY)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (0,)
