"""regwatch_daily: the daily compliance run, one task per pipeline step.

The business date is the start of the data interval. The timetable has one
interval per business day: [Mon 00:00, Tue 00:00) ... [Fri 00:00, Mon 00:00), each
run starting when its interval closes, so Tuesday's early run processes Monday and
Monday's processes Friday. Tasks are thin: each imports regwatch inside its body
and calls one step (nothing at import time opens DuckDB or reads a file). DuckDB
allows a single writer, so every task runs in the pool ``regwatch_duckdb`` of one
slot (created by docker-compose's airflow-init; ``airflow dags test`` ignores pools).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

POOL = "regwatch_duckdb"
DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(minutes=5), "pool": POOL}


def _run_step(name: str) -> dict[str, Any]:
    from regwatch import pipeline
    from regwatch.config import Settings

    context = get_current_context()
    business_date = context["data_interval_start"].date()
    result = getattr(pipeline, name)(business_date, Settings.from_env())
    return {
        "step": result.step,
        "business_date": business_date.isoformat(),
        "seconds": result.seconds,
        **result.summary,
    }


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * 1-5", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["regwatch", "daily"],
    doc_md=__doc__,
)
def regwatch_daily() -> None:
    @task
    def ingest() -> dict[str, Any]:
        return _run_step("ingest")

    @task
    def transform() -> dict[str, Any]:
        return _run_step("transform")

    @task
    def validate() -> dict[str, Any]:
        return _run_step("validate")

    @task
    def render_reports() -> dict[str, Any]:
        return _run_step("render_reports")

    @task
    def seal_ledger() -> dict[str, Any]:
        return _run_step("seal_ledger")

    ingest() >> transform() >> validate() >> render_reports() >> seal_ledger()


regwatch_daily()
