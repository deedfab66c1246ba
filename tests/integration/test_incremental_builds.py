"""A day built incrementally equals the same day built from scratch, table for table.

Issue 17: every day recomputed all history (staging views ranking every raw row of
every load up to D, every model a full table rebuild), so day N cost N days. Now the
models continue from the last build and merge in only what the loads after its date
bring (regwatch.transform). The property that makes that safe: for every business date
of a generated platform, each table dbt builds (staging, intermediate, marts, reporting)
holds, after the incremental build, exactly the rows a full refresh of the same date
gives. Planted on top of the generator's loads: a load bringing an older version of a
loan than the one kept (the kept version must win), a transaction and an account
delivered again on a later date (the later delivery wins). A date restated after it was
built makes the next build a full refresh (an incremental one would miss the restated
rows).

The loan side (APR, installments, cash flows, repayment allocation) is incremental by loan:
a loan's rows are built again only when a load brings its terms, a schedule row or (for
the allocation) a repayment. Planted: a loan delivered with no schedule (installments from
its terms), then its schedule delivered (the rebuilt installments must go), a loan's terms
restated (rate, upfront fee), a schedule row's fee restated, a repayment delivered late and
one moved to another loan. The APR engine is called, on an incremental day, with exactly
the loans whose inputs that day's load changed (a full rebuild computed every loan's).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from regwatch import apr, transform, warehouse
from regwatch.config import Settings
from regwatch.demo import generate
from regwatch.ingest.load import ingest_day
from regwatch.ledger.archive import Archive
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DAYS = (date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4), date(2025, 6, 5))
#: The schemas dbt builds (its own record of the last build is not a model).
SCHEMAS = ("staging", "intermediate", "marts", "reporting")


def _tables(settings: Settings) -> dict[str, str]:
    """sha256 of every dbt-built table's rows (sorted, all columns) and of its column list."""
    out: dict[str, str] = {}
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN ? AND table_type = 'BASE TABLE' AND table_name <> ?"
            " ORDER BY ALL",
            [list(SCHEMAS), warehouse.BUILD_STATE_TABLE.split(".")[1]],
        ).fetchall()
        for schema, table in tables:
            relation = f'"{schema}"."{table}"'
            columns = [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]
            rows = con.execute(f"SELECT * FROM {relation} ORDER BY ALL").fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr((columns, rows)).encode()).hexdigest()
    return out


def _plant_late_versions(settings: Settings, day: date) -> None:
    """On ``day``'s current load: an older version of a loan kept since an earlier date, and a
    transaction and an account delivered again (same key, changed values)."""
    with warehouse.connect(settings.warehouse_path) as con:
        (load_id,) = con.execute(
            "SELECT load_id FROM raw.load_arrivals WHERE business_date = ? ORDER BY arrival_seq DESC LIMIT 1",
            [day],
        ).fetchone() or ("",)
        assert load_id
        # An earlier version of a loan that has one: the row kept must stay.
        con.execute(
            """
            INSERT INTO raw.loans
            SELECT * REPLACE (
                updated_at - INTERVAL 1 DAY AS updated_at, 'written_off' AS status, ? AS _load_id,
                CAST(? AS DATE) AS _business_date, 900000 + _row_number AS _row_number
            )
            FROM raw.loans WHERE _business_date < ? ORDER BY loan_id, _row_number LIMIT 3
            """,
            [load_id, day, day],
        )
        # A transaction and an account of an earlier date delivered again: the later delivery wins.
        con.execute(
            """
            INSERT INTO raw.transactions
            SELECT * REPLACE (amount + 1 AS amount, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                900000 + _row_number AS _row_number)
            FROM raw.transactions WHERE _business_date < ? ORDER BY txn_id LIMIT 2
            """,
            [load_id, day, day],
        )
        con.execute(
            """
            INSERT INTO raw.accounts
            SELECT * REPLACE ('frozen' AS status, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                900000 + _row_number AS _row_number)
            FROM raw.accounts WHERE _business_date < ? ORDER BY account_id LIMIT 2
            """,
            [load_id, day, day],
        )


def _current_load(con: Any, day: date) -> str:
    (load_id,) = con.execute(
        "SELECT load_id FROM raw.load_arrivals WHERE business_date = ? ORDER BY arrival_seq DESC LIMIT 1",
        [day],
    ).fetchone() or ("",)
    assert load_id
    return str(load_id)


