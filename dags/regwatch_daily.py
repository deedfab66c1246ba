"""regwatch_daily: the daily compliance run, one task per pipeline step.

**Which business date a run processes.** The business date is the *start* of the
run's data interval, never ``now()``: a run is about a period that has closed, and
a rerun of the same run processes the same date. The timetable is a cron *data
interval* timetable on ``0 0 * * 1-5`` (UTC): one interval per business day,
``[Mon 00:00, Tue 00:00)`` ... ``[Thu, Fri)``, ``[Fri 00:00, Mon 00:00)``. A scheduled
run starts when its interval closes and carries the interval start as its logical
date: the run with logical date Monday 2025-06-02 starts on Tuesday 00:00 and
processes 2025-06-02; Friday's run starts on Monday 00:00.

Airflow 3 details that decide this (checked against 3.3.2):

* A plain cron string (``schedule="0 6 * * 1-5"``) means ``CronTriggerTimetable``
  in Airflow 3: a zero-length interval at the trigger time, so the Monday 06:00 run
  would "process" Monday while Monday is still going on. Hence the explicit
  ``CronDataIntervalTimetable``.
* ``airflow dags test`` / ``dag.test()`` and manual triggers do not use the given
  date as an interval start: they treat it as the moment of triggering and take the
  last *complete* interval before it. ``airflow dags test regwatch_daily 2025-06-03``
  therefore processes 2025-06-02, exactly like the scheduled run that starts at
  2025-06-03 00:00 (``dags test ... 2025-06-02``, a Monday, processes Friday
  2025-05-30). No built-in timetable makes ``dags test D`` process D while its
  scheduled runs wait for D to end, so the date of the test is the date the run
  *starts*.

Tasks are thin: each imports regwatch inside its body and calls one step with
``Settings.from_env()`` (``REGWATCH_*``); nothing at import time opens DuckDB or
reads a file. Each task returns the step's summary as one XCom (``multiple_outputs=False``:
a dict return type would otherwise be split into one XCom per key). DuckDB allows a single
writer, so every task runs in the pool ``regwatch_duckdb`` of one slot: the pool must
exist (docker-compose's ``airflow-init`` creates it; elsewhere run
``airflow pools set regwatch_duckdb 1 "DuckDB: one writer"``), otherwise the tasks
are never queued. ``airflow dags test`` ignores pools and runs the tasks one by one.

**A rejected delivery fails the run.** ``ingest`` judges the date's delivery
(:mod:`regwatch.ingest.delivery`): a required file missing, empty or rejected whole, a file over
the pack's quarantine limit, or a watch list that lost entries fails the task at once
(no retry: the same files would be rejected again; a missing file is retried, it may be
late) and nothing downstream runs. To run the date anyway, trigger it with the reason:
``airflow dags trigger regwatch_daily --conf '{"accept_degraded": "transactions re-sent Monday"}'``
(or clear the run with that conf); the reason goes into the ledger and the daily report
opens with a DEGRADED band.

**Extract from the platform's database.** With a source named (the DAG parameter
``source``, else ``REGWATCH_SOURCE``; a source of ``sources.yml``), the first task
``extract`` pulls the date's new rows from that database into ``landing/D/``
(:mod:`regwatch.extract`) and ``ingest`` loads them like any delivery; the source's
watermark advances only when ``seal_ledger`` seals the date, so a failed run extracts
the same rows again. A source fault (unreachable, a table or column missing, permission
denied, a watermark gone backwards) fails the task without retry and nothing is ingested.
Without a source, ``extract`` says so and the date's files are expected in ``landing/D/``.

**One run at a time across Airflow and the CLI.** Each task holds ``var/run.lock``
(:mod:`regwatch.ledger.runlock`) for its step, recording the DAG run and task as the holder:
a ``regwatch run`` started while a task works fails at once naming the task, and a task
started while a CLI run works fails (and is retried after ``retry_delay``). The lock
is per task, not per DAG run: between two tasks of a DAG run the lock is free, so a
CLI run that starts exactly then runs between them. The pool and ``max_active_runs=1``
keep Airflow's own runs apart; keep manual CLI runs of a ``var/`` that Airflow
schedules for repairs (``regwatch rebuild``) done outside the DAG's hours. Read-only
commands (``alerts list``, ``rules evaluate``, ``filing``) read the last sealed state
while a task works and the warehouse itself between two tasks (the state of the DAG
run so far, not sealed yet). Before its step each task also checks the warehouse
against the ledger head (:mod:`regwatch.ledger.consistency`): a lost or drifted warehouse
fails the task with the line to run ``regwatch rebuild``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task

POOL = "regwatch_duckdb"
# The hop from the platform's database into DuckDB, as Airflow Assets (the OpenLineage
# provider reports them too): extract reads the source database and writes the date's
# delivery; ingest reads the delivery and writes the warehouse's raw tables. Each asset
# event carries the date's figures (source, rows); the ledger seals the run's own
# OpenLineage events with the database's real tables (regwatch.ledger.lineage).
SOURCE_DATABASE = Asset(name="regwatch_source_database", uri="x-regwatch://source-database", group="regwatch")
LANDING = Asset(name="regwatch_landing", uri="x-regwatch://landing", group="regwatch")
WAREHOUSE_RAW = Asset(name="regwatch_warehouse_raw", uri="x-regwatch://warehouse/raw", group="regwatch")
DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(minutes=10), "pool": POOL}


def _run_step(name: str) -> dict[str, Any]:
    """Call ``regwatch.pipeline.<name>`` for the run's business date; return a JSON-safe summary.

    A delivery the verdict rejects fails ``ingest`` at once, without the retry (the same
    files would be rejected again: someone must deliver them again or accept them); a
    missing file (MissingInputError) is retried, it may still be on its way. Either way
    nothing downstream runs. The DAG parameter ``accept_degraded`` (a reason) lets an
    operator run the date anyway.
    """
    import json
    from dataclasses import replace

    from airflow.sdk.exceptions import AirflowFailException

    from regwatch import pipeline
    from regwatch.config import Settings
    from regwatch.ingest.delivery import DeliveryRejectedError

    context = get_current_context()
    business_date = context["data_interval_start"].date()
    settings = Settings.from_env()
    reason = (context["params"].get("accept_degraded") or "").strip()
    if reason:
        settings = replace(settings, accept_degraded=reason)
    holder = f"airflow {context['dag'].dag_id} {context['run_id']} task {name}"
    try:
        result = pipeline.locked_step(name, business_date, settings, holder)
    except DeliveryRejectedError as error:
        raise AirflowFailException(str(error)) from error
    payload = {
        "step": result.step,
        "business_date": result.business_date.isoformat(),
        "summary": result.summary,
        "outputs": [str(path) for path in result.outputs],
    }
    return json.loads(json.dumps(payload, default=str))


def _extract() -> dict[str, Any]:
    """Extract the run's business date from its source, or say that files are delivered instead."""
    import json
    import os

    from airflow.sdk.exceptions import AirflowFailException

    from regwatch import pipeline
    from regwatch.config import Settings
    from regwatch.extract.run import ExtractError
    from regwatch.extract.sources import SourceConfigError
    from regwatch.extract.state import ExtractStateError

    context = get_current_context()
    business_date = context["data_interval_start"].date()
    source = (context["params"].get("source") or os.environ.get("REGWATCH_SOURCE") or "").strip()
    if not source:
        context["outlet_events"][LANDING].extra = {"business_date": business_date.isoformat(), "source": None}
        return {"step": "extract", "business_date": business_date.isoformat(), "summary": "no source: files"}
    holder = f"airflow {context['dag'].dag_id} {context['run_id']} task extract"
    try:
        result = pipeline.locked_extract(business_date, Settings.from_env(), source, holder)
    except (ExtractError, ExtractStateError, SourceConfigError) as error:
        raise AirflowFailException(str(error)) from error  # the same source fails the same way
    payload = {"step": result.step, "business_date": business_date.isoformat(), "summary": result.summary}
    context["outlet_events"][LANDING].extra = {
        "business_date": business_date.isoformat(),
        "source": source,
        "rows": result.summary["rows"],
    }
    return json.loads(json.dumps(payload, default=str))


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * 1-5", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["regwatch", "daily"],
    params={
        "accept_degraded": Param(
            None,
            type=["null", "string"],
            description="Run a date whose delivery the verdict rejects, giving the reason "
            "(recorded in the ledger; the report opens with a DEGRADED band)",
        ),
        "source": Param(
            None,
            type=["null", "string"],
            description="Extract the date from this source of sources.yml before ingest "
            "(default REGWATCH_SOURCE; none: the date's files are delivered to landing/)",
        ),
    },
    doc_md=__doc__,
)
def regwatch_daily() -> None:
    @task(multiple_outputs=False, inlets=[SOURCE_DATABASE], outlets=[LANDING])
    def extract() -> dict[str, Any]:
        return _extract()

    @task(multiple_outputs=False, inlets=[LANDING], outlets=[WAREHOUSE_RAW])
    def ingest() -> dict[str, Any]:
        loaded = _run_step("ingest")
        get_current_context()["outlet_events"][WAREHOUSE_RAW].extra = {
            "business_date": loaded["business_date"],
            "rows_read": loaded["summary"].get("rows_read"),
            "rows_quarantined": loaded["summary"].get("rows_quarantined"),
        }
        return loaded

    @task(multiple_outputs=False)
    def transform() -> dict[str, Any]:
        return _run_step("transform")

    @task(multiple_outputs=False)
    def validate() -> dict[str, Any]:
        return _run_step("validate")

    @task(multiple_outputs=False)
    def update_alerts() -> dict[str, Any]:
        return _run_step("update_alerts")

    @task(multiple_outputs=False)
    def render_reports() -> dict[str, Any]:
        return _run_step("render_reports")

    @task(multiple_outputs=False)
    def seal_ledger(rendered: dict[str, Any]) -> dict[str, Any]:
        # Seal and publish the date's monitoring results first; a filing the run could not
        # make then fails the task (no retry: the same inputs fail the same way).
        sealed = _run_step("seal_ledger")
        failures = rendered["summary"].get("filing_failures") or []
        if failures:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(
                "; ".join(f"filing {f['period']} FAILED: {f['error']}" for f in failures)
                + " (the date's monitoring results are sealed and published)"
            )
        return sealed

    rendered = render_reports()
    extract() >> ingest() >> transform() >> validate() >> update_alerts() >> rendered
    seal_ledger(rendered)


regwatch_daily()
