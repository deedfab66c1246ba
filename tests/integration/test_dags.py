"""The Airflow DAGs: import clean, follow the conventions, have the right shape, and run.

Airflow reads its configuration (AIRFLOW_HOME, DAGS_FOLDER, LOAD_EXAMPLES) when it is
first imported, so every test talks to Airflow in a subprocess with its own
environment: the pytest process never imports Airflow, and Airflow's log lines stay in
the captured output (shown only when a test fails).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from regwatch.config import Settings
from tests.conftest import REPO_ROOT
from tests.helpers import saved_parse

pytestmark = pytest.mark.integration

DAGS = REPO_ROOT / "dags"
BIN = Path(sys.executable).parent
POOL = "regwatch_duckdb"
STEPS = ("extract", "ingest", "transform", "validate", "update_alerts", "render_reports", "seal_ledger")

# The DAG bag as the structure tests read it, printed as one JSON line {"dagbag": ...} by the
# Airflow process of the module's runs (_RUNS), before its first run.
_INSPECT = """
import json
import pendulum
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction

out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    timetable = coerce_to_core_timetable(dag.timetable)
    scheduled, last = [], None
    restriction = TimeRestriction(earliest=pendulum.datetime(2025, 5, 29, tz="UTC"), latest=None, catchup=True)
    for _ in range(5):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        scheduled.append([info.logical_date.isoformat(), info.data_interval.start.isoformat(),
                          info.run_after.isoformat()])
        last = info.data_interval
    manual = {d: timetable.infer_manual_data_interval(run_after=pendulum.parse(d)).start.isoformat()
              for d in ("2025-06-02", "2025-06-03")}
    out["dags"][dag_id] = {
        "fileloc": dag.fileloc, "tags": sorted(dag.tags), "max_active_runs": dag.max_active_runs,
        "catchup": dag.catchup, "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "scheduled": scheduled, "manual": manual,
        "tasks": {t.task_id: {"downstream": sorted(t.downstream_task_ids), "retries": t.retries,
                              "pool": t.pool, "pool_slots": t.pool_slots,
                              "inlets": [a.uri for a in t.inlets], "outlets": [a.uri for a in t.outlets]}
                  for t in dag.tasks},
    }
print(json.dumps({"dagbag": out}), flush=True)
"""

# Several dag.test() runs in ONE process (Airflow, dbt and GX imported once, not once a run; the
# DAG bag the structure tests read is inspected there too, before the runs): the
# jobs come as JSON in argv[1], each with the REGWATCH_* environment its tasks read
# (Settings.from_env() is called inside each task). For each job, a marker line on stdout and
# on stderr opens its output, and one JSON line gives every task's state and XCom.
_RUNS = """
import json, os, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

bag = DagBag(dag_folder=%(dags)r)
%(inspect)s
for job in json.loads(sys.argv[1]):
    os.environ.update(job["env"])
    print(%(marker)r + job["name"], flush=True)
    print(%(marker)r + job["name"], file=sys.stderr, flush=True)
    dag = bag.get_dag(job["dag_id"])
    run = dag.test(logical_date=pendulum.parse(job["logical_date"]), run_conf=job["conf"])
    with create_session() as session:
        tis = run.get_task_instances(session=session)
        states = {ti.task_id: str(ti.state) for ti in tis}
        xcoms = {x.task_id: XComModel.deserialize_value(x)
                 for x in session.scalars(XComModel.get_many(run_id=run.run_id, key="return_value"))}
    print(json.dumps({"job": job["name"], "run_state": str(run.state), "states": states, "xcoms": xcoms},
                     default=str), flush=True)
"""
_MARKER = "@@@ regwatch test job: "


def _airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REGWATCH"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    )
    return env


def _last_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _airflow_home(home: Path, migrated: Path) -> Path:
    """A fresh AIRFLOW_HOME holding a copy of the migrated database (Airflow writes its airflow.cfg
    there); ``migrated``: the session's ``airflow_db`` (tests/conftest.py, shared with test_filing)."""
    home.mkdir(parents=True)
    shutil.copyfile(migrated, home / "airflow.db")
    return home