PLANTED_LOAN = "L09999999"


def _plant_loan_without_schedule(settings: Settings, day: date) -> None:
    """On ``day``'s load: a new loan and no schedule row for it (its installments come from its terms)."""
    with warehouse.connect(settings.warehouse_path) as con:
        load_id = _current_load(con, day)
        con.execute(
            """
            INSERT INTO raw.loans
            SELECT * REPLACE (? AS loan_id, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                900000 AS _row_number)
            FROM raw.loans WHERE _business_date < ? ORDER BY loan_id, _row_number LIMIT 1
            """,
            [PLANTED_LOAN, load_id, day, day],
        )


def _plant_loan_restatements(settings: Settings, day: date) -> list[str]:
    """On ``day``'s load: the planted loan's schedule, a loan's terms and a schedule row's fee
    restated, a repayment of an old loan delivered, and one moved to another loan. Returns the
    loans whose APR inputs changed."""
    with warehouse.connect(settings.warehouse_path) as con:
        load_id = _current_load(con, day)
        old = [
            str(row[0])
            for row in con.execute(
                "SELECT DISTINCT loan_id FROM raw.schedules WHERE _business_date < ? ORDER BY loan_id LIMIT 4",
                [day],
            ).fetchall()
        ]
        # The planted loan gets the schedule of another loan: its installments from the terms go.
        con.execute(
            """
            INSERT INTO raw.schedules
            SELECT * REPLACE (? AS loan_id, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                900000 + _row_number AS _row_number)
            FROM raw.schedules WHERE loan_id = ?
            """,
            [PLANTED_LOAN, load_id, day, old[0]],
        )
        # A loan's terms restated (a later version): another rate and upfront fee, so another APR.
        con.execute(
            """
            INSERT INTO raw.loans
            SELECT * REPLACE (
                updated_at + INTERVAL 1 DAY AS updated_at, nominal_rate + 0.05 AS nominal_rate,
                upfront_fee + 25 AS upfront_fee, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                910000 + _row_number AS _row_number
            )
            FROM raw.loans WHERE loan_id = ? ORDER BY updated_at DESC, _row_number DESC LIMIT 1
            """,
            [load_id, day, old[1]],
        )
        # A fee on a schedule row restated.
        con.execute(
            """
            INSERT INTO raw.schedules
            SELECT * REPLACE (fee_due + 30 AS fee_due, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                920000 + _row_number AS _row_number)
            FROM raw.schedules WHERE loan_id = ? ORDER BY installment_no LIMIT 1
            """,
            [load_id, day, old[2]],
        )
        # A repayment of an old loan delivered late, and an earlier repayment moved to another loan.
        con.execute(
            """
            INSERT INTO raw.repayments
            SELECT * REPLACE ('PY_LATE_' || payment_id AS payment_id, ? AS _load_id,
                CAST(? AS DATE) AS _business_date, 930000 + _row_number AS _row_number)
            FROM raw.repayments WHERE _business_date < ? ORDER BY payment_id LIMIT 1
            """,
            [load_id, day, day],
        )
        con.execute(
            """
            INSERT INTO raw.repayments
            SELECT * REPLACE (? AS loan_id, ? AS _load_id, CAST(? AS DATE) AS _business_date,
                940000 + _row_number AS _row_number)
            FROM raw.repayments WHERE _business_date < ? ORDER BY payment_id DESC LIMIT 1
            """,
            [old[3], load_id, day, day],
        )
    return [PLANTED_LOAN, old[1], old[2]]


def _loans_changed(settings: Settings, day: date) -> set[str]:
    """The loans of the staging tables whose terms or schedule rows ``day``'s load brought."""
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            """
            SELECT loan_id FROM staging.stg_platform__loans WHERE loaded_business_date = ?
            UNION
            SELECT loan_id FROM staging.stg_platform__schedules WHERE loaded_business_date = ?
                AND loan_id IN (SELECT loan_id FROM staging.stg_platform__loans)
            """,
            [day, day],
        ).fetchall()
    return {str(row[0]) for row in rows}


def _loan_count(settings: Settings) -> int:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        (count,) = con.execute("SELECT count(*) FROM staging.stg_platform__loans").fetchone() or (0,)
    return int(count)


