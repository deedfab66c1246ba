"""Build the dbt project as of a business date, in-process through ``dbtRunner``.

In-process saves dbt's ~4 s start-up on every call after the first. dbt writes its
target and logs under ``var/dbt/``, never into the repository, and gets the
warehouse path through ``REGWATCH_WAREHOUSE`` (read by ``dbt_project/profiles.yml``),
with DuckDB's memory limit and spill folder (:func:`regwatch.warehouse.duckdb_config`),
both relative to the warehouse's folder, where dbt runs: a copied or moved ``var/`` keeps
dbt's saved parse (:func:`_warehouse_environment`).

Two costs of a day that do not depend on the day are paid once:

- **Parsing.** dbt re-parses the whole project whenever ``--vars`` change. The vars carry
  only what a rule pack fixes (APR convention, reporting currency, parameters), so they
  change with the pack, and a changed pack re-parses everything. The business date,
  which changes every day but never changes the graph, travels as the environment
  variable ``REGWATCH_BUSINESS_DATE``, read by the ``business_date()`` macro only while dbt
  executes; so day D+1 reuses day D's parse (``target/partial_parse.msgpack``), and dbt
  re-parses only the files that changed (their checksums are in the saved parse).
- **Seeds.** The reference seeds are built only when their content changes: the sha256
  of each seed (its CSV, the seed property files, ``dbt_project.yml``) is recorded in the
  warehouse (``reference.seed_hashes``) after a build that loaded them; a build whose
  hashes all match and whose seed tables all exist skips the seeds (their tests run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from regwatch import warehouse
from regwatch.config import Settings


class TransformError(RuntimeError):
    """dbt failed; the message names the first failing node."""


@dataclass(frozen=True)
class TransformResult:
    business_date: date
    nodes: int
    models: int
    tests: int
    seeds: int
    seconds: float
    #: How dbt parsed the project: "partial" (the saved parse reused as it was), "partial: N
    #: files re-parsed" (those whose content changed) or "full: <dbt's reason>" (no saved
    #: parse, another pack, another dbt version, ...).
    parse: str = "full"
    #: How the incremental models were built: "incremental since <date>" (only the loads after
    #: the last build's date merged in) or "full refresh: <why>" (every model from the raw layer).
    build: str = "full refresh: first build"
    #: Models and data tests left as the last build made them (:func:`_unchanged_nodes`).
    unchanged: int = 0


def build(
    business_date: date,
    settings: Settings,
    apr_convention: str = "cn_irr",
    pack_parameters: Mapping[str, Any] | None = None,
    reporting_currency: str | None = None,
    select: Sequence[str] = (),
    full_refresh: bool = False,
) -> TransformResult:
    """``dbt build`` (seeds, models, tests) as of ``business_date``, APRs in the pack's convention.

    ``pack_parameters`` (name -> value) reach the models as the dbt var ``pack``,
    read with the ``pack_param(name)`` macro: a window or threshold that shapes a
    feature model is policy, so it lives in the rule pack, never in the SQL. None means
    the parameters of the settings' pack (``checks/<settings.pack>/_pack.yml``).
    ``reporting_currency`` (the pack's ``currency``) reaches them as the dbt var
    ``reporting_currency``: the unit loan-side money is converted to and disclosed in.
    None means the settings' pack's currency.
    ``select`` (dbt node selectors, e.g. ``+fct_loan_positions``) builds only those nodes
    (seeds, models and their data tests): for tests of a few models on hand-made rows;
    a business date's run builds everything (the default, empty).

    The incremental models (issue 17) merge in only the loads after the last build's date
    when that build is a base to continue from (:func:`_continues_from`); otherwise, or with
    ``full_refresh``, every model is rebuilt from the raw layer (``dbt --full-refresh``).
    Either way the tables are the same: tests/integration/test_incremental_builds.py.
    """
    if pack_parameters is None or reporting_currency is None:
        from regwatch.rules import load_pack

        pack = load_pack(settings.pack_dir)
        if pack_parameters is None:
            pack_parameters = {name: p.value for name, p in pack.parameters.items()}
        if reporting_currency is None:
            reporting_currency = pack.currency

    started = time.perf_counter()
    target = settings.dbt_target_dir
    seed_hashes = _seed_hashes(settings.dbt_project_dir)
    on_spark = settings.engine == "spark"
    # On Spark the seeds are loaded every build (their record lives in the DuckDB warehouse).
    seeds_current = not on_spark and _seeds_current(settings, seed_hashes)
    # What the pack fixes, never the date (see the module's description): these change only
    # with the pack, and a change re-parses the project.
    dbt_vars = json.dumps(
        {
            "apr_convention": apr_convention,
            "reporting_currency": reporting_currency,
            "pack": dict(sorted(pack_parameters.items())),
        },
        default=str,
    )
    project_sha256 = _project_fingerprint(settings.dbt_project_dir, dbt_vars, seed_hashes)
    built_through, build_mode = _continues_from(settings, business_date, project_sha256, select)
    if full_refresh and built_through is not None:
        built_through, build_mode = None, "full refresh: asked for"
    if on_spark:  # the incremental state is the DuckDB warehouse's; Spark's tables are rebuilt
        built_through, build_mode = None, "full refresh: the Spark engine"
    # A build continuing from the last one (same project, pack and seeds) leaves the models
    # that read no date and no raw row as they are, with their data tests.
    unchanged = _unchanged_nodes(settings, target) if built_through is not None and seeds_current else []
    common = [
        "--project-dir",
        str(settings.dbt_project_dir.absolute()),
        "--profiles-dir",
        str(settings.dbt_project_dir.absolute()),
        "--target-path",
        str(target.absolute()),
        "--log-path",
        str((settings.var_dir / "dbt" / "logs").absolute()),
        "--vars",
        dbt_vars,
        "--quiet",
        "--log-level",
        "none",
        # dbt's file log formats every debug event it drops (a line, the environment scanned
        # for secrets) before its logging level discards it: ~7 % of a day's build. regwatch
        # writes dbt's info, warning and error lines to the same file itself (_DbtLog).
        "--log-level-file",
        "none",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    args = [
        "build",
        "--target",
        "spark" if on_spark else "local",
        *common,
        # The dbt unit tests (models/**/_*__unit_tests.yml) test the SQL on fixed rows, not the
        # date's data: tests/unit/test_dbt_unit_tests.py runs them; a day's build skips them.
        "--exclude-resource-type",
        "unit_test",
        *(["--exclude-resource-type", "seed"] if seeds_current else []),
        *(["--full-refresh"] if built_through is None else []),
        *(["--exclude", *unchanged] if unchanged else []),
        # A test of a data test's parents all built (cautious), never one on a model left out.
        *(["--select", *select, "--indirect-selection", "cautious"] if select and not on_spark else []),
        # On DuckDB the project is parsed first (_parse) and regwatch writes the artifacts:
        # manifest.json only when the parse changed, run_results.json after the build.
        *(["--no-write-json"] if not on_spark else []),
    ]
    parse: list[str] = []

    log = _DbtLog(settings.var_dir / "dbt" / "logs" / "dbt.log")

    def on_event(event: Any) -> None:
        log.write(event)
        name = event.info.name
        if name == "UnableToPartialParse":
            parse.append(f"full: {event.data.reason}")
        elif name == "PartialParsingEnabled":
            changed = int(event.data.added) + int(event.data.changed) + int(event.data.deleted)
            parse.append(f"partial: {changed} files re-parsed" if changed else "partial")
        elif name == "PartialParsingSkipParsing":
            parse.append("partial")

    environment = {
        "REGWATCH_SPARK_MASTER": settings.spark_master,
        "REGWATCH_BUSINESS_DATE": business_date.isoformat(),
        # The business date of the build the incremental models continue from (built_through()).
        "REGWATCH_BUILT_THROUGH": built_through.isoformat() if built_through else "",
        **_warehouse_environment(settings),
    }
    if build_mode != "full refresh: first build":
        # A build that fails half-way leaves some incremental models merged and others not:
        # with no record, the next build is a full refresh.
        warehouse.record_build_state(settings.warehouse_path, None)
    counts = {"model": 0, "test": 0, "seed": 0}

    def invoke(phase: Sequence[str] = (), manifest: Any = None) -> None:
        result = _run_dbt([*args, *phase], on_event, manifest)
        if result.exception is not None:
            raise TransformError(f"dbt could not run: {_one_line(str(result.exception))}")
        run_results: Any = result.result
        if manifest is not None and hasattr(run_results, "write"):
            run_results.write(str(target / "run_results.json"))
        failures: list[str] = []
        node_results: Any = result.result or []
        for node_result in node_results:
            node: Any = node_result.node
            kind = str(node.resource_type)
            counts[kind] = counts.get(kind, 0) + 1
            if str(node_result.status) in {"error", "fail", "runtime error"}:
                failures.append(f"{kind} {node.name}: {_one_line(str(node_result.message))}")
        if failures or not result.success:
            first = failures[0] if failures else "see var/dbt/logs/dbt.log"
            more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            raise TransformError(f"dbt build for {business_date} failed: {first}{more}")

    # dbt runs in the warehouse's folder (see _warehouse_environment), its own paths absolute.
    with _environment(environment), _working_directory(settings.warehouse_path.parent), log:
        if on_spark:
            # The Python models regwatch runs itself, added after the build: `counts["model"] +=`
            # would read the count before the build's own invocations added theirs.
            python_models = _build_on_spark(settings, target, invoke, select)
            counts["model"] += python_models
        else:
            _reuse_parse(settings.dbt_project_dir, target)
            try:
                manifest = _parse(["parse", "--target", "local", *common, "--no-write-json"], on_event)
                _write_manifest(manifest, target)
                invoke(manifest=manifest)
            finally:
                _remember_parse(settings.dbt_project_dir, target)
    # Only a whole build in the warehouse is a base to continue from: a selected build (a few
    # models on hand-made rows) may have loaded only some seeds, and a Spark build's tables
    # are Spark's (every Spark build is a full refresh).
    is_base = not select and not on_spark
    if is_base and not seeds_current:
        warehouse.record_seed_hashes(settings.warehouse_path, seed_hashes)
    if is_base:
        warehouse.record_build_state(settings.warehouse_path, business_date, project_sha256)
    # A full parse names its reason first; a partial one may still meet a reason later
    # (dbt falls back to a full parse on an error), so any reason wins.
    reasons = [p for p in parse if p.startswith("full")] or parse[-1:]
    return TransformResult(
        business_date,
        sum(counts.values()),
        counts["model"],
        counts["test"],
        counts["seed"],
        round(time.perf_counter() - started, 3),
        reasons[0] if reasons else "full",
        build_mode,
        len(unchanged),
    )


def incremental_since(dbt: Any) -> str | None:
    """In a dbt Python model: the last build's date (ISO) when the build is incremental, else None.

    What the ``built_through()`` macro gives a SQL model (a Python model cannot call a macro):
    only what a load after that date brought is built again. The Spark engine's ``dbt``
    object has no ``is_incremental``: its builds are full refreshes.
    """
    if not getattr(dbt, "is_incremental", False):
        return None
    since = os.environ.get("REGWATCH_BUILT_THROUGH", "")
    if not since:
        raise TransformError(
            "an incremental build needs the date of the build it continues from: regwatch passes it"
            " as REGWATCH_BUILT_THROUGH (or run dbt with --full-refresh)"
        )
    return date.fromisoformat(since).isoformat()


def loans_with_changed_inputs(dbt: Any) -> Any:
    """In a dbt Python model: the loan ids whose rows an incremental build rebuilds, else None.

    The ``loans_with_changed_inputs`` macro's set for a Python model (a DuckDB relation of
    ``loan_id``): a load after the last build brought their terms or a schedule row. None in
    a full refresh (every loan). The model must ``dbt.ref`` both staging models itself (dbt
    finds a Python model's parents in its own source).
    """
    since = incremental_since(dbt)
    if since is None:
        return None
    after = f"loaded_business_date > DATE '{since}'"
    return (
        dbt.ref("stg_platform__loans")
        .filter(after)
        .project("loan_id")
        .union(dbt.ref("stg_platform__schedules").filter(after).project("loan_id"))
        .distinct()
        .set_alias("changed")
    )


def _continues_from(
    settings: Settings, business_date: date, project_sha256: str, select: Sequence[str]
) -> tuple[date | None, str]:
    """The business date of the build this one may continue from incrementally, and why (not).

    The incremental models (staging merged by load, ...) hold the state of the last build.
    Merging in only the loads after its date gives what a build from scratch gives when
    that build completed, ``business_date`` is after its date (a rerun of an earlier or the
    same date rebuilds everything: a model as of an earlier date cannot be taken back out
    of a later state), the project and the pack's parameters are the same (their sha256),
    and the raw layer holds for the dates up to it exactly what it held then (no date
    restated since, no row added by hand). Anything else is a full refresh.
    """
    if select:
        return None, "full refresh: a selected build"
    state = warehouse.built_state(settings.warehouse_path)
    if state is None:
        return None, "full refresh: first build"
    built, built_project, built_raw = state
    if business_date <= built:
        return None, f"full refresh: {business_date} is not after the last build's date {built}"
    if built_project != project_sha256:
        return None, "full refresh: the project or the pack's parameters changed"
    if warehouse.read_raw_fingerprint(settings.warehouse_path, built) != built_raw:
        return None, f"full refresh: the raw layer up to {built} changed (a date restated)"
    return built, f"incremental since {built}"


#: The macros through which a model reads what changes between builds of the same project:
#: the dates regwatch passes in the environment (business_date(), built_through()).
_DATED_MACROS = frozenset({"macro.regwatch.date_from_env"})


def _unchanged_nodes(settings: Settings, target: Path) -> list[str]:
    """The models (and their data tests) a build continuing from the last one leaves as they are.

    A SQL view or table that reads only seeds, or such models, and no date (no macro
    reaching :data:`_DATED_MACROS`) comes out of a build of the same project, pack and
    seeds exactly as the last build made it: the reference staging views and the
    working-day calendar (8 models and 13 tests of a demo day's ~160 nodes, each costing dbt
    its per-node overhead). Read from the last build's manifest (same project: the caller
    continues from that build only when the project's fingerprint is unchanged); empty
    when there is none or when one of those relations is missing from the warehouse.
    """
    path = target / "manifest.json"
    if not path.is_file():
        return []
    manifest = json.loads(path.read_text(encoding="utf-8"))
    macros: dict[str, Any] = manifest.get("macros", {})
    nodes: dict[str, Any] = manifest.get("nodes", {})
    dated: dict[str, bool] = {}

    def is_dated(macro_id: str, within: frozenset[str] = frozenset()) -> bool:
        if macro_id not in dated:
            if macro_id in within:  # a recursive macro: its other calls decide
                return False
            calls = macros.get(macro_id, {}).get("depends_on", {}).get("macros", [])
            dated[macro_id] = macro_id in _DATED_MACROS or any(
                is_dated(m, within | {macro_id}) for m in calls
            )
        return dated[macro_id]

    def reads_no_date(node: Any) -> bool:
        return not any(is_dated(m) for m in node["depends_on"]["macros"])

    kept: set[str] = set()
    grown = True
    while grown:  # a model joins once all its parents are seeds or kept models
        grown = False
        for unique_id, node in nodes.items():
            if (
                unique_id not in kept
                and node["resource_type"] == "model"
                and node.get("language") == "sql"
                and node["config"].get("materialized") in {"view", "table"}
                and reads_no_date(node)
                and all(p.startswith("seed.") or p in kept for p in node["depends_on"]["nodes"])
            ):
                kept.add(unique_id)
                grown = True
    if not kept or not warehouse.relations_exist(
        settings.warehouse_path, [(nodes[u]["schema"], nodes[u]["alias"]) for u in kept]
    ):
        return []
    tests = {
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "test"
        and node["depends_on"]["nodes"]
        and all(p.startswith("seed.") or p in kept for p in node["depends_on"]["nodes"])
        and reads_no_date(node)
    }
    return sorted(nodes[u]["name"] for u in kept | tests)


def _project_fingerprint(project_dir: Path, dbt_vars: str, seed_hashes: Mapping[str, str]) -> str:
    """sha256 of everything that shapes a model's rows but the data: SQL, macros, YAML, vars, seeds, dbt."""
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"{dbt_version}\0{dbt_vars}\0{sorted(seed_hashes.items())}".encode())
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files += sorted(p for p in (project_dir / folder).rglob("*") if p.is_file())
    for path in files:
        if path.exists():
            digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _build_on_spark(
    settings: Settings, target: Path, invoke: Callable[[Sequence[str]], None], select: Sequence[str]
) -> int:
    """The dbt build on Spark, in three dbt invocations around the project's Python models.

    dbt-spark cannot run a Python model in a session (it needs a Databricks cluster), so
    regwatch runs each one itself (:func:`regwatch.spark.run_python_model`) once its
    parents are built, and dbt builds what reads it afterwards: (1) the parents of the
    installments rebuilt from terms and of the watch-list name scores, (2) what the APR
    reads, (3) everything else. A model's ``ref`` to a Python model names the table
    regwatch wrote. Returns the Python models run.
    """
    from regwatch import spark as engine

    if select:
        raise TransformError("a selected build (select=) is not supported on the Spark engine")
    session = engine.session(settings)
    engine.drop_built(settings, session)  # a full refresh, whatever an earlier (killed) build left
    engine.publish_raw(settings, session)
    derived, scored, aprs = engine.PYTHON_MODELS
    # Seeds and models in three builds; the data tests (one may read models of every
    # phase, e.g. assert_loan_apr_covers_every_loan) once everything is built, before any
    # rule reads a mart.
    nodes = ["--resource-type", "seed", "--resource-type", "model"]
    invoke([*nodes, "--select", f"+{derived}", f"+{scored}", "--exclude", derived, scored])
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    engine.run_python_model(settings, session, manifest, derived)
    engine.run_python_model(settings, session, manifest, scored)
    invoke([*nodes, "--select", f"+{aprs}", "--exclude", f"+{derived}", f"+{scored}", aprs])
    engine.run_python_model(settings, session, manifest, aprs)
    invoke([*nodes, "--exclude", f"+{aprs}", f"+{scored}"])
    invoke(["--resource-type", "test"])
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    engine.copy_back(settings, session, manifest)
    return len(engine.PYTHON_MODELS)


