"""regwatch_filing: the periodic disclosure filing, one run per month once the month is over.

**Which period a run files.** Like the daily DAG, the period comes from the data
interval, never ``now()``: the timetable is a cron *data interval* timetable on
``0 6 1 * *`` (UTC), one interval per month, ``[1st 06:00, next 1st 06:00)``. The run of
the interval starting 2025-06-01 starts on 2025-07-01 06:00 and files June 2025
(``2025-06``); the runs for March, June, September and December also file the quarter
(``2025Q2``). ``airflow dags test regwatch_filing 2025-07-01T07:00`` files June.

**Fed by the daily DAG's output.** A filing is built from the indicators the daily run
of the period's closing business date (its last weekday) wrote to
``reporting.rpt_disclosure_indicators``; that run already wrote and sealed the filing
package (``render_reports``, ``seal_ledger``). This DAG files on the calendar and proves
the package is there and reproducible: ``check_period_closed`` fails while the daily
DAG has not processed the closing date (it is retried: the daily run of the last day
starts at 00:00 of the next day, this one at 06:00), and no sensor holds a worker slot
meanwhile. Re-filing gives the same bytes (tests/e2e/test_filing.py).

Tasks are thin and share the DuckDB pool of one slot, as in ``regwatch_daily``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

POOL = "regwatch_duckdb"
DEFAULT_ARGS = {"retries": 6, "retry_delay": timedelta(hours=1), "pool": POOL}


def _month() -> str:
    """The period of the run: the month of its data interval start (YYYY-MM)."""
    start = get_current_context()["data_interval_start"]
    return f"{start.year}-{start.month:02d}"


def _file(period_id: str) -> dict[str, Any]:
    from regwatch.config import Settings
    from regwatch.reporting.filing import file_period

    paths = file_period(Settings.from_env(), period_id)
    return {"period": period_id, "outputs": [str(path) for path in paths]}


@dag(
    schedule=CronDataIntervalTimetable("0 6 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["regwatch", "filing"],
    doc_md=__doc__,
)
def regwatch_filing() -> None:
    @task(multiple_outputs=False)
    def check_period_closed() -> dict[str, Any]:
        from regwatch.config import Settings
        from regwatch.reporting.filing import require_closed

        period_id = _month()
        as_of = require_closed(Settings.from_env(), period_id)
        return {"period": period_id, "as_of_date": as_of.isoformat()}

    @task(multiple_outputs=False)
    def file_month() -> dict[str, Any]:
        return _file(_month())

    @task(multiple_outputs=False)
    def file_quarter() -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from regwatch.reporting.filing import quarter_of

        quarter = quarter_of(_month())
        if quarter is None:
            raise AirflowSkipException(f"{_month()} does not end a quarter")
        return _file(quarter)

    check_period_closed() >> file_month() >> file_quarter()


regwatch_filing()
