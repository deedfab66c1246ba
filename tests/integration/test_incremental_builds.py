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
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from regwatch import transform, warehouse
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


@pytest.mark.slow
def test_each_day_built_incrementally_equals_it_built_from_scratch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, DAYS[0], DAYS[-1], loans=60, accounts=40, seed=17)
    settings = Settings(project_root=REPO_ROOT, var_dir=tmp_path / "var", landing_dir=landing)
    scratch = Settings(project_root=REPO_ROOT, var_dir=tmp_path / "scratch", landing_dir=landing)
    scratch.var_dir.mkdir()
    archive = Archive.of(settings)
    for number, day in enumerate(DAYS[:3]):
        with warehouse.connect(settings.warehouse_path) as con:
            ingest_day(con, landing, day, archive, required=())
        if number == 2:
            _plant_late_versions(settings, day)
        built = transform.build(day, settings)
        expected_mode = f"incremental since {DAYS[number - 1]}" if number else "full refresh: first build"
        assert built.build == expected_mode
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