def _run_dbt(args: Sequence[str], on_event: Callable[[Any], None], manifest: Any = None) -> Any:
    """One dbt invocation (given ``manifest``, no parse of its own), dbt-duckdb's database closed around it.

    Closed before as well as after: every platform's profile names the same relative
    warehouse.duckdb (_warehouse_environment), so a database an earlier caller left open
    in this process would otherwise take this build's tables (test_dbt_connection).
    """
    from dbt.cli.main import dbtRunner

    _close_dbt_duckdb()
    try:
        return dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(list(args))
    finally:
        _close_dbt_duckdb()


def _parse(args: Sequence[str], on_event: Callable[[Any], None]) -> Any:
    """dbt's parse of the project (``dbt parse``, partial when its saved parse holds): the manifest.

    The build is then given this manifest (``dbtRunner(manifest=...)``) instead of parsing
    again; dbt writes no JSON artifacts in either call (:func:`_write_manifest` and the build's
    ``run_results.json`` are regwatch's).
    """
    result = _run_dbt(args, on_event)
    if result.exception is not None or result.result is None:
        raise TransformError(f"dbt could not parse the project: {_one_line(str(result.exception))}")
    return result.result


#: Beside ``manifest.json``: the sha256 of the saved parse (``partial_parse.msgpack``) it was written from.
_MANIFEST_SOURCE = "manifest.json.parse-sha256"


