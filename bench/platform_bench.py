"""Benchmark: a platform-scale business date through every step, against its floor in the same run.

    make bench        # or: nice -n 10 uv run python bench/platform_bench.py --json var/bench/platform.json

**One day** (``--loans`` loans with their schedules, repayments and fundings, ``--accounts``
accounts, ``--transactions`` transactions in the date's file; generated inside DuckDB by
``bench/bulk_platform.py`` and cached under ``--work``) runs through every step of
:data:`regwatch.pipeline.STEPS` (ingest, transform, validate, update_alerts,
render_reports, seal_ledger), each in its own process the way an Airflow task runs it
(:func:`regwatch.pipeline.locked_step`). For each step: CPU seconds and peak RSS of that
process's whole tree (``bench/process_tree.py``: ``os.wait4`` of the child, which counts what
it waited for, plus every orphan it leaves, such as a Spark step's JVM; the tree's memory
(PSS) summed every half second), wall time, and the 1/5/15-minute load average when it
started and ended (the machine is shared; CPU seconds are what it disturbs least).

**Engines** (issue 19): ``--engine spark`` runs the day's steps on Spark (``regwatch run
--engine spark``; the ``spark`` extra installed, ``REGWATCH_SPARK_*`` from the environment);
``--engine both`` runs them on DuckDB, then on Spark over the same landing (each its own
``var``), and compares the two runs (``bench/engine_equality.py``: every exception, alert,
APR, and CSV/JSON report byte for byte); no floor is run then.

**The floor**, measured in the same run after the steps, each part in its own process too:

* ingest: every landing file loaded by one typed ``read_csv`` (contract types, rejects
  captured) into a fresh DuckDB file;
* transform: the compiled SQL of every node dbt just ran (``run_results.json``), executed
  directly in one DuckDB connection over the warehouse, in dbt's order, each model as a
  temporary table (views as views), each test's query fetched, seeds read by
  ``read_csv``; nothing committed. Python models have no SQL: dbt's own time for them is
  counted (so their ratio is 1 and the floor is generous);
* validate: every applicable rule as one hand-written SQL query (from the expectation and
  its kwargs) with the failing rows fetched;
* update_alerts, render_reports, seal_ledger: no floor measured.

Both sides run with DuckDB's ``memory_limit`` at ``--floor-memory`` for the floor.

**History** (``--history-days`` business dates at ``--history-transactions`` a day, a
smaller loan book): every date through every step; the CPU seconds of the last date
against the first tell whether a day's cost depends on the history before it.

``--loans 300 --accounts 300 --transactions 3000 --history-days 2`` runs in a few
minutes (tests/integration/test_platform_bench.py runs it smaller still so it never rots).
``REGWATCH_NO_PDF=1`` (as for ``regwatch run``) renders the reports without their PDF; the
summary records ``pdf_rendered``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

STEP_NAMES = ("ingest", "transform", "validate", "update_alerts", "render_reports", "seal_ledger")
FLOORS = {"ingest": "floor_ingest", "transform": "floor_transform", "validate": "floor_validate"}


# --------------------------------------------------------------------------- SQL of a rule


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def failing_condition(expectation: str, kwargs: dict[str, Any]) -> str:
    """The WHERE clause selecting the rows a rule's expectation counts as unexpected.

    Written from GX's documented semantics, not from its generated SQL: column-map
    expectations skip nulls (except the null checks themselves); a column pair skips
    rows per ``ignore_row_if`` (default: both missing) and otherwise fails unless
    A > B (A >= B with ``or_equal``).
    """
    if expectation == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = _column(kwargs["column_A"]), _column(kwargs["column_B"])
        op = ">=" if kwargs.get("or_equal") else ">"
        ignore = {
            "both_values_are_missing": f"({a} IS NULL AND {b} IS NULL)",
            "either_value_is_missing": f"({a} IS NULL OR {b} IS NULL)",
            "neither": "FALSE",
        }[kwargs.get("ignore_row_if", "both_values_are_missing")]
        return f"NOT {ignore} AND NOT coalesce({a} {op} {b}, FALSE)"
    c = _column(kwargs["column"])
    if expectation == "expect_column_values_to_not_be_null":
        return f"{c} IS NULL"
    if expectation == "expect_column_values_to_be_null":
        return f"{c} IS NOT NULL"
    if expectation in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        values = ", ".join(_literal(v) for v in kwargs["value_set"])
        negate = "NOT " if expectation == "expect_column_values_to_be_in_set" else ""
        return f"{c} IS NOT NULL AND {c} {negate}IN ({values})"
    if expectation == "expect_column_values_to_be_between":
        outside = []
        if kwargs.get("min_value") is not None:
            outside.append(f"{c} {'<=' if kwargs.get('strict_min') else '<'} {_literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            outside.append(f"{c} {'>=' if kwargs.get('strict_max') else '>'} {_literal(kwargs['max_value'])}")
        return f"{c} IS NOT NULL AND ({' OR '.join(outside) or 'FALSE'})"
    raise ValueError(f"no SQL for {expectation}")


def rule_sql(rule: Any, kwargs: dict[str, Any]) -> str:
    columns = ", ".join(_column(c) for c in dict.fromkeys([rule.entity_key, *rule.evidence]))
    return f"SELECT {columns} FROM marts.{_column(rule.model)} WHERE {failing_condition(rule.expectation, kwargs)}"


# --------------------------------------------------------------------------- steps (child processes)


def _render_pdf() -> bool:
    """The reports' PDF unless ``REGWATCH_NO_PDF=1`` (as the CLI reads it): WeasyPrint is most of
    render_reports' cost at a small scale, and the test that runs this bench reads no PDF."""
    return os.environ.get("REGWATCH_NO_PDF", "").lower() not in {"1", "true", "yes"}