@pytest.fixture(scope="module")
def dagbag(airflow_process: AirflowProcess) -> dict[str, Any]:
    """The DAG bag as Airflow loads it (import errors, every DAG's schedule and tasks), inspected in
    the Airflow process of the module's runs before its first run (:func:`airflow_process`; a
    process of its own until issue 16): read whether or not the runs succeed."""
    done = airflow_process.done
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"dagbag": ')]
    assert len(lines) == 1, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[0])["dagbag"]  # type: ignore[no-any-return]


def test_dags_import_clean(dagbag: dict[str, Any]) -> None:
    assert dagbag["errors"] == {}
    assert set(dagbag["dags"]) == {p.stem for p in DAGS.glob("*.py") if not p.name.startswith("_")}


def test_conventions(dagbag: dict[str, Any]) -> None:
    for dag_id, dag in dagbag["dags"].items():
        assert Path(dag["fileloc"]).stem == dag_id
        assert "regwatch" in dag["tags"], dag_id
        assert dag["max_active_runs"] == 1, dag_id
        # A scheduled DAG catches up on missed business days; a manual one (audit) has nothing to catch up.
        assert dag["catchup"] is bool(dag["scheduled"]), dag_id
        assert dag["start_date"] is not None and dag["start_date"].endswith("+00:00"), dag_id
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 1, (dag_id, task_id)
            # Every regwatch task writes to DuckDB (one writer): all share the pool of one slot.
            assert task["pool"] == POOL, (dag_id, task_id)
            assert task["pool_slots"] == 1, (dag_id, task_id)


def test_daily_structure(dagbag: dict[str, Any]) -> None:
    dag = dagbag["dags"]["regwatch_daily"]
    assert {t: v["downstream"] for t, v in dag["tasks"].items()} == {
        "extract": ["ingest"],
        "ingest": ["transform"],
        "transform": ["validate"],
        "validate": ["update_alerts"],
        "update_alerts": ["render_reports"],
        "render_reports": ["seal_ledger"],
        "seal_ledger": [],
    }
    assert dag["tags"] == ["daily", "regwatch"]
    # The database -> DuckDB hop as Airflow Assets: source database -> extract -> landing -> ingest -> raw.
    assert {
        t: (v["inlets"], v["outlets"]) for t, v in dag["tasks"].items() if v["inlets"] or v["outlets"]
    } == {
        "extract": (["x-regwatch://source-database"], ["x-regwatch://landing"]),
        "ingest": (["x-regwatch://landing"], ["x-regwatch://warehouse/raw"]),
    }


def test_audit_structure(dagbag: dict[str, Any]) -> None:
    dag = dagbag["dags"]["regwatch_audit"]
    assert {t: v["downstream"] for t, v in dag["tasks"].items()} == {"verify": ["rerun"], "rerun": []}
    assert dag["tags"] == ["audit", "regwatch"]
    assert dag["scheduled"] == []  # manually triggered only


def test_daily_business_dates(dagbag: dict[str, Any]) -> None:
    """One run per business day; it starts once the day is over and processes the interval start."""
    dag = dagbag["dags"]["regwatch_daily"]
    # [logical date = interval start (the business date), run starts at]
    assert dag["scheduled"] == [
        ["2025-05-29T00:00:00+00:00", "2025-05-29T00:00:00+00:00", "2025-05-30T00:00:00+00:00"],
        ["2025-05-30T00:00:00+00:00", "2025-05-30T00:00:00+00:00", "2025-06-02T00:00:00+00:00"],
        ["2025-06-02T00:00:00+00:00", "2025-06-02T00:00:00+00:00", "2025-06-03T00:00:00+00:00"],
        ["2025-06-03T00:00:00+00:00", "2025-06-03T00:00:00+00:00", "2025-06-04T00:00:00+00:00"],
        ["2025-06-04T00:00:00+00:00", "2025-06-04T00:00:00+00:00", "2025-06-05T00:00:00+00:00"],
    ]
    # `airflow dags test regwatch_daily D` (and a manual trigger at D) takes the last complete
    # interval before D: D = 2025-06-03 processes Monday 2025-06-02, a Monday processes Friday.
    assert dag["manual"] == {
        "2025-06-03": "2025-06-02T00:00:00+00:00",
        "2025-06-02": "2025-05-30T00:00:00+00:00",
    }


