"""Damaged deliveries (issue 13): every physical record accounted for, every whole-file fault named.

Each test reproduces an observation made on 3d91e1f (where it failed) and pins the
behaviour now: a broken line is quarantined with its physical line number and the
rest of the file still loads; a header fault rejects the file naming the column
and the header closest to it; an empty file says so; stray files are listed with
the contract file they most likely are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regwatch import warehouse
from regwatch.ingest.load import FileLoad, IngestError, IngestResult, MissingInputError, ingest_day
from tests.conftest import DAY, GOOD_ROWS

TXN_HEADER = GOOD_ROWS["transactions"].splitlines()[0]


def _txn(i: int, purpose: str = "deposit", txn_id: str | None = None) -> str:
    return f"{txn_id or f'T{i:04d}'},A1,2025-06-02 11:00:00,credit,{100 + i}.00,CNY,cash,,,,{purpose}"


def _transactions(lines: list[str], header: str = TXN_HEADER, end: str = "\n") -> bytes:
    return (end.join([header, *lines]) + end).encode()


def _ingest(landing: Path, db: Path) -> tuple[IngestResult, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with warehouse.connect(db) as con:
        result = ingest_day(con, landing, DAY)
        quarantined = con.execute(
            "SELECT file_name, row_number, column_name, value, reason FROM quarantine.rows ORDER BY row_number"
        ).fetchall()
        log = con.execute(
            "SELECT file_name, rows_read, rows_loaded, rows_quarantined, status, reason, physical_lines"
            " FROM results.load_log ORDER BY file_name"
        ).fetchall()
    return result, quarantined, log


def _file(result: IngestResult, name: str) -> FileLoad:
    return next(f for f in result.files if f.file_name == name)


def test_unclosed_quote_quarantines_its_line_only_and_the_file_reads_on(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """3d91e1f: 20 read = 19 loaded + 1 quarantined ("invalid UTF-8"), 142 transactions gone."""
    lines = [_txn(i) for i in range(1, 163)]
    lines[19] = _txn(20, purpose='"deposit')  # data line 20: a quote opened, never closed
    landing = make_landing(replace={"transactions": _transactions(lines)})
    result, quarantined, log = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert (txn.rows_read, txn.rows_loaded, txn.rows_quarantined, txn.physical_lines) == (162, 161, 1, 162)
    assert txn.status == "loaded_with_quarantine"
    assert len(quarantined) == 1
    file_name, row, column, _value, reason = quarantined[0]
    assert (file_name, row, column) == ("transactions", 20, "purpose")
    assert reason.startswith("unterminated quoted field (file line 21)")
    assert ("transactions", 162, 161, 1, "loaded_with_quarantine", None, 162) in log


def test_two_broken_quotes_do_not_pair_up_and_swallow_the_lines_between(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    lines = [_txn(i) for i in range(1, 41)]
    lines[4] = _txn(5, purpose='"dep')
    lines[30] = _txn(31, purpose='dep"osit"x", more')  # an odd number of quotes mid-field: literal in csv
    lines[33] = _txn(34, purpose='"oops')
    landing = make_landing(replace={"transactions": _transactions(lines)})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert txn.balanced and txn.rows_read == 40 and txn.physical_lines == 40
    assert [(r[1], r[4].split(" (")[0]) for r in quarantined] == [
        (5, "unterminated quoted field"),
        (31, "malformed record: 12 fields, header has 11"),
        (34, "unterminated quoted field"),
    ]


def test_a_quoted_line_break_is_one_record_over_two_physical_lines(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    lines = [_txn(1), _txn(2, purpose='"rent\r\nJune"'), _txn(3), "", _txn(4)]
    landing = make_landing(replace={"transactions": _transactions(lines, end="\r\n")})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert not quarantined
    # 6 physical lines after the header: 4 records (one over two lines) + 1 blank line
    assert (txn.rows_read, txn.rows_loaded, txn.physical_lines) == (4, 4, 6)
    assert "1 blank line skipped" in txn.notes
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        rows = con.execute("SELECT _row_number, purpose FROM raw.transactions ORDER BY 1").fetchall()
    assert rows == [(1, "deposit"), (2, "rent\r\nJune"), (4, "deposit"), (6, "deposit")]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_an_oversized_field_is_quarantined_naming_file_and_line(
    quoted: bool, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """3d91e1f: `field larger than field limit (131072)`, the whole ingest stopped, no file or line named."""
    big = "x" * 200_000
    lines = [_txn(1), _txn(2, purpose=f'"{big}"' if quoted else big), _txn(3)]
    landing = make_landing(replace={"transactions": _transactions(lines)})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert (txn.rows_read, txn.rows_loaded, txn.rows_quarantined) == (3, 2, 1)
    assert quarantined[0][1:3] == (2, "purpose")
    assert quarantined[0][4] == "field larger than 131072 bytes (200000 bytes)"


def test_a_nul_byte_inside_an_id_is_quarantined(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    """3d91e1f: "T\\x002" loaded silently as an id."""
    lines = [_txn(1), _txn(2, txn_id="T\x002"), _txn(3)]
    landing = make_landing(replace={"transactions": _transactions(lines)})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert (txn.rows_read, txn.rows_loaded, txn.rows_quarantined) == (3, 2, 1)
    assert quarantined[0][1:] == (2, "txn_id", "T\\x002", "NUL byte in field")


@pytest.mark.parametrize(
    "header",
    [
        TXN_HEADER.replace("amount", "Amount"),
        TXN_HEADER.replace("amount", " AMOUNT "),
        "\ufeff" + TXN_HEADER.replace("txn_id", "Txn_ID"),
    ],
    ids=["capitalised", "spaces-upper", "bom-mixed-case"],
)
def test_header_names_match_ignoring_case_spaces_and_bom(
    header: str, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    landing = make_landing(replace={"transactions": _transactions([_txn(1), _txn(2)], header=header)})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert (txn.status, txn.rows_loaded, quarantined) == ("loaded", 2, [])
    assert any(n.startswith("header matched ignoring case") for n in txn.notes)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT sum(amount) FROM raw.transactions").fetchone() == (203,)


def test_a_renamed_required_column_rejects_the_file_naming_the_closest_header(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """3d91e1f: the day ran without transactions; the reason did not say what the column was called."""
    header = TXN_HEADER.replace("amount", "txn_amount")
    landing = make_landing(replace={"transactions": _transactions([_txn(1), _txn(2)], header=header)})
    result, quarantined, log = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert txn.status == "rejected"
    assert txn.reason == "missing required column amount (did you mean txn_amount?)"
    assert (txn.rows_read, txn.rows_loaded, txn.rows_quarantined) == (2, 0, 2)
    assert [r[1:3] for r in quarantined] == [(1, "amount"), (2, "amount")]
    assert ("transactions", 2, 0, 2, "rejected", txn.reason, 2) in log


def test_a_missing_required_column_without_a_near_name(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    header = TXN_HEADER.replace("channel,", "")
    lines = [_txn(1).replace(",cash,", ",")]
    landing = make_landing(replace={"transactions": _transactions(lines, header=header)})
    result, _, _ = _ingest(landing, tmp_path / "w.duckdb")
    assert (_file(result, "transactions").status, _file(result, "transactions").reason) == (
        "rejected",
        "missing required column channel",
    )


def test_a_column_named_twice_rejects_the_file(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    header = TXN_HEADER + ",Amount"
    landing = make_landing(replace={"transactions": _transactions([_txn(1) + ",5.00"], header=header)})
    result, _, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert txn.status == "rejected"
    assert txn.reason == "column named twice: amount ('amount', 'Amount')"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "0 bytes: no header and no data"),
        (TXN_HEADER.encode() + b"\n", "header only: no data records"),
        (TXN_HEADER.encode() + b"\r\n\r\n\r\n", "header only: no data records (2 blank lines)"),
    ],
    ids=["zero-bytes", "header-only", "header-and-blank-lines"],
)
def test_an_empty_file_is_empty_with_a_reason(
    content: bytes, reason: str, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    landing = make_landing(replace={"transactions": content})
    result, _, log = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert (txn.status, txn.reason, txn.rows_read) == ("empty", reason, 0)
    assert [r[4:6] for r in log if r[0] == "transactions"] == [("empty", reason)]


def test_stray_files_are_listed_with_the_contract_file_they_resemble(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    landing = make_landing()
    folder = landing / DAY.isoformat()
    for name in ("transactions (1).csv", "notes.txt", "Loans.CSV", ".DS_Store"):
        (folder / name).write_bytes(b"x\n")
    (folder / "_delivery.yml").write_bytes(b"encoding: utf-8\n")  # the manifest is no stray file
    result, _, _ = _ingest(landing, tmp_path / "w.duckdb")
    assert result.unknown_files == (
        ("Loans.CSV", "loans"),
        ("notes.txt", None),
        ("transactions (1).csv", "transactions"),
    )


@pytest.mark.parametrize("stray", ["transactions (1).csv", "transactions.CSV"])
def test_a_missing_required_file_names_the_near_file_that_is_there(
    stray: str, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """3d91e1f: "missing required input file transactions" without naming the file that was there."""
    landing = make_landing()
    folder = landing / DAY.isoformat()
    (folder / "transactions.csv").rename(folder / stray)
    with warehouse.connect(tmp_path / "w.duckdb") as con, pytest.raises(MissingInputError) as raised:
        ingest_day(con, landing, DAY)
    assert str(raised.value) == (
        f"missing required input file transactions for 2025-06-02 in {folder}; "
        f"found {stray} — rename it to transactions.csv"
    )


def test_undecodable_bytes_in_a_header_name_reject_the_file_naming_it_escaped(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """Found by the fuzz test: a header name that does not decode crashed the insert of the file's notes."""
    header = TXN_HEADER.replace("amount", "am\xffount").encode("latin-1")
    data = header + b"\n" + _txn(1).encode() + b"\n"
    landing = make_landing(replace={"transactions": data})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    txn = _file(result, "transactions")
    assert txn.status == "rejected"
    assert txn.reason == "missing required column amount (did you mean am\\xffount?)"
    assert len(quarantined) == 1


