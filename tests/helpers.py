"""Helpers the tests share: raw rows written straight into the warehouse, and queries on it.

Integration tests that exercise dbt on hand-made rows insert them into ``raw.*`` (as the
ingest step would, with the four lineage columns) and read the models back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import duckdb

from regwatch import warehouse
from regwatch.config import Settings


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    table: str,
    day: date,
    rows: Sequence[tuple[object, ...]],
    load_id: str | None = None,
    source_file: str | None = None,
) -> None:
    """Append ``rows`` to ``raw.<table>`` as the load of ``day`` (row numbers from 1)."""
    for number, row in enumerate(rows, start=1):
        marks = ", ".join("?" for _ in range(len(row) + 4))
        con.execute(
            f"INSERT INTO raw.{table} VALUES ({marks})",
            [*row, load_id or f"load-{day}", day, source_file or f"{day}/{table}.csv", number],
        )


def raw_loan(
    loan_id: str,
    *,
    borrower: str = "C1",
    contract: date = date(2025, 6, 2),
    principal: str = "12000.00",
    currency: str = "CNY",
    term_months: int = 12,
    method: str = "equal_installment",
    rate: str = "0.12",
    upfront: str = "0",
    status: str = "active",
    written_off: date | None = None,
    updated: str = "2025-06-02 09:00:00",
) -> tuple[object, ...]:
    """One row of ``raw.loans`` (contract columns in order): an individual's loan, disbursed on its contract date."""
    return (
        loan_id,
        borrower,
        "individual",
        "P",
        None,
        False,
        contract,
        contract,
        Decimal(principal),
        currency,
        term_months,
        method,
        Decimal(rate),
        Decimal(upfront),
        status,
        written_off,
        updated,
    )


def query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    """All rows of ``sql`` on the settings' warehouse, opened read-only and closed again."""
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()
