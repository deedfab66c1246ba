"""The same platform on DuckDB and on Spark gives the same results (issue 19, ``make test-spark``).

The e2e platform's business days (the generator's 200 loans, 100 accounts, seed 3, as
tests/conftest.py's sealed platform) are run twice, each engine in a process of its own
(``regwatch run --engine ...``): every exception (rule, entity key, message, evidence), every
alert, the daily CSVs and the large-value report JSON must be equal, byte for byte where
they are files. Skipped where the ``spark`` extra is not installed, unless
``REGWATCH_REQUIRE_SPARK=1`` (``make test-spark`` sets it): then a missing pyspark fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from bench.engine_equality import ALERT_TABLES, APRS_SQL, EXCEPTIONS_SQL, alerts_sql, report_files, rows
from regwatch.demo import generate
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.e2e, pytest.mark.slow]

START = date(2025, 6, 2)
END = date(2025, 6, int(os.environ.get("REGWATCH_SPARK_TEST_LAST_DAY", "4")))

if importlib.util.find_spec("pyspark") is None:
    if os.environ.get("REGWATCH_REQUIRE_SPARK") == "1":
        raise RuntimeError("make test-spark needs the spark extra: uv sync --extra spark")
    pytest.skip("the spark extra is not installed (uv sync --extra spark)", allow_module_level=True)


def _start(engine: str, tmp: Path, landing: Path) -> tuple[Path, subprocess.Popen[str]]:
    var = tmp / engine
    env = {
        **os.environ,
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(var),
        "REGWATCH_LANDING": str(landing),
        "REGWATCH_ENGINE": engine,
        "REGWATCH_NO_PDF": "1",
        "REGWATCH_SPARK_MASTER": os.environ.get("REGWATCH_SPARK_MASTER", "local[2]"),
    }
    regwatch = Path(sys.executable).parent / "regwatch"
    with (tmp / f"{engine}.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(regwatch), "run", "--from", str(START), "--to", str(END)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp,
        )
    return var, process


#: DuckDB's var/, Spark's var/, and the audit rerun of the first Spark date (finished).
Runs = tuple[Path, Path, "subprocess.Popen[str]"]


def _start_audit_rerun(spark_var: Path) -> subprocess.Popen[str]:
    """``regwatch audit rerun`` of the first date, in a process of its own (its own JVM)."""
    env = {
        **os.environ,
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(spark_var),
        "REGWATCH_SPARK_MASTER": os.environ.get("REGWATCH_SPARK_MASTER", "local[2]"),
    }
    env.pop("REGWATCH_ENGINE", None)  # the engine comes from the manifest, not the environment
    regwatch = Path(sys.executable).parent / "regwatch"
    with (spark_var.parent / "audit.log").open("w", encoding="utf-8") as log:
        return subprocess.Popen(
            [str(regwatch), "audit", "rerun", "--business-date", str(START)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=spark_var.parent,
        )


def _sealed(var: Path, day: date) -> bool:
    """Whether ``day``'s run has its manifest in the ledger (written atomically, after its outputs are archived)."""
    return any((var / "ledger").glob(f"[0-9]*_{day}_*.json"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Both engines' runs of the platform, side by side, and the audit rerun of the first Spark date.

    DuckDB's days run while Spark's JVM starts and builds. The rerun (a process and a JVM of
    its own, replaying the date in a scratch folder from the ledger and the archive) starts
    once the Spark run has sealed that date, while Spark's later dates are still running: it
    reads only what that date's manifest sealed, as an auditor's rerun during a day's run would.
    """
    tmp = tmp_path_factory.mktemp("engines")
    landing = tmp / "landing"
    generate(landing, START, date(2025, 6, 5), loans=200, accounts=100, seed=3)
    started = {engine: _start(engine, tmp, landing) for engine in ("spark", "duckdb")}
    spark_var, spark = started["spark"]
    audit: subprocess.Popen[str] | None = None
    try:
        while audit is None and spark.poll() is None:
            if _sealed(spark_var, START):
                audit = _start_audit_rerun(spark_var)
            else:
                time.sleep(1)
        for _var, process in started.values():
            process.wait()
        for engine, (_var, process) in started.items():
            output = (tmp / f"{engine}.log").read_text(encoding="utf-8")
            assert process.returncode == 0, f"{engine}: {output[-3000:]}"
        if audit is None:  # the run ended between two looks: the date is sealed now
            audit = _start_audit_rerun(spark_var)
        audit.wait()
    finally:  # a failed run or an interrupted test leaves no process behind
        for process in [p for _var, p in started.values()] + ([audit] if audit else []):
            if process.poll() is None:
                process.kill()
                process.wait()
    return started["duckdb"][0], spark_var, audit


def test_each_spark_day_reports_every_model_it_built(runs: Runs) -> None:
    """The transform line counts the dbt models of all three invocations plus the Python models."""
    log = (runs[1].parent / "spark.log").read_text(encoding="utf-8")
    counts = [int(n) for n in re.findall(r"transform .*dbt: (\d+) models", log)]
    assert len(counts) == (END - START).days + 1, log[-2000:]
    assert min(counts) >= 60, counts


def test_every_exception_is_the_same(runs: Runs) -> None:
    on_duckdb, on_spark = (rows(var, EXCEPTIONS_SQL) for var in runs[:2])
    # 38 on the first day alone (REGWATCH_SPARK_TEST_LAST_DAY=2), more over the three days
    assert len(on_duckdb) > 30, "the platform raised too few exceptions to compare"
    assert on_spark == on_duckdb


def test_every_alert_is_the_same(runs: Runs) -> None:
    for table in ALERT_TABLES:
        on_duckdb, on_spark = (rows(var, alerts_sql(table)) for var in runs[:2])
        assert on_spark == on_duckdb, table


def test_daily_csvs_and_large_value_json_are_byte_identical(runs: Runs) -> None:
    duckdb_var, spark_var, _audit = runs
    compared = 0
    for name in report_files(duckdb_var):
        twin = spark_var / "reports" / name
        assert twin.is_file(), f"{twin} missing on Spark"
        assert twin.read_bytes() == (duckdb_var / "reports" / name).read_bytes(), str(name)
        compared += 1
    assert compared >= 2 * ((END - START).days + 1), "daily CSV and large-value JSON of every day"


def test_the_aprs_are_bit_identical(runs: Runs) -> None:
    on_duckdb, on_spark = (rows(var, APRS_SQL) for var in runs[:2])
    assert len(on_duckdb) > 100
    assert on_spark == on_duckdb


def test_the_engine_is_recorded_and_an_audit_rerun_replays_it_on_spark(runs: Runs) -> None:
    """Issue 19: ``regwatch audit rerun`` of a Spark-run date rebuilds it on Spark and reproduces its outputs."""
    duckdb_var, spark_var, audit = runs
    for var, engine in ((duckdb_var, None), (spark_var, "spark")):
        for path in sorted((var / "ledger").glob("[0-9]*_*.json")):
            assert json.loads(path.read_bytes()).get("engine") == engine, path.name
    output = (spark_var.parent / "audit.log").read_text(encoding="utf-8")
    assert audit.returncode == 0, output[-5000:]
    assert "REPRODUCED byte for byte" in output, output[-2000:]
    reruns = list((spark_var / "audit" / str(START)).glob("rerun_*.html"))
    assert reruns, "the rerun wrote no report"