def test_filing_structure(dagbag: dict[str, Any]) -> None:
    dag = dagbag["dags"]["regwatch_filing"]
    assert {t: v["downstream"] for t, v in dag["tasks"].items()} == {
        "check_period_closed": ["file_month"],
        "file_month": ["file_quarter"],
        "file_quarter": [],
    }
    assert dag["tags"] == ["filing", "regwatch"]


def test_filing_runs_once_a_month_after_it_closes(dagbag: dict[str, Any]) -> None:
    """The run of the interval starting on the 1st files that month; it starts on the next 1st at 06:00."""
    dag = dagbag["dags"]["regwatch_filing"]
    assert dag["scheduled"][:3] == [
        ["2025-06-01T06:00:00+00:00", "2025-06-01T06:00:00+00:00", "2025-07-01T06:00:00+00:00"],
        ["2025-07-01T06:00:00+00:00", "2025-07-01T06:00:00+00:00", "2025-08-01T06:00:00+00:00"],
        ["2025-08-01T06:00:00+00:00", "2025-08-01T06:00:00+00:00", "2025-09-01T06:00:00+00:00"],
    ]


#: The accepted date's operator reason (the DAG parameter ``accept_degraded``).
REASON = "filing deadline; corrected file promised"


@dataclass(frozen=True)
class DagRuns:
    """The module's ``dag.test()`` runs, made once in one Airflow process (:func:`dag_runs`): each
    job's result (run state, task states, XComs) and its own stdout + stderr."""

    root: Path
    results: dict[str, Any]
    output: dict[str, str]


def _split(text: str) -> dict[str, str]:
    """A process's output cut at the job markers: job name -> what was printed while it ran."""
    parts: dict[str, str] = {}
    name = ""
    for line in text.splitlines(keepends=True):
        if line.startswith(_MARKER):
            name = line[len(_MARKER) :].strip()
            continue
        parts[name] = parts.get(name, "") + line
    return parts


@dataclass(frozen=True)
class AirflowProcess:
    """The module's one Airflow process (:func:`airflow_process`): its jobs and what it printed."""

    root: Path
    jobs: list[dict[str, Any]]
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def airflow_process(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path) -> AirflowProcess:
    """One landing whose ``transactions.csv`` the verdict rejects whole (a renamed column), on two
    business days, run in one Airflow process (each run used to import Airflow, dbt and GX again):

    * ``rejected``: business date 2025-06-02 (triggered at 06-03), no parameter: ``ingest`` fails;
    * ``accepted``: business date 2025-06-03 (triggered at 06-04) with the operator's reason
      ``accept_degraded``: every task succeeds;
    * ``audit``: the audit DAG, triggered by hand for business date 2025-06-03, reruns the
      accepted date from the ledger and its archive.

    Each run has a ``var/`` of its own but the audit, which reads the accepted run's."""
    from tests.conftest import GOOD_ROWS

    root = tmp_path_factory.mktemp("dag-runs")
    renamed = GOOD_ROWS["transactions"].replace(",amount,", ",txn_amount,")
    landing = root / "landing"
    for day in ("2025-06-02", "2025-06-03"):
        (landing / day).mkdir(parents=True)
        for name, text in GOOD_ROWS.items():
            (landing / day / f"{name}.csv").write_text(renamed if name == "transactions" else text)
    jobs = [
        {
            "name": "rejected",
            "dag_id": "regwatch_daily",
            "logical_date": "2025-06-03",
            "conf": None,
            "env": {"REGWATCH_VAR": str(root / "var-rejected")},
        },
        {
            "name": "accepted",
            "dag_id": "regwatch_daily",
            "logical_date": "2025-06-04",
            "conf": {"accept_degraded": REASON},
            "env": {"REGWATCH_VAR": str(root / "var-accepted")},
        },
        {
            "name": "audit",
            "dag_id": "regwatch_audit",
            "logical_date": "2025-06-05",
            "conf": {"business_date": "2025-06-03"},
            "env": {"REGWATCH_VAR": str(root / "var-accepted")},
        },
    ]
    env = _airflow_env(
        _airflow_home(root / "airflow", airflow_db),
        REGWATCH_HOME=str(REPO_ROOT),
        REGWATCH_LANDING=str(landing),
        REGWATCH_NO_PDF="1",  # no test here reads a PDF (the manifest records it; the audit DAG replays it)
    )
    # dbt's saved parse of an earlier test's build, in each var/ (its first transform parses only what changed)
    with ExitStack() as parses:
        for var in ("var-rejected", "var-accepted"):
            settings = Settings(project_root=REPO_ROOT, var_dir=root / var, landing_dir=landing)
            parses.enter_context(saved_parse(settings, "pack-cn"))
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _RUNS % {"dags": str(DAGS), "marker": _MARKER, "inspect": _INSPECT},
                json.dumps(jobs),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    return AirflowProcess(root, jobs, done)


