"""Ingest at scale (issue 17, point 4): files hashed and archived in chunks, one file in memory at a time.

The trap of moving to a typed ``read_csv``: DuckDB's DECIMAL(18,2) read rounds
``12.345`` to ``12.35`` without a reject; regwatch quarantines it (either staging path).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regwatch import warehouse
from regwatch.files import sha256_bytes
from regwatch.ingest import load as ingest
from regwatch.ledger.archive import Archive
from tests.conftest import DAY

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
    """Hashing and archiving stream; a file's bytes are read when it is loaded, one file at a time."""
    landing = make_landing()
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
    names = sorted(f.file_name for f in result.files)
    # read, load, read, load ...: never two files whole at once, nothing read for hashing or the archive
    assert events == [(kind, name) for name in names for kind in ("read", "load")]


def test_a_file_that_changes_while_it_is_ingested_stops_the_load(
    make_landing: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = make_landing()
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        data = real_read(self)
        if self.name == "transactions.csv":  # the file as it is when its turn comes, not as hashed
            (landing / DAY.isoformat() / "transactions.csv").write_bytes(data + TXN)
            return data + TXN
        return data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with (
        warehouse.connect(tmp_path / "w.duckdb") as con,
        pytest.raises(ingest.IngestError, match="changed while it was ingested"),
    ):
        ingest.ingest_day(con, landing, DAY)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT count(*) FROM raw.transactions").fetchone() == (0,)