def _var(work: Path, engine: str) -> Path:
    """A run's ``var/``: DuckDB's ``var``, another engine's ``var-<engine>`` beside it (the same landing)."""
    return work / ("var" if engine == "duckdb" else f"var-{engine}")


def _settings(work: Path, engine: str = "duckdb") -> Any:
    from regwatch.config import DEFAULT_SPARK_MASTER, Settings

    # The generated days carry planted malformed rows of every class; a history date's small
    # loan and repayment files can exceed the pack's max_quarantined_share, and the delivery
    # gate would then stop the run (as ``regwatch run`` without --accept-degraded does).
    return Settings(
        project_root=REPO,
        var_dir=_var(work, engine),
        landing_dir=work / "landing",
        render_pdf=_render_pdf(),
        accept_degraded="platform_bench: synthetic days with planted malformed rows of every class",
        engine=engine,
        spark_master=os.environ.get("REGWATCH_SPARK_MASTER") or DEFAULT_SPARK_MASTER,
    )


def _child_main(name: str, work: Path, day: date, memory: str, engine: str = "duckdb") -> dict[str, Any]:
    settings = _settings(work, engine)
    out: dict[str, Any] = {"step": name}
    if name in STEP_NAMES:
        from regwatch import pipeline

        file_cpu = _time_files() if name == "ingest" else {}
        node_cpu = _time_nodes() if name == "transform" else {}
        result = pipeline.locked_step(name, day, settings, "platform_bench")
        out["seconds"] = result.seconds
        if name == "ingest":
            files = result.summary.get("files", {})
            out["rows_read"] = sum(f.get("read", 0) for f in files.values())
            out["quarantined"] = sum(f.get("quarantined", 0) for f in files.values())
            out["file_cpu_seconds"] = {k: round(v, 2) for k, v in file_cpu.items()}
            out["transaction_side_cpu_seconds"] = round(
                sum(v for k, v in file_cpu.items() if k not in LOAN_FILES), 2
            )
        if name == "transform":
            out["nodes"] = _slowest_nodes(settings.dbt_target_dir)
            out |= _transaction_side_nodes(settings.dbt_target_dir, node_cpu)
        if name == "validate":
            out["exceptions"] = _exceptions(settings, day)
    elif name == "floor_ingest":
        out |= _floor_ingest(settings, day, work / "floor.duckdb", memory)
    elif name == "floor_transform":
        out |= _floor_transform(settings, memory)
    elif name == "floor_validate":
        out |= _floor_validate(settings, day, memory)
    else:
        raise SystemExit(f"no step {name}")
    return out


