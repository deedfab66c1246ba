"""regwatch_audit: the auditor's rerun, triggered by hand with parameters.

Two tasks: ``verify`` walks the ledger (every manifest, archived object and published
file) and fails on the first broken link; ``rerun`` then rebuilds the business date
in a scratch warehouse from the archive and compares every output byte for byte with
what the ledger recorded, writing the audit report under ``var/audit/<date>/``.

Parameters (``airflow dags trigger regwatch_audit --conf '{"business_date": "2025-06-13"}'``):

* ``business_date`` (required): the date to rerun.
* ``run_id``: a particular sealed run of that date (default: its latest).
* ``rules``: ``recorded`` (default; the run fails if an output differs) or ``current``
  (today's rule pack, to show what it would change; differences do not fail the run).

No schedule: an audit is asked for, never due. Tasks are thin (regwatch imported in
the body, ``Settings.from_env()``); they share the DuckDB pool with the daily DAG.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

POOL = "regwatch_duckdb"
DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(minutes=5), "pool": POOL}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["regwatch", "audit"],
    params={
        "business_date": Param(type="string", format="date", description="The business date to rerun"),
        "run_id": Param(
            None, type=["null", "string"], description="A sealed run of the date (default latest)"
        ),
        "rules": Param("recorded", enum=["recorded", "current"], description="Recorded rule pack or today's"),
    },
    doc_md=__doc__,
)
def regwatch_audit() -> None:
    @task(multiple_outputs=False)
    def verify() -> dict[str, Any]:
        from regwatch.config import Settings
        from regwatch.ledger.manifests import verify as verify_ledger

        result = verify_ledger(Settings.from_env())
        if not result.ok:
            raise RuntimeError(result.summary)
        return {"summary": result.summary, "manifests": result.manifests, "head": result.head}

    @task(multiple_outputs=False)
    def rerun() -> dict[str, Any]:
        from datetime import date

        from regwatch.audit import rerun as rerun_date
        from regwatch.config import Settings

        params = get_current_context()["params"]
        rules = "current" if params.get("rules") == "current" else "recorded"
        result = rerun_date(
            Settings.from_env(), date.fromisoformat(str(params["business_date"])), params.get("run_id"), rules
        )
        payload = {
            "summary": result.summary,
            "reproduced": result.reproduced,
            "report": str(result.report),
            "outputs": {c.path: c.status for c in result.comparisons},
            "changes": len(result.diff.changes),
        }
        if rules == "recorded" and not result.reproduced:
            raise RuntimeError(result.summary)
        return payload

    verify() >> rerun()


regwatch_audit()
