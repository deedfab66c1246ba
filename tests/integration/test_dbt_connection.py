"""A build writes into its own platform's warehouse, whatever dbt-duckdb left open before it.

dbt runs in the warehouse's folder with the warehouse path relative to it
(``transform._warehouse_environment``: a copied ``var/`` keeps dbt's saved parse), so every
platform's profile names the same ``warehouse.duckdb``. dbt-duckdb keeps its database open
between invocations of one process (``keep_open``) and reuses it while the profile is the
same: a database left open by an earlier call that did not close it (a test calling dbt
directly did, issue 16) would take the next build's tables, of another platform, silently.
``transform.build`` closes what is open before dbt runs, as well as after.
"""

from __future__ import annotations

from datetime import date

import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from tests.helpers import project_copy
from tests.integration.test_key_checks import CALENDAR, calendar_rows, replaced

pytestmark = pytest.mark.integration

D1 = date(2025, 6, 2)


def _calendar(settings: Settings) -> list[str]:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        (schema,) = con.execute(
            "select schema_name from duckdb_tables() where table_name = 'int_working_days_counted'"
        ).fetchone() or ("missing",)
        rows = con.execute(
            f"select cast(calendar_date as varchar) from {schema}.int_working_days_counted order by 1"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_database_left_open_does_not_take_the_next_platforms_build(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = project_copy(tmp_path_factory.mktemp("a")), project_copy(tmp_path_factory.mktemp("b"))
    with replaced(first, CALENDAR, calendar_rows("2025-06-02")), monkeypatch.context() as left_open:
        # A caller that leaves dbt-duckdb's database open after dbt returns.
        left_open.setattr(transform, "_close_dbt_duckdb", lambda: None)
        transform.build(D1, first, select=("int_working_days_counted",))
    try:
        with replaced(second, CALENDAR, calendar_rows("2025-06-02", "2025-06-03")):
            transform.build(D1, second, select=("int_working_days_counted",))
    finally:
        transform._close_dbt_duckdb()
    assert _calendar(first) == ["2025-06-02"]
    assert _calendar(second) == ["2025-06-02", "2025-06-03"]