#: The loan side's input files; every other file (transactions, accounts, fx rates, watch list)
#: is the transaction side's, whose ingest + AML models + validate issue 17 bounds at 120 CPU-s.
LOAN_FILES = frozenset({"loans", "schedules", "repayments", "fundings"})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process, DuckDB's too
    return usage.ru_utime + usage.ru_stime


def _time_files() -> dict[str, float]:
    """CPU seconds of each file's load in this (ingest) process: ingest loads one file at a time."""
    from regwatch.ingest import load

    spent: dict[str, float] = {}
    original = load._load_file

    def timed(con: Any, contract: Any, *args: Any, **kwargs: Any) -> Any:
        before = _cpu()
        try:
            return original(con, contract, *args, **kwargs)
        finally:
            spent[contract.name] = spent.get(contract.name, 0.0) + _cpu() - before

    load._load_file = timed  # type: ignore[assignment]
    return spent


def _time_nodes() -> dict[str, float]:
    """CPU seconds of each dbt node in this (transform) process.

    dbt runs two nodes at a time (``threads: 2``): the CPU spent between two node events is
    shared equally by the nodes running then (an estimate; the floor's per-node CPU is exact).
    """
    import dbt.cli.main

    spent: dict[str, float] = {}
    running: set[str] = set()
    last = [_cpu()]

    def on_event(event: Any) -> None:
        name = event.info.name
        if name not in ("NodeStart", "NodeFinished"):
            return
        now = _cpu()
        for uid in running:
            spent[uid] = spent.get(uid, 0.0) + (now - last[0]) / len(running)
        last[0] = now
        uid = event.data.node_info.unique_id
        (running.add if name == "NodeStart" else running.discard)(uid)

    original = dbt.cli.main.dbtRunner

    class Timed(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, callbacks: list[Any] | None = None, **kwargs: Any) -> None:
            super().__init__(*args, callbacks=[*(callbacks or []), on_event], **kwargs)

    dbt.cli.main.dbtRunner = Timed  # type: ignore[misc]
    return spent


def _loan_side(node: dict[str, Any]) -> bool:
    """A node of the loan side: the loan, APR, disclosure and rate-cap models, the schedules',
    repayments' and fundings' staging (an AML mart may read one, e.g. the FX rates used by both)."""
    path = node.get("original_file_path", "")
    folders = set(path.split("/")[1:-1])
    staged = node.get("name", "").removeprefix("stg_platform__")
    return bool(folders & {"loans", "apr", "disclosures", "rate_caps"}) or staged.startswith(
        ("schedule", "repayment", "funding")
    )


def _transaction_nodes(manifest: dict[str, Any]) -> set[str]:
    """The models under marts/aml and marts/screening and every node they read (transitively) short of the loan side,
    and the tests of those."""
    nodes = {**manifest["nodes"], **manifest.get("sources", {})}
    side = {
        uid
        for uid, n in nodes.items()
        if n.get("resource_type") == "model"
        and n.get("original_file_path", "").startswith(("models/marts/aml/", "models/marts/screening/"))
    }
    todo = list(side)
    while todo:
        for parent in nodes.get(todo.pop(), {}).get("depends_on", {}).get("nodes", []):
            if parent not in side and not _loan_side(nodes.get(parent, {})):
                side.add(parent)
                todo.append(parent)
    tests = {
        uid
        for uid, n in nodes.items()
        if n.get("resource_type") == "test" and set(n.get("depends_on", {}).get("nodes", [])) <= side
    }
    return side | tests


def _transaction_side_nodes(target: Path, node_cpu: dict[str, float]) -> dict[str, Any]:
    manifest = json.loads((target / "manifest.json").read_text())
    side = _transaction_nodes(manifest)
    ran = {
        r["unique_id"]: r["execution_time"]
        for r in json.loads((target / "run_results.json").read_text())["results"]
    }
    aml = sorted(((uid, round(node_cpu.get(uid, 0.0), 2)) for uid in side if uid in ran), key=lambda x: -x[1])
    return {
        "transaction_side_nodes": len(aml),
        "transaction_side_cpu_seconds": round(sum(c for _, c in aml), 2),
        "transaction_side_node_seconds": round(sum(ran[uid] for uid, _ in aml), 2),
        "transaction_side_slowest": aml[:12],
        "node_cpu_seconds_total": round(sum(node_cpu.values()), 2),
    }