def _aprs(settings: Settings, loans: list[str]) -> dict[str, tuple[Any, ...]]:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT loan_id, real_apr, installment_count, cash_flow_source FROM intermediate.int_loan_aprs_computed"
            " WHERE loan_id IN ?",
            [loans],
        ).fetchall()
    return {str(row[0]): tuple(row[1:]) for row in rows}


@pytest.mark.slow
def test_each_day_built_incrementally_equals_it_built_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The APRs computed per build (the model calls regwatch.apr.annual_rates in this process).
    computed: list[int] = []
    annual_rates = apr.annual_rates

    def counting(loan: Any, *args: Any, **kwargs: Any) -> Any:
        computed.append(len(set(np.asarray(loan).tolist())))
        return annual_rates(loan, *args, **kwargs)

    monkeypatch.setattr(apr, "annual_rates", counting)
    landing = tmp_path / "landing"
    generate(landing, DAYS[0], DAYS[-1], loans=60, accounts=40, seed=17)
    settings = Settings(project_root=REPO_ROOT, var_dir=tmp_path / "var", landing_dir=landing)
    scratch = Settings(project_root=REPO_ROOT, var_dir=tmp_path / "scratch", landing_dir=landing)
    scratch.var_dir.mkdir()
    archive = Archive.of(settings)
    for number, day in enumerate(DAYS[:3]):
        with warehouse.connect(settings.warehouse_path) as con:
            ingest_day(con, landing, day, archive, required=())
        restated: list[str] = []
        if number == 1:
            _plant_loan_without_schedule(settings, day)
        if number == 2:
            _plant_late_versions(settings, day)
            restated = _plant_loan_restatements(settings, day)
        before = _aprs(settings, restated) if restated else {}
        computed.clear()
        built = transform.build(day, settings)
        # dbt-duckdb's incremental materialization leaves a Python model's `__dbt_tmp` table
        # behind (one a model a day); the warehouse must not keep them.
        with warehouse.connect(settings.warehouse_path, read_only=True) as con:
            leftovers = con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables()"
                " WHERE contains(table_name, '__dbt_tmp')"
            ).fetchall()
        assert not leftovers, f"{day}: dbt's temporary tables left in the warehouse: {leftovers}"
        if number:
            # Only the APRs of the loans whose inputs the day's load changed are computed.
            changed = _loans_changed(settings, day)
            assert set(restated) <= changed
            assert computed == [len(changed)], (
                f"{day}: {computed} APRs computed, {len(changed)} loans changed"
            )
            assert len(changed) < _loan_count(settings) / 2
        if restated:  # the restated loans' APRs were computed again (and changed)
            after = _aprs(settings, restated)
            assert set(after) == set(restated)
            assert all(after[loan] != before.get(loan) for loan in restated), (before, after)
        expected_mode = f"incremental since {DAYS[number - 1]}" if number else "full refresh: first build"
        assert built.build == expected_mode
        if not number:
            continue  # the first build is itself a full refresh: nothing incremental to compare yet
        shutil.copyfile(settings.warehouse_path, scratch.warehouse_path)
        assert transform.build(day, scratch, full_refresh=True).build.startswith("full refresh")
        incremental, from_scratch = _tables(settings), _tables(scratch)
        assert set(incremental) == set(from_scratch)
        assert len(incremental) > 40  # every model of the project, not a few
        differing = sorted(name for name in incremental if incremental[name] != from_scratch[name])
        assert not differing, f"{day}: built incrementally, these tables differ from scratch: {differing}"

    # The second date restated after it was built (one transaction fewer): the next build
    # cannot continue from the last one, whose staging holds the first delivery's rows.
    restated = landing / DAYS[1].isoformat() / "transactions.csv"
    lines = restated.read_bytes().splitlines(keepends=True)
    restated.write_bytes(b"".join(lines[:-1]))
    with warehouse.connect(settings.warehouse_path) as con:
        ingest_day(con, landing, DAYS[1], archive, required=())
        ingest_day(con, landing, DAYS[3], archive, required=())
    built = transform.build(DAYS[3], settings)
    assert built.build == f"full refresh: the raw layer up to {DAYS[2]} changed (a date restated)"
    # The same date again: not after the last build's date.
    assert transform.build(DAYS[3], settings).build.startswith(f"full refresh: {DAYS[3]} is not after")