@pytest.fixture(scope="module")
def dag_runs(airflow_process: AirflowProcess) -> DagRuns:
    """The runs of :func:`airflow_process`, each job's result and output."""
    root, jobs, done = airflow_process.root, airflow_process.jobs, airflow_process.done
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith('{"job": '):
            result = json.loads(line)
            results[result["job"]] = result
    assert set(results) == {job["name"] for job in jobs}, done.stdout[-3000:] + done.stderr[-3000:]
    out, err = _split(done.stdout), _split(done.stderr)
    output = {job["name"]: out.get(job["name"], "") + err.get(job["name"], "") for job in jobs}
    return DagRuns(root, results, output)


@pytest.mark.e2e
def test_dag_test_runs_a_demo_date(dag_runs: DagRuns) -> None:
    """``dag.test()`` runs every task of a date (here the date run with the operator's reason, see
    :func:`dag_runs`; the PostgreSQL test below runs a clean delivery through ``airflow dags test``),
    and the audit DAG reproduces the sealed date byte for byte."""
    business_date = date(2025, 6, 3)
    var = dag_runs.root / "var-accepted"
    result = dag_runs.results["accepted"]
    assert result["states"] == dict.fromkeys(STEPS, "success"), dag_runs.output["accepted"][-3000:]
    assert result["run_state"] == "success"
    for step in STEPS:
        assert result["xcoms"][step]["step"] == step
        assert result["xcoms"][step]["business_date"] == business_date.isoformat()
    assert (var / "reports" / business_date.isoformat() / "daily_exceptions.html").is_file()
    assert list((var / "ledger").glob(f"*{business_date.isoformat()}*.json"))

    # The audit DAG, triggered by hand with parameters, reproduces the sealed date byte for byte.
    result = dag_runs.results["audit"]
    assert result["states"] == {"verify": "success", "rerun": "success"}, dag_runs.output["audit"][-3000:]
    assert result["xcoms"]["rerun"]["reproduced"] is True
    assert set(result["xcoms"]["rerun"]["outputs"].values()) == {"identical"}
    assert Path(result["xcoms"]["rerun"]["report"]).is_file()


@pytest.mark.e2e
def test_a_rejected_delivery_fails_the_dag_run_unless_accepted(dag_runs: DagRuns) -> None:
    """Issue 13: a delivery the verdict rejects fails ``ingest`` (nothing downstream runs);
    the DAG parameter ``accept_degraded`` runs the date anyway, its reason in the ledger."""
    # business date 2025-06-02, transactions.csv rejected whole: the task fails
    result, output = dag_runs.results["rejected"], dag_runs.output["rejected"]
    assert result["run_state"] == "failed", output[-3000:]
    assert result["states"]["ingest"] == "failed"
    assert result["states"]["extract"] == "success"  # no source: the files were delivered
    assert {result["states"][t] for t in result["states"] if t not in ("extract", "ingest")} == {
        "upstream_failed"
    }
    assert "rejected, nothing computed" in output
    assert not (dag_runs.root / "var-rejected" / "reports").exists()

    # business date 2025-06-03 with the operator's reason: every task succeeds, the ledger says why
    result = dag_runs.results["accepted"]
    assert result["run_state"] == "success", dag_runs.output["accepted"][-3000:]
    assert result["xcoms"]["ingest"]["summary"]["delivery"] == "degraded"
    (manifest,) = (dag_runs.root / "var-accepted" / "ledger").glob("*.json")
    assert json.loads(manifest.read_text())["delivery"]["accepted_reason"] == REASON