def _exceptions(settings: Any, day: date) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        total, bulk_loans = con.execute(
            "SELECT count(*), count(*) FILTER (entity_key LIKE 'LB%' OR entity_key LIKE 'BB%') "
            "FROM results.exceptions WHERE business_date = ?",
            [day],
        ).fetchone() or (0, 0)
    finally:
        con.close()
    # Bulk loans are built to break no rule: an exception on one is a generator or pipeline bug.
    return {"total": int(total), "on_bulk_loans": int(bulk_loans)}


def _slowest_nodes(target: Path, top: int = 8) -> list[tuple[str, float]]:
    path = target / "run_results.json"
    if not path.is_file():
        return []
    results = json.loads(path.read_text())["results"]
    timed = sorted(((r["unique_id"], round(r["execution_time"], 2)) for r in results), key=lambda x: -x[1])
    return timed[:top]


def _floor_ingest(settings: Any, day: date, path: Path, memory: str) -> dict[str, Any]:
    """Every landing file of the date by one typed ``read_csv`` (rejects captured), into a fresh file."""
    import duckdb

    from regwatch.contract import CONTRACTS

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"SET memory_limit = '{memory}'")
    loaded = rejected = 0
    file_cpu: dict[str, float] = {}
    started = time.perf_counter()
    for source in sorted((settings.landing_dir / day.isoformat()).glob("*.csv")):
        contract = CONTRACTS.get(source.stem)
        if contract is None:
            continue
        before = _cpu()
        with source.open("rb") as handle:
            header = handle.readline().decode().strip().split(",")
        types = {c: contract.column(c).sql_type if c in contract.column_names else "VARCHAR" for c in header}
        columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in types.items()) + "}"
        con.execute(
            f"CREATE TABLE {source.stem} AS SELECT * FROM read_csv('{source}', header = true, "
            f"columns = {columns}, store_rejects = true, timestampformat = '%Y-%m-%d %H:%M:%S')"
        )
        loaded += _one(con, f"SELECT count(*) FROM {source.stem}")
        rejected += _one(con, "SELECT count(*) FROM reject_errors")
        file_cpu[source.stem] = round(_cpu() - before, 2)
    con.close()
    seconds = time.perf_counter() - started
    path.unlink(missing_ok=True)
    return {
        "seconds": round(seconds, 2),
        "rows_loaded": loaded,
        "rejects": rejected,
        "file_cpu_seconds": file_cpu,
        "transaction_side_cpu_seconds": round(sum(v for k, v in file_cpu.items() if k not in LOAN_FILES), 2),
    }