def _write_manifest(manifest: Any, target: Path) -> None:
    """``target/manifest.json`` from ``manifest``, unless it was already written from this very parse.

    dbt wrote the manifest twice per build (after parsing, and again after the build with
    every node's compiled SQL), ~10 % of a day's build, though a day's build almost never
    changes the project. What regwatch reads in it is the parsed project (nodes, their
    configuration, macros, lineage: :func:`regwatch.rules.read_dbt_manifest`,
    :func:`_unchanged_nodes`, the ledger's carried tables, ``audit diff``), so it is written
    once per parse that changed: when dbt's saved parse differs from the one ``manifest.json``
    was last written from (sha256 beside it), or either is missing.
    """
    saved = target / _PARSE_FILE
    source = hashlib.sha256(saved.read_bytes()).hexdigest() if saved.is_file() else None
    path, record = target / "manifest.json", target / _MANIFEST_SOURCE
    current = record.is_file() and record.read_text(encoding="utf-8").strip() == source
    if source is not None and path.is_file() and current:
        return
    record.unlink(missing_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    manifest.write(str(temporary))
    os.replace(temporary, path)
    if source is not None:
        record.write_text(source + "\n", encoding="utf-8")


class _DbtLog:
    """dbt's info, warning and error lines, appended to ``var/dbt/logs/dbt.log`` during a build.

    What dbt's own file log kept at ``--log-level-file info`` (dbt's line format, rotated at
    10 MB, five files kept), written from the events regwatch receives anyway
    (``dbtRunner``'s callbacks): dbt's file log formats every event, debug ones included, and
    scans the environment for secrets in each, before its level drops most of them.
    """

    LEVELS = frozenset({"info", "warn", "error"})

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handler: logging.Handler | None = None

    def __enter__(self) -> _DbtLog:
        from dbt_common.exceptions.base import env_secrets

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.handlers.RotatingFileHandler(
            self.path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        self.secrets = env_secrets()
        return self

    def write(self, event: Any) -> None:
        info = event.info
        if self.handler is None or info.level not in self.LEVELS:
            return
        message = str(info.msg)
        for secret in self.secrets:
            message = message.replace(secret, "*****")
        stamp = info.ts.ToDatetime().strftime("%H:%M:%S.%f")
        line = f"{stamp} [{info.level:<5}] [{str(info.thread)[:10]:<10}]: {message}"
        self.handler.handle(logging.LogRecord("dbt", logging.INFO, "", 0, line, None, None))

    def __exit__(self, *exc: object) -> None:
        if self.handler is not None:
            self.handler.close()
            self.handler = None


def _close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open (``keep_open: true``), once dbt has returned.

    With ``keep_open: false`` dbt-duckdb closes the database whenever no node holds a
    cursor and opens it again for the next node: the warehouse file was opened (its
    catalogue read) and checkpointed on close about once per node, a third of a demo day's
    transform. Kept open, it must still be let go of when the build ends: DuckDB refuses a
    second open of a file in the same process with other settings (regwatch's read-only
    connections), and dbt-duckdb closes it only at interpreter exit. dbt-duckdb has no
    public call for this; tests/integration/test_transform_cost.py fails if this stops
    closing it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


#: The saved parse (``partial_parse.msgpack``) of the last DuckDB build of each project folder
#: in this process (:func:`_reuse_parse`).
_LAST_PARSE: dict[Path, Path] = {}
_PARSE_FILE = "partial_parse.msgpack"


def _reuse_parse(project_dir: Path, target: Path) -> None:
    """A ``var/`` with no saved parse yet starts from this process's last parse of the same project.

    dbt decides whether a saved parse still holds: its state check (dbt's version, the vars,
    the profile's connection values, which no longer name the warehouse's folder) and each
    file's checksum (a changed model, macro or seed is parsed again). What it does not check
    is the project's folder, which the parse records in every node (a seed's CSV is read
    from it), so a parse is only ever reused for the same folder. The test suite builds many
    fresh ``var/`` folders of one project in a process, each of which parsed the whole project
    (issue 16); a business date's run has its parse in its ``var/`` already.
    """
    saved = target / _PARSE_FILE
    last = _LAST_PARSE.get(project_dir.absolute())
    if saved.exists() or last is None or not last.is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    temporary = saved.with_suffix(".tmp")
    shutil.copyfile(last, temporary)
    os.replace(temporary, saved)


def _remember_parse(project_dir: Path, target: Path) -> None:
    saved = target / _PARSE_FILE
    if saved.is_file():
        _LAST_PARSE[project_dir.absolute()] = saved.absolute()


def _warehouse_environment(settings: Settings) -> dict[str, str]:
    """The warehouse and DuckDB's settings as ``profiles.yml`` reads them, relative to the warehouse's folder.

    dbt keeps its parse of the project (``target/partial_parse.msgpack``) only while the
    profile's connection values are the ones it was saved with (their hash is part of the
    saved parse's state check), and those include the warehouse path and the spill folder.
    Absolute, they change whenever a platform's ``var/`` is copied or moved (a test's
    private copy of a built platform, a restored backup), and dbt parsed the whole project
    again ("profile has changed"). Relative to the warehouse's folder, in which dbt runs
    (:func:`_working_directory`), they stay the same and a copied ``var/`` keeps its parse.
    """
    path = settings.warehouse_path.absolute()
    config = warehouse.duckdb_config(path, settings.duckdb_memory_limit)
    config["temp_directory"] = os.path.relpath(Path(config["temp_directory"]).absolute(), path.parent)
    return {
        "REGWATCH_WAREHOUSE": path.name,
        **{f"REGWATCH_DUCKDB_{name.upper()}": value for name, value in config.items()},
    }


@contextmanager
def _working_directory(folder: Path) -> Iterator[None]:
    """The process's working directory set to ``folder`` for the block, then restored."""
    try:
        previous: Path | None = Path.cwd()
    except FileNotFoundError:  # the working directory was removed: nothing to go back to
        previous = None
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        yield
    finally:
        if previous is not None:
            os.chdir(previous)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block (dbt reads them there), then restored."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _seed_hashes(project_dir: Path) -> dict[str, str]:
    """sha256 of each seed: its CSV, plus every seed property file and ``dbt_project.yml``.

    The shared part covers what else shapes a seed's table (its ``column_types``, schema,
    quoting): a change there rebuilds every seed, which is rare and cheap.
    """
    seeds = project_dir / "seeds"
    shared = hashlib.sha256((project_dir / "dbt_project.yml").read_bytes())
    for path in sorted(seeds.rglob("*.yml")):
        shared.update(path.relative_to(seeds).as_posix().encode() + b"\0" + path.read_bytes())
    common = shared.hexdigest()
    return {
        path.stem: hashlib.sha256(common.encode() + b"\0" + path.read_bytes()).hexdigest()
        for path in sorted(seeds.rglob("*.csv"))
    }


def _seeds_current(settings: Settings, hashes: Mapping[str, str]) -> bool:
    """Whether every seed table exists and was built from the seeds as they are now."""
    if not settings.warehouse_path.exists():
        return False
    return warehouse.built_seed_hashes(settings.warehouse_path, hashes.keys()) == dict(hashes)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:400] if lines else "no message"
