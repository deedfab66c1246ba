"""The Airflow DAGs: import clean, follow the conventions, have the right shape, and run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from regwatch.demo import generate
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DAGS = REPO_ROOT / "dags"
BIN = Path(sys.executable).parent

_INSPECT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=%r)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "fileloc": dag.fileloc, "tags": sorted(dag.tags), "max_active_runs": dag.max_active_runs,
        "catchup": dag.catchup,
        "tasks": {t.task_id: {"downstream": sorted(t.downstream_task_ids), "retries": t.retries, "pool": t.pool}
                  for t in dag.tasks},
    }
print(json.dumps(out))
"""


def _airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REGWATCH"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    return env


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = tmp_path_factory.mktemp("airflow")
    done = subprocess.run(
        [sys.executable, "-c", _INSPECT % str(DAGS)],
        env=_airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_dags_import_clean(dagbag: dict[str, object]) -> None:
    assert dagbag["errors"] == {}
    assert set(dagbag["dags"]) == {p.stem for p in DAGS.glob("*.py")}  # type: ignore[arg-type]


def test_conventions(dagbag: dict[str, object]) -> None:
    for dag_id, dag in dagbag["dags"].items():  # type: ignore[attr-defined]
        assert Path(dag["fileloc"]).stem == dag_id
        assert "regwatch" in dag["tags"]
        assert dag["max_active_runs"] == 1
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 1, task_id
            assert task["pool"] == "regwatch_duckdb", task_id


def test_daily_structure(dagbag: dict[str, object]) -> None:
    tasks = dagbag["dags"]["regwatch_daily"]["tasks"]  # type: ignore[index]
    assert {t: v["downstream"] for t, v in tasks.items()} == {
        "ingest": ["transform"],
        "transform": ["validate"],
        "validate": ["render_reports"],
        "render_reports": ["seal_ledger"],
        "seal_ledger": [],
    }


@pytest.mark.e2e
def test_dags_test_runs_a_demo_date(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(landing, date(2025, 6, 2), date(2025, 6, 3), loans=200, accounts=150, seed=7)
    env = _airflow_env(tmp_path / "airflow") | {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_LANDING": str(landing),
        "REGWATCH_VAR": str(tmp_path / "var"),
    }
    airflow = str(BIN / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, check=True, timeout=300)
    # The run of 2025-06-03 covers the interval [06-02, 06-03): business date 2025-06-02.
    done = subprocess.run(
        [airflow, "dags", "test", "regwatch_daily", "2025-06-03"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "var" / "reports" / "2025-06-02" / "daily_exceptions.html").is_file()
    assert list((tmp_path / "var" / "ledger").glob("000001_2025-06-02_*.json"))