def _one(con: Any, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _floor_transform(settings: Any, memory: str) -> dict[str, Any]:
    """dbt's compiled SQL of the nodes it ran, executed directly in one DuckDB connection, not committed."""
    import duckdb

    target = settings.dbt_target_dir
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = manifest["nodes"]
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("BEGIN")
    counted = {"sql": 0, "python_dbt_seconds": 0.0, "seeds": 0, "tests": 0}
    side = _transaction_nodes(manifest)
    node_cpu: dict[str, float] = {}
    started = time.perf_counter()
    for n, result in enumerate(results):
        uid = result["unique_id"]
        node = nodes.get(uid, {})
        kind = node.get("resource_type", uid.split(".")[0])
        before = _cpu()
        if kind == "seed":
            seed = settings.project_root / "dbt_project" / node["original_file_path"]
            con.execute(f"CREATE TEMP TABLE floor_{n} AS SELECT * FROM read_csv('{seed}')")
            counted["seeds"] += 1
            node_cpu[uid] = _cpu() - before
            continue
        code = result.get("compiled_code") or node.get("compiled_code")
        if node.get("language") == "python" or not code:
            counted["python_dbt_seconds"] += float(result["execution_time"])
            node_cpu[uid] = float(result["execution_time"])  # dbt's own time (wall), as the floor counts it
            continue
        if kind == "test":
            con.execute(code).fetchall()
            counted["tests"] += 1
        elif node.get("config", {}).get("materialized") in ("view", "ephemeral"):
            con.execute(f"CREATE TEMP VIEW floor_{n} AS {code}")
            counted["sql"] += 1
        else:
            con.execute(f"CREATE TEMP TABLE floor_{n} AS {code}")
            counted["sql"] += 1
        node_cpu[uid] = _cpu() - before
    seconds = time.perf_counter() - started
    con.execute("ROLLBACK")
    con.close()
    counted["python_dbt_seconds"] = round(counted["python_dbt_seconds"], 2)
    aml = sorted(((uid, round(c, 2)) for uid, c in node_cpu.items() if uid in side), key=lambda x: -x[1])
    return {
        "seconds": round(seconds + counted["python_dbt_seconds"], 2),
        "nodes": counted,
        "transaction_side_cpu_seconds": round(sum(c for _, c in aml), 2),
        "transaction_side_slowest": aml[:12],
    }


def _floor_validate(settings: Any, day: date, memory: str) -> dict[str, Any]:
    """Every applicable rule as one SQL query, its failing rows fetched."""
    import duckdb

    from regwatch.rules import load_pack

    pack = load_pack(settings.pack_dir)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.execute(f"SET memory_limit = '{memory}'")
    failing = 0
    skipped: list[str] = []
    started = time.perf_counter()
    for rule in pack.applicable(day):
        try:
            sql = rule_sql(rule, rule.resolved_kwargs(pack.parameters))
        except ValueError:
            skipped.append(rule.id)
            continue
        failing += len(con.execute(sql).fetchall())
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": round(seconds, 3), "failing_rows": failing, "rules_without_sql": skipped}


# --------------------------------------------------------------------------- driver


def _run_child(
    name: str, work: Path, day: date, extra: tuple[str, ...] = (), engine: str = "duckdb"
) -> dict[str, Any]:
    """One step in a fresh process; the CPU seconds and peak RSS of its whole process tree.

    :func:`process_tree.run`: the step's own ``os.wait4`` usage plus every orphan it leaves
    (a Spark step's JVM), and the tree's memory (PSS) summed, sampled every half second.
    """
    import process_tree

    command = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--work",
        str(work),
        "--date",
        day.isoformat(),
        "--engine",
        engine,
        *extra,
    ]
    load = os.getloadavg()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        usage = process_tree.run(command, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if usage.returncode != 0:
        raise SystemExit(f"step {name} ({engine}) failed ({usage.returncode}):\n{stderr[-4000:]}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result |= {
        "wall_seconds": round(usage.wall_seconds, 2),
        "cpu_seconds": round(usage.cpu_seconds, 2),
        "step_process_cpu_seconds": round(usage.command_cpu_seconds, 2),
        "peak_rss_mib": round(usage.peak_rss_mib, 1),
        "load_average": {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]},
    }
    if usage.orphans or usage.outlived:
        result["orphans"] = [
            {"name": o.name, "cpu_seconds": round(o.cpu_seconds, 2), "peak_rss_mib": round(o.peak_rss_mib, 1)}
            for o in usage.orphans
        ]
        result["outlived"] = usage.outlived
    return result


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}"


def _generate(work: Path, day: date, start: date, sizes: dict[str, int]) -> dict[str, Any]:
    extra = (
        "--start",
        start.isoformat(),
        *(x for key, value in sizes.items() for x in (f"--{key.replace('_', '-')}", str(value))),
    )
    return _run_child("generate", work, day, extra)


def _landing_digest(landing: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(landing.rglob("*.csv")):
        digest.update(str(path.relative_to(landing)).encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 24), b""):
                digest.update(chunk)
    return digest.hexdigest()


