"""The input contract, one bad-input class at a time, next to good rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest

from regwatch import warehouse
from regwatch.ingest.load import MissingInputError, ingest_day
from tests.conftest import DAY, GOOD_ROWS

LOAN = GOOD_ROWS["loans"].splitlines()[1]


def _loan(**changes: str) -> bytes:
    header = GOOD_ROWS["loans"].splitlines()[0].split(",")
    values = dict(zip(header, LOAN.split(","), strict=True))
    values.update(changes)
    return (",".join(values[h] for h in header) + "\n").encode()


BAD_LOANS: dict[str, tuple[bytes, str, str]] = {
    # class: (row, column that must be named, reason fragment)
    "wrong_type": (_loan(loan_id="L2", principal="12o00.00"), "principal", "wrong type"),
    "missing_required": (_loan(loan_id="L3", borrower_id=""), "borrower_id", "missing required value"),
    "negative_amount": (_loan(loan_id="L4", principal="-5.00"), "principal", "negative amount"),
    "unknown_enum": (
        _loan(loan_id="L5", repayment_method="balloon"),
        "repayment_method",
        "unknown enum value",
    ),
    "duplicate_key": (_loan(principal="999.00"), "loan_id, updated_at", "duplicate key"),
    "unparseable_date": (
        _loan(loan_id="L7", contract_date="2025-02-30"),
        "contract_date",
        "unparseable date",
    ),
    "unknown_currency": (_loan(loan_id="L8", currency="XXY"), "currency", "unknown currency"),
    "invalid_utf8": (
        _loan(loan_id="L9", product_code="P-\xff").replace(b"\xc3\xbf", b"\xff"),
        "product_code",
        "invalid encoding: not valid utf-8 (tried utf-8, gb18030)",
    ),
}


def _ingest(landing: Path, settings_path: Path) -> tuple[object, list[tuple[object, ...]], int]:
    with warehouse.connect(settings_path) as con:
        result = ingest_day(con, landing, DAY)
        rows = con.execute(
            "SELECT file_name, row_number, column_name, value, reason FROM quarantine.rows ORDER BY file_name, row_number"
        ).fetchall()
        raw_loans = con.execute("SELECT count(*) FROM raw.loans").fetchone()
    return result, rows, int(raw_loans[0]) if raw_loans else 0


@pytest.mark.parametrize("bad_class", sorted(BAD_LOANS))
def test_each_bad_input_class_is_quarantined_with_its_reason(
    bad_class: str, make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    row, column, reason = BAD_LOANS[bad_class]
    landing = make_landing(extra={"loans": row})
    result, quarantined, loaded = _ingest(landing, tmp_path / "w.duckdb")
    assert loaded == 1, "the good row still loads"
    assert len(quarantined) == 1
    file_name, row_number, column_name, _value, why = quarantined[0]
    assert (file_name, row_number, column_name) == ("loans", 2, column)
    assert reason in why
    loans = next(f for f in result.files if f.file_name == "loans")  # type: ignore[attr-defined]
    assert (loans.rows_read, loans.rows_loaded, loans.rows_quarantined) == (2, 1, 1)


def test_all_classes_together_reconcile(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(extra={"loans": b"".join(r for r, _, _ in BAD_LOANS.values())})
    result, quarantined, loaded = _ingest(landing, tmp_path / "w.duckdb")
    assert loaded == 1
    assert len(quarantined) == len(BAD_LOANS)
    for load in result.files:  # type: ignore[attr-defined]
        assert load.rows_read == load.rows_loaded + load.rows_quarantined


def test_typed_values_land_in_raw(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing()
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        ingest_day(con, landing, DAY)
        row = con.execute(
            "SELECT principal, nominal_rate, is_related_party, contract_date, partner_id, _row_number,"
            " _source_file FROM raw.loans"
        ).fetchone()
    assert row is not None
    assert str(row[0]) == "12000.00" and str(row[1]) == "0.12000000"
    assert row[2] is False and row[3] == DAY and row[4] is None and row[5] == 1
    assert row[6] == "2025-06-02/loans.csv"


def test_missing_required_column_quarantines_the_whole_file(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    text = GOOD_ROWS["fundings"].replace("funder_type,", "").replace("institution,", "")
    landing = make_landing(replace={"fundings": text.encode()})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    fundings = next(f for f in result.files if f.file_name == "fundings")  # type: ignore[attr-defined]
    assert (fundings.rows_read, fundings.rows_loaded, fundings.rows_quarantined) == (1, 0, 1)
    assert "missing required column funder_type: whole file quarantined" in fundings.notes
    assert quarantined[0][4].startswith("missing required column funder_type")


def test_extra_column_is_dropped_and_recorded(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    lines = GOOD_ROWS["fundings"].splitlines()
    text = f"{lines[0]},legacy_flag\n{lines[1]},Y\n"
    landing = make_landing(replace={"fundings": text.encode()})
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    fundings = next(f for f in result.files if f.file_name == "fundings")  # type: ignore[attr-defined]
    assert fundings.rows_loaded == 1 and not quarantined
    assert fundings.notes == ("unexpected column ignored: legacy_flag",)


def test_wrong_field_count_is_quarantined(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(extra={"fx_rates": b"2025-06-02,EUR\n"})
    _, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    assert quarantined == [("fx_rates", 2, None, None, "malformed record: 2 fields, header has 3")]


def test_missing_required_file_fails_before_loading(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    landing = make_landing(omit=("loans",))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(MissingInputError, match="missing required input file loans for 2025-06-02"):
            ingest_day(con, landing, DAY)
        assert con.execute("SELECT count(*) FROM raw.accounts").fetchone() == (0,)


def test_ingesting_a_day_again_replaces_it(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(extra={"loans": BAD_LOANS["wrong_type"][0]})
    path = tmp_path / "w.duckdb"
    first, _, _ = _ingest(landing, path)
    second, quarantined, loaded = _ingest(landing, path)
    assert loaded == 1 and len(quarantined) == 1
    assert first == second
    with warehouse.connect(path) as con:
        assert con.execute("SELECT count(*) FROM results.load_log").fetchone() == (7,)


def test_parquet_input_is_checked_like_csv(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(extra={"fx_rates": b"2025-06-02,EUR,-1\n"})
    folder = landing / DAY.isoformat()
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{folder / 'fx_rates.csv'}', all_varchar = true)) "
        f"TO '{folder / 'fx_rates.parquet'}' (FORMAT parquet)"
    )
    con.close()
    (folder / "fx_rates.csv").unlink()
    result, quarantined, _ = _ingest(landing, tmp_path / "w.duckdb")
    fx = next(f for f in result.files if f.file_name == "fx_rates")  # type: ignore[attr-defined]
    assert (fx.rows_read, fx.rows_loaded, fx.rows_quarantined) == (2, 1, 1)
    assert quarantined[0][:3] == ("fx_rates", 2, "cny_per_unit")


def test_a_restated_delivery_is_a_new_load_and_the_old_one_stays(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    from regwatch.ingest.load import current_load_id
    from regwatch.ledger.archive import Archive

    archive = Archive(tmp_path / "archive")
    landing = make_landing()
    path = tmp_path / "w.duckdb"
    with warehouse.connect(path) as con:
        first = ingest_day(con, landing, DAY, archive)
        assert ingest_day(con, landing, DAY, archive) == first  # the same files add nothing
        restated = (landing / DAY.isoformat() / "loans.csv").read_text().replace("12000.00", "13000.00")
        (landing / DAY.isoformat() / "loans.csv").write_text(restated)
        second = ingest_day(con, landing, DAY, archive)
        assert second.load_id != first.load_id
        assert current_load_id(con, DAY) == second.load_id
        assert con.execute("SELECT _load_id, principal FROM raw.loans ORDER BY principal").fetchall() == [
            (first.load_id, 12000),
            (second.load_id, 13000),
        ]
        arrivals = con.execute("SELECT arrival_seq, load_id FROM raw.load_arrivals ORDER BY 1").fetchall()
        assert arrivals == [(1, first.load_id), (2, second.load_id)]
        # load_log describes the current load; back to the first files makes it current again
        assert con.execute("SELECT DISTINCT _load_id FROM results.load_log").fetchall() == [(second.load_id,)]
        (landing / DAY.isoformat() / "loans.csv").write_text(restated.replace("13000.00", "12000.00"))
        assert ingest_day(con, landing, DAY, archive).load_id == first.load_id
        assert current_load_id(con, DAY) == first.load_id
        assert con.execute("SELECT count(*) FROM raw.loans").fetchone() == (2,)
    # Both deliveries of loans are in the archive by their sha256; the landing folder can go.
    loans = {load.load_id: next(f for f in load.files if f.file_name == "loans") for load in (first, second)}
    assert archive.get(loans[second.load_id].sha256).decode() == restated
    assert b"12000.00" in archive.get(loans[first.load_id].sha256)


class _Recording:
    """A connection that records what is sent to DuckDB (one entry per call)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.calls = con, list[str]()

    def execute(self, statement: str, *args: Any) -> duckdb.DuckDBPyConnection:
        self.calls.append(" ".join(statement.split()))
        return self.con.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def test_a_day_is_loaded_without_counting_what_it_wrote(
    make_landing: Callable[..., Path], tmp_path: Path
) -> None:
    """DuckDB returns how many rows each INSERT and CREATE TABLE ... AS wrote: ingest reads those
    counts, and keeps ``_staged`` a view so that dropping it needs no look into the catalog. A
    tiny day's seven files took 223 calls to DuckDB (a third of them counts, catalog queries and
    drops: 0.155 CPU-s), now 91 (0.128 CPU-s on this 2-core machine)."""
    landing = make_landing(extra={"loans": BAD_LOANS["duplicate_key"][0] + BAD_LOANS["wrong_type"][0]})
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        recording = _Recording(con)
        result = ingest_day(cast(duckdb.DuckDBPyConnection, recording), landing, DAY)
        assert con.execute("SELECT count(*) FROM quarantine.rows").fetchone() == (2,)
    loans = next(f for f in result.files if f.file_name == "loans")
    assert (loans.rows_read, loans.rows_loaded, loans.rows_quarantined) == (3, 1, 2)
    counted = [c for c in recording.calls if re.search(r"count\(\*\) FROM (raw|quarantine|_)", c)]
    assert counted == []
    assert not [c for c in recording.calls if "duckdb_views" in c or "information_schema" in c]
    assert len(recording.calls) <= 14 * len(result.files), len(recording.calls)