@pytest.mark.e2e
def test_airflow_dags_test_extracts_from_postgresql_and_seals(tmp_path: Path, airflow_db: Path) -> None:
    """Issue 18: `airflow dags test regwatch_daily` runs extract -> seal against a private
    PostgreSQL holding the demo platform; the watermark advances with the seal, and the
    ledger seals the run's OpenLineage events naming the database's tables."""
    from regwatch.demo import generate
    from regwatch.extract.demo_source import load_day
    from tests.postgres import private_cluster, server_bin

    if server_bin() is None:
        pytest.skip("no PostgreSQL server binaries (set PG_BIN)")
    business_date = date(2025, 6, 2)
    files, landing, var = tmp_path / "files", tmp_path / "landing", tmp_path / "var"
    generate(files, business_date, business_date, loans=60, accounts=40, seed=7, malformed_rate=0)
    with private_cluster() as uri:
        load_day(uri, files, business_date)
        env = _airflow_env(
            _airflow_home(tmp_path / "airflow", airflow_db),
            REGWATCH_HOME=str(REPO_ROOT),  # sources.yml's platform_demo reads REGWATCH_SOURCE_URI
            REGWATCH_LANDING=str(landing),
            REGWATCH_VAR=str(var),
            REGWATCH_NO_PDF="1",
            REGWATCH_SOURCE="platform_demo",
            REGWATCH_SOURCE_URI=uri,
            AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
                {"type": "file", "log_file_path": str(tmp_path / "airflow-lineage.jsonl"), "append": True}
            ),
        )
        # Triggered at 2025-06-03 00:00: the interval [06-02, 06-03), business date 2025-06-02.
        settings = Settings(project_root=REPO_ROOT, var_dir=var, landing_dir=landing)
        with saved_parse(settings, "pack-cn"):  # dbt's saved parse of an earlier test's build
            done = subprocess.run(
                [str(BIN / "airflow"), "dags", "test", "regwatch_daily", "2025-06-03"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
    log = done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0, log
    delivered = landing / business_date.isoformat()
    block = (delivered / "_delivery.yml").read_text()
    assert "source: platform_demo" in block and "kind: postgresql" in block, block[:500]
    assert {p.name for p in delivered.glob("*.parquet")} >= {"loans.parquet", "transactions.parquet"}
    sealed = json.loads((var / "extract" / "platform_demo" / "sealed.json").read_text())
    assert list(sealed) == [business_date.isoformat()]  # the watermark advanced with the seal
    (manifest,) = (var / "ledger").glob(f"*_{business_date.isoformat()}_*.json")
    body = json.loads(manifest.read_text())
    assert body["run_id"] == sealed[business_date.isoformat()]
    assert {i["file_name"] for i in body["inputs"]} >= {"loans", "transactions", "watchlist"}
    events = [json.loads(line) for line in (var / body["lineage"]["path"]).read_text().splitlines()]
    assert [e["job"]["name"] for e in events] == ["regwatch.extract.platform_demo", "regwatch.load"]
    host = uri.split("@", 1)[1].split("/", 1)[0]
    assert {(d["namespace"], d["name"]) for d in events[0]["inputs"]} >= {
        (f"postgres://{host}", "platform.public.transactions"),
        (f"postgres://{host}", "platform.public.loans"),
    }
    assert (var / "reports" / business_date.isoformat() / "daily_exceptions.html").is_file()
    # Airflow's own OpenLineage events (the provider, file transport): every task completed.
    airflow_events = [
        json.loads(line) for line in (tmp_path / "airflow-lineage.jsonl").read_text().splitlines()
    ]
    completed = {e["job"]["name"] for e in airflow_events if e["eventType"] == "COMPLETE"}
    assert completed == {"regwatch_daily", *(f"regwatch_daily.{t}" for t in STEPS)}, log