def run_day_bench(
    work: Path,
    day: date,
    sizes: dict[str, int],
    memory: str,
    names: tuple[str, ...] = STEP_NAMES,
    engines: tuple[str, ...] = ("duckdb",),
) -> dict[str, Any]:
    """The day through the steps ``names`` (a prefix of :data:`STEP_NAMES`) on each engine in turn.

    On DuckDB alone each step is followed by its floor; with two engines (``--engine both``)
    no floor is run and the two runs are compared (:func:`engine_equality.compare`).
    ``steps`` and ``floors`` are the first engine's.
    """
    generated = _generate(work, day, day, sizes)
    print(f"generated: {generated['platform']} ({generated['wall_seconds']:.0f} s wall)", flush=True)
    runs: dict[str, dict[str, Any]] = {}
    for engine in engines:
        shutil.rmtree(_var(work, engine), ignore_errors=True)
        steps: dict[str, Any] = {}
        floors: dict[str, Any] = {}
        for name in names:
            steps[name] = _run_child(name, work, day, engine=engine)
            print(json.dumps({"engine": engine} | steps[name], default=str), flush=True)
        # The floors after the steps (each reads what its step left: the landing, dbt's run_results
        # and the warehouse, whose marts no later step changes), so a long run reports its steps first.
        for name in names if engines == ("duckdb",) else ():  # the floors are DuckDB's own benchmark
            if name in FLOORS:
                floors[name] = _run_child(FLOORS[name], work, day, ("--floor-memory", memory))
                print(json.dumps(floors[name], default=str), flush=True)
        runs[engine] = {"steps": steps, "floors": floors}
    result = {"generated": generated, "engine": engines[0], **runs[engines[0]]}
    if len(engines) > 1:
        import engine_equality

        result["engines"] = runs
        result["equality"] = {
            e: engine_equality.compare(_var(work, engines[0]), _var(work, e)) for e in engines[1:]
        }
        print(json.dumps(result["equality"]), flush=True)
    return result


def _floor_cpu(name: str, floor: dict[str, Any]) -> float:
    """A floor's CPU seconds; the transform floor's include dbt's time for the Python models (no SQL to run)."""
    python = floor.get("nodes", {}).get("python_dbt_seconds", 0.0) if name == "transform" else 0.0
    return float(floor["cpu_seconds"]) + float(python)


def transaction_side(day: dict[str, Any]) -> dict[str, float] | None:
    """Issue 17's transaction side: the non-loan files' ingest + the AML models' nodes + validate, CPU-s."""
    steps, floors = day["steps"], day["floors"]
    if not all(n in steps for n in ("ingest", "transform", "validate")):
        return None
    side = {
        "ingest": steps["ingest"]["transaction_side_cpu_seconds"],
        "aml_models": steps["transform"]["transaction_side_cpu_seconds"],
        "validate": steps["validate"]["cpu_seconds"],
    }
    side["total"] = round(sum(side.values()), 1)
    if all(n in floors for n in ("ingest", "transform", "validate")):
        side["floor"] = round(
            floors["ingest"]["transaction_side_cpu_seconds"]
            + floors["transform"]["transaction_side_cpu_seconds"]
            + floors["validate"]["cpu_seconds"],
            1,
        )
    return side


def run_history_bench(work: Path, end: date, days: int, sizes: dict[str, int]) -> dict[str, Any]:
    start = end
    while True:  # the first of ``days`` business dates ending at ``end``
        from regwatch.demo import business_days

        if len(business_days(start, end)) >= days:
            break
        start -= timedelta(days=1)
    generated = _generate(work, end, start, sizes)
    print(f"generated: {generated['platform']} ({generated['wall_seconds']:.0f} s wall)", flush=True)
    shutil.rmtree(work / "var", ignore_errors=True)
    from regwatch.demo import business_days

    per_day = []
    for current in business_days(start, end):
        steps = {name: _run_child(name, work, current) for name in STEP_NAMES}
        row = {
            "date": current.isoformat(),
            "cpu_seconds": round(sum(s["cpu_seconds"] for s in steps.values()), 1),
            "wall_seconds": round(sum(s["wall_seconds"] for s in steps.values()), 1),
            "peak_rss_mib": max(s["peak_rss_mib"] for s in steps.values()),
            "load_average_start": steps["ingest"]["load_average"]["start"],
            "steps": {n: s["cpu_seconds"] for n, s in steps.items()},
            "peak_rss_mib_steps": {n: s["peak_rss_mib"] for n, s in steps.items()},
            # what the day's reports hold: a history whose alerts grow measures the alerts, not the history
            "exceptions": steps["validate"]["exceptions"]["total"],
        }
        per_day.append(row)
        print(json.dumps(row), flush=True)
    return {
        "generated": generated,
        "days": per_day,
        "last_over_first_cpu": round(per_day[-1]["cpu_seconds"] / per_day[0]["cpu_seconds"], 2),
    }