def test_a_parquet_file_that_does_not_read_is_bad_input_naming_it(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """A truncated Parquet file raised DuckDB's own error (a traceback); now an IngestError naming the file."""
    landing = make_landing(omit=("fx_rates",))
    (landing / DAY.isoformat() / "fx_rates.parquet").write_bytes(b"PAR1\x00\x01 truncated")
    expected = r"^2025-06-02/fx_rates.parquet cannot be read as Parquet: "
    with warehouse.connect(tmp_path / "w.duckdb") as con, pytest.raises(IngestError, match=expected):
        ingest_day(con, landing, DAY)


def test_a_parquet_header_matches_ignoring_case_and_spaces(tmp_path: Path) -> None:
    import duckdb

    folder = tmp_path / "landing" / DAY.isoformat()
    folder.mkdir(parents=True)
    for name, text in GOOD_ROWS.items():
        (folder / f"{name}.csv").write_text(text)
    (folder / "fx_rates.csv").unlink()
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT '2025-06-02' AS \"Rate_Date\", 'USD' AS \" CURRENCY\", '7.1' AS cny_per_unit, 'x' AS \"odd\"\"name\")"
        f" TO '{folder / 'fx_rates.parquet'}' (FORMAT parquet)"
    )
    con.close()
    result, quarantined, _ = _ingest(tmp_path / "landing", tmp_path / "w.duckdb")
    fx = _file(result, "fx_rates")
    assert (fx.status, fx.rows_loaded, quarantined) == ("loaded", 1, [])
