"""The ingest checks' cheaper SQL (issue 17) gives what the plain forms give, value by value.

Trimming every value copied it (a quarter of a big file's check time); a value is now trimmed
only when it starts or ends with a space. A 180-code currency list was an IN list evaluated per
row; it is now a cast to an ENUM of the codes. Both must keep every verdict and value.
"""

from __future__ import annotations

import duckdb
import pytest

from regwatch.contract import CONTRACTS, CURRENCIES
from regwatch.ingest import load

VALUES = [
    None,
    "",
    " ",
    "   ",
    "CNY",
    " CNY",
    "CNY ",
    "  CNY  ",
    "cny",
    "C NY",
    "\tCNY",
    "CNY\t",
    "\u00a0CNY",
    "12.345",
    " 12.34 ",
    "NULL",
    " NULL ",
    "XXY",
    "US D",
    "USD\r",
    "ＵＳＤ",
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE v (currency VARCHAR, n INTEGER)")
    connection.executemany("INSERT INTO v VALUES (?, ?)", [(x, i) for i, x in enumerate(VALUES)])
    return connection


def test_trimmed_value_is_the_trimmed_value(con: duckdb.DuckDBPyConnection) -> None:
    column = CONTRACTS["transactions"].column("currency")
    for markers in ((), ("NULL",)):
        plain = (
            "NULLIF(trim(currency), '')"
            if not markers
            else "CASE WHEN trim(currency) IN ('', 'NULL') THEN NULL ELSE trim(currency) END"
        )
        rows = con.execute(
            f"SELECT n, {load._value_sql(column, markers)} IS NOT DISTINCT FROM {plain}, "
            f"{load._value_sql(column, markers)} FROM v ORDER BY n"
        ).fetchall()
        assert all(same for _, same, _ in rows), [(VALUES[n], got) for n, same, got in rows if not same]


def test_currency_and_enum_verdicts_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    codes = sorted(CURRENCIES)
    listed = ", ".join(f"'{c}'" for c in codes)
    value = "NULLIF(trim(currency), '')"
    new = load._not_in_sql(value, codes)
    assert "ENUM" in new  # the long list goes by the cast
    rows = con.execute(
        f"SELECT n, {value} IS NOT NULL AND ({new}), {value} IS NOT NULL AND {value} NOT IN ({listed}) "
        "FROM v ORDER BY n"
    ).fetchall()
    assert [r[1] for r in rows] == [r[2] for r in rows]
    assert [VALUES[n] for n, bad, _ in rows if not bad and VALUES[n] is not None and VALUES[n].strip()] == [
        "CNY",
        " CNY",
        "CNY ",
        "  CNY  ",
        "\u00a0CNY",  # DuckDB's trim removes the Unicode space separators, not tabs or CR
    ]
    short = load._not_in_sql(value, ["cash", "card"])
    assert "NOT IN" in short