def table(summary: dict[str, Any]) -> str:
    """The README block: one row per step with its floor, then the history line."""
    lines: list[str] = []
    if "day" in summary:
        day = summary["day"]
        sizes = summary["sizes"]
        g = day["generated"]
        lines += [
            f"One business date: {sizes['loans']:,} bulk loans, {sizes['accounts']:,} bulk accounts, "
            f"{sizes['transactions']:,} transactions in the file; {summary['machine']}, {summary['date']}. "
            f"Generated in {g['wall_seconds']:.0f} s wall, {g['cpu_seconds']:.0f} CPU-s, "
            f"{g['peak_rss_mib'] / 1024:.1f} GiB."
            + (
                ""
                if summary.get("pdf_rendered", True)
                else " Reports rendered without their PDF (REGWATCH_NO_PDF=1)."
            ),
            "",
            "| step | CPU-s | wall s | floor CPU-s | ratio | peak RSS | load avg (1/5/15) at start |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in STEP_NAMES:
            if name not in day["steps"]:
                lines.append(f"| {name} | not run | | | | | |")
                continue
            s = day["steps"][name]
            f = day["floors"].get(name)
            floor_cpu = _floor_cpu(name, f) if f else 0.0
            floor = f"{floor_cpu:.1f}" if f else "—"
            ratio = f"{s['cpu_seconds'] / floor_cpu:.1f}x" if f and floor_cpu else "—"
            load = "/".join(f"{x:.1f}" for x in s["load_average"]["start"])
            lines.append(
                f"| {name} | {s['cpu_seconds']:.1f} | {s['wall_seconds']:.1f} | {floor} | {ratio} "
                f"| {s['peak_rss_mib'] / 1024:.2f} GiB | {load} |"
            )
        total = sum(s["cpu_seconds"] for s in day["steps"].values())
        wall = sum(s["wall_seconds"] for s in day["steps"].values())
        peak = max((s["peak_rss_mib"] for s in day["steps"].values()), default=0.0)
        lines.append(
            f"| **steps run** | **{total:.1f}** | **{wall:.1f}** | | | **{peak / 1024:.2f} GiB** | |"
        )
        side = transaction_side(day)
        if side:
            floor = f"; floor {side['floor']:.1f} CPU-s" if "floor" in side else ""
            lines += [
                "",
                f"Transaction side (issue 17: <= 120 CPU-s): ingest of the non-loan files {side['ingest']:.1f}"
                f" + AML models' nodes {side['aml_models']:.1f} + validate {side['validate']:.1f}"
                f" = **{side['total']:.1f} CPU-s**{floor}.",
            ]
    if "engines" in summary.get("day", {}):
        lines += ["", *engines_table(summary["day"])]
    if "history" in summary:
        h = summary["history"]
        first, last = h["days"][0], h["days"][-1]
        lines += [
            "",
            f"History: {len(h['days'])} business dates at {summary['history_sizes']['transactions']:,} "
            f"transactions a day: day 1 {first['cpu_seconds']:.0f} CPU-s (load {first['load_average_start'][0]:.1f}), "
            f"day {len(h['days'])} {last['cpu_seconds']:.0f} CPU-s (load {last['load_average_start'][0]:.1f}): "
            f"{h['last_over_first_cpu']:.2f}x; exceptions a day "
            + " / ".join(f"{d['exceptions']:,}" for d in h["days"])
            + ".",
        ]
    return "\n".join(lines)


def engines_table(day: dict[str, Any]) -> list[str]:
    """The day's steps on each engine side by side (wall, CPU-s of the process tree, peak RSS), and the
    comparison of their results."""
    runs = day["engines"]
    names = [n for n in STEP_NAMES if any(n in r["steps"] for r in runs.values())]
    head = " | ".join(f"{e} wall s | {e} CPU-s | {e} peak RSS" for e in runs)
    lines = [
        f"| step | {head} | load avg (1 min) at start |",
        "|---|" + "---|---|---|" * len(runs) + "---|",
    ]

    def cells(step: dict[str, Any] | None) -> str:
        if step is None:
            return "not run | |"
        return (
            f"{step['wall_seconds']:.1f} | {step['cpu_seconds']:.1f} | {step['peak_rss_mib'] / 1024:.2f} GiB"
        )

    for name in names:
        steps = [r["steps"].get(name) for r in runs.values()]
        load = " / ".join(f"{s['load_average']['start'][0]:.1f}" for s in steps if s)
        lines.append(f"| {name} | {' | '.join(cells(s) for s in steps)} | {load} |")
    totals = []
    for r in runs.values():
        ran = r["steps"].values()
        peak = max((s["peak_rss_mib"] for s in ran), default=0.0) / 1024
        wall, cpu = sum(s["wall_seconds"] for s in ran), sum(s["cpu_seconds"] for s in ran)
        totals.append(f"**{wall:.0f}** | **{cpu:.1f}** | **{peak:.2f} GiB**")
    lines.append(f"| **all steps** | {' | '.join(totals)} | |")
    for engine, verdict in day.get("equality", {}).items():
        c = verdict["compared"]
        what = (
            f"{c['exceptions']:,} exceptions (rule, entity key, message, evidence), alerts "
            f"({c['results.alerts']:,} + {c['results.alert_days']:,} + {c['results.customer_alerts']:,} rows), "
            f"{c['aprs']:,} APRs, {c['report_files']} CSV/JSON reports byte for byte ({c['report_bytes']:,} bytes)"
        )
        state = "yes" if verdict["equal"] else "**no**: " + "; ".join(verdict["differences"][:5])
        lines += ["", f"Equal ({day['engine']} vs {engine}): {state} ({what})."]
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--base-loans", type=int, default=2000)
    parser.add_argument("--base-accounts", type=int, default=20_000)
    parser.add_argument(
        "--history-days", type=int, default=30, help="business dates of the history run (0: none)"
    )
    parser.add_argument("--history-transactions", type=int, default=1_000_000)
    parser.add_argument("--history-loans", type=int, default=100_000)
    parser.add_argument("--no-day", action="store_true", help="only the history run")
    parser.add_argument(
        "--steps", type=int, default=len(STEP_NAMES), help="run the day's first N steps only (profiling)"
    )
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark", "both"),
        default="duckdb",
        help="the day's engine; both: DuckDB, then Spark on the same landing, the results compared",
    )
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench" / "platform")
    parser.add_argument("--floor-memory", default="4GB", help="DuckDB memory_limit of the floor")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--spread-days", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "generate":
        import bulk_platform

        built = bulk_platform.build(
            args.work / "landing",
            args.date,
            start=args.start,
            transactions=args.transactions,
            accounts=args.accounts,
            loans=args.loans,
            base_loans=args.base_loans,
            base_accounts=args.base_accounts,
            history_days=args.spread_days,
        )
        print(json.dumps({"platform": repr(built), "landing_sha256": _landing_digest(args.work / "landing")}))
        return {}
    if args.child:
        out = _child_main(args.child, args.work, args.date, args.floor_memory, args.engine)
        print(json.dumps(out, default=str))
        return {}

    base = {"base_loans": args.base_loans, "base_accounts": args.base_accounts}
    sizes = {"loans": args.loans, "accounts": args.accounts, "transactions": args.transactions, **base}
    summary: dict[str, Any] = {
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d"),
        "sizes": sizes,
        "pdf_rendered": _render_pdf(),
    }
    if not args.no_day:
        work = args.work / f"day-{args.loans}-{args.transactions}"
        engines = ("duckdb", "spark") if args.engine == "both" else (args.engine,)
        summary["day"] = run_day_bench(
            work, args.date, sizes, args.floor_memory, STEP_NAMES[: args.steps], engines
        )
        summary["spark_settings"] = {k: v for k, v in os.environ.items() if k.startswith("REGWATCH_SPARK_")}
    if args.history_days:
        history = {
            "loans": args.history_loans,
            "accounts": args.accounts,
            "transactions": args.history_transactions,
            "spread_days": 1,
            **base,
        }
        summary["history_sizes"] = history
        work = args.work / f"history-{args.history_days}-{args.history_transactions}"
        summary["history"] = run_history_bench(work, args.date, args.history_days, history)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(table(summary))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(the driver itself: {peak:.0f} MiB)")
    return summary


if __name__ == "__main__":
    main()
