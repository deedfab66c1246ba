"""The steps of one business date, each ``step(business_date, settings) -> StepResult``.

The CLI calls them in order (:func:`run_day`); each Airflow task calls one. Steps
talk to each other only through the warehouse (the run of a date is recorded in
``results.run_log`` by :func:`ingest`), so any step can run in its own process.
Every step replaces what an earlier run of the same date wrote: a rerun never
doubles a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.ledger.runs import (
    PipelineError,
    code_version,
    loads_seen,
    loads_seen_digest,
    make_run_id,
    run_info,
    tool_versions,
)


@dataclass(frozen=True)
class StepResult:
    """What one step did: a JSON-friendly summary and the files it wrote."""

    step: str
    business_date: date
    summary: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[Path, ...] = ()
    seconds: float = 0.0


def _timed(step: Callable[[date, Settings], StepResult]) -> Callable[[date, Settings], StepResult]:
    def wrapper(business_date: date, settings: Settings) -> StepResult:
        started = time.perf_counter()
        result = step(business_date, settings)
        return StepResult(
            result.step,
            result.business_date,
            result.summary,
            result.outputs,
            round(time.perf_counter() - started, 3),
        )

    wrapper.__name__ = step.__name__
    wrapper.__doc__ = step.__doc__
    return wrapper


@_timed
def ingest(business_date: date, settings: Settings) -> StepResult:
    """Load the landing files of the date into raw.* (quarantining bad rows), judge the
    delivery and record the run; a rejected delivery stops the run here, before transform.

    The analysts' decisions file is read here too (it is an input of the run: its rows
    in scope for the date are part of the run id), checked row by row, and archived.
    The delivery verdict (:mod:`regwatch.ingest.delivery`) is stored with the run; when it
    rejects the delivery and ``settings.accept_degraded`` gives no reason, this raises
    :class:`regwatch.ingest.delivery.DeliveryRejectedError`. A required file that is missing
    stops the run before anything is loaded (:class:`regwatch.ingest.load.MissingInputError`)
    unless the degraded delivery is accepted.
    """
    from regwatch.alerts import read_decisions, store_decisions
    from regwatch.contract import REQUIRED_FILES
    from regwatch.ingest import delivery
    from regwatch.ingest.load import find_inputs, ingest_day
    from regwatch.ledger.archive import Archive
    from regwatch.rules import load_pack

    pack = load_pack(settings.pack_dir)
    policy = delivery.DeliveryPolicy.from_parameters({n: p.value for n, p in pack.parameters.items()})
    version = settings.pinned_code_version or code_version(settings.project_root)
    present = find_inputs(settings.landing_dir, business_date, required=())
    if not present or not settings.accept_degraded:
        find_inputs(settings.landing_dir, business_date, REQUIRED_FILES)  # a missing file: exit 2 here
    with warehouse.connect(settings.warehouse_path, memory_limit=settings.duckdb_memory_limit) as con:
        archive = Archive.of(settings)
        result = ingest_day(con, settings.landing_dir, business_date, archive, required=())
        verdict = delivery.assess(result, policy, settings.accept_degraded)
        decisions = read_decisions(settings.dispositions_path, business_date)
        if settings.dispositions_path.is_file():
            archive.put(settings.dispositions_path.read_bytes())
        run_id = make_run_id(
            business_date,
            loads_seen_digest(con, business_date),
            pack.sha256,
            version,
            decisions.sha256,
            verdict.accepted_reason or "",
        )
        with warehouse.transaction(con):
            store_decisions(con, decisions, business_date)
            warehouse.delete_partition(con, "results.run_log", business_date)
            con.execute(
                "INSERT INTO results.run_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, business_date, pack.name, pack.version, pack.sha256, version, result.inputs_sha256],
            )
            delivery.store(con, verdict, run_id)
        delivery.check(con, business_date)  # this date's or an earlier date's rejected delivery
    return StepResult(
        "ingest",
        business_date,
        {
            "run_id": run_id,
            "rows_read": result.rows_read,
            "rows_quarantined": result.rows_quarantined,
            "decisions": {"read": decisions.rows_read, "invalid": decisions.rows_invalid},
            "delivery": verdict.status,
            "delivery_line": verdict.line,
            "delivery_notes": list(verdict.notes),
            "accepted_reason": verdict.accepted_reason,
            "files": {
                f.file_name: {"read": f.rows_read, "loaded": f.rows_loaded, "quarantined": f.rows_quarantined}
                for f in result.files
            },
        },
    )


@_timed
def transform(business_date: date, settings: Settings) -> StepResult:
    """Build the dbt project (staging -> intermediate -> marts) as of the date.

    Refuses while the date's delivery (or an earlier date's) stands rejected, and fails
    (RulePackError, exit 2) when a rule's ``model_parameters`` disagree with what its mart's
    lineage reads in the manifest dbt just wrote.
    """
    from regwatch import transform as dbt_transform
    from regwatch.ingest import delivery
    from regwatch.rules import check_model_parameters, load_pack, read_dbt_manifest

    with warehouse.connect(settings.warehouse_path, memory_limit=settings.duckdb_memory_limit) as con:
        delivery.check(con, business_date)
    pack = load_pack(settings.pack_dir)
    result = dbt_transform.build(
        business_date,
        settings,
        apr_convention=pack.apr_convention,
        pack_parameters={name: p.value for name, p in pack.parameters.items()},
        reporting_currency=pack.currency,
    )
    # Every rule names the parameters that shape its mart; dbt's manifest of this very build
    # says which ones its lineage reads: a pack that disagrees stops before any rule runs.
    check_model_parameters(pack, read_dbt_manifest(settings.dbt_target_dir / "manifest.json"))
    return StepResult("transform", business_date, _as_summary(result))


@_timed
def validate(business_date: date, settings: Settings) -> StepResult:
    """Run the rule pack through GX on the marts; replace the date's exceptions."""
    from regwatch.rules import load_pack, read_dbt_manifest
    from regwatch.validate import run_rules

    info = run_info(business_date, settings)
    pack = load_pack(settings.pack_dir)
    if settings.engine == "spark":  # GX's Spark data source over the marts Spark built
        from regwatch import spark
        from regwatch.validate import run_rules_on_spark

        manifest = read_dbt_manifest(settings.dbt_target_dir / "manifest.json")
        exceptions = run_rules_on_spark(
            spark.session(settings), pack, business_date, info.run_id, spark.contract_types(manifest)
        )
    else:
        exceptions = run_rules(
            settings.warehouse_path, pack, business_date, info.run_id, settings.duckdb_memory_limit
        )
    with (
        warehouse.connect(settings.warehouse_path, memory_limit=settings.duckdb_memory_limit) as con,
        warehouse.transaction(con),
    ):
        warehouse.delete_partition(con, "results.exceptions", business_date)
        if len(exceptions):
            con.register("_exceptions", exceptions)
            con.execute("INSERT INTO results.exceptions BY NAME SELECT * FROM _exceptions")
            con.unregister("_exceptions")
    by_rule = exceptions.groupby("rule_id").size().to_dict() if len(exceptions) else {}
    rules_run = [r.id for r in pack.rules if r.applies_on(business_date)]
    return StepResult(
        "validate",
        business_date,
        {
            "run_id": info.run_id,
            "rules_run": rules_run,
            "exceptions": len(exceptions),
            "by_rule": {str(k): int(v) for k, v in sorted(by_rule.items())},
        },
    )


@_timed
def update_alerts(business_date: date, settings: Settings) -> StepResult:
    """Follow the date's exceptions across days (new / open / resolved / suppressed) and
    gather the AML ones per customer; replace the date's alert snapshot."""
    from regwatch import alerts
    from regwatch.rules import load_pack

    info = run_info(business_date, settings)
    kinds = alerts.rule_kinds(load_pack(settings.pack_dir))  # condition or event, per rule
    with (
        warehouse.connect(settings.warehouse_path, memory_limit=settings.duckdb_memory_limit) as con,
        warehouse.transaction(con),
    ):
        summary = alerts.update(con, business_date, info.run_id, kinds)
    return StepResult("update_alerts", business_date, {"run_id": info.run_id, **summary.as_dict()})


@_timed
def render_reports(business_date: date, settings: Settings) -> StepResult:
    """Render the date's reports into the run's staging folder: the daily exception report
    (HTML + PDF + CSV), the large-value report, and the disclosure filing of every period
    (month, quarter) the date closes.

    Every file a run publishes is written here, under ``settings.reports_dir`` (which
    points at ``var/staging/<run id>/reports`` during this step): seal_ledger archives
    and records whatever this step left there, so adding a report needs no ledger
    change. The staging folder starts empty, so a killed earlier attempt leaves nothing.

    A filing that cannot be made never stops the date's AML monitoring (issue 14): its
    half-made files are removed, the failure is listed in the summary
    (``filing_failures``) and in red at the top of the daily report, the date's other
    reports are sealed and published as usual, and the callers fail loudly at the end
    (the CLI exits 1 after running every date; the Airflow DAG fails after sealing).
    """
    import shutil
    from dataclasses import replace

    from regwatch.reporting.daily import render_daily
    from regwatch.reporting.filing import folder_for, periods_closed_by, render_filing
    from regwatch.reporting.large_value import render_large_value

    info = run_info(business_date, settings)
    staging = settings.staging_reports_dir(info.run_id)
    shutil.rmtree(staging.parent, ignore_errors=True)
    staged = replace(settings, reports_root=staging)
    closed = periods_closed_by(settings, business_date)
    filed: tuple[Path, ...] = ()
    failures: list[dict[str, str]] = []
    for period_id in closed:
        try:
            filed += tuple(render_filing(staged, period_id))
        except Exception as error:  # any filing problem, reported below: never the AML results
            shutil.rmtree(folder_for(staged, period_id), ignore_errors=True)
            failures.append({"period": period_id, "error": _one_line(error)})
    paths = tuple(render_daily(staged, business_date, info.run_id, filing_failures=failures))
    paths += tuple(render_large_value(staged, business_date, info.run_id))  # PBOC large-value report
    paths += filed
    published = [settings.published_reports_dir / p.relative_to(staging) for p in paths]
    return StepResult(
        "render_reports",
        business_date,
        {
            "run_id": info.run_id,
            "reports": [str(p) for p in published],
            "filings": [p for p in closed if p not in {f["period"] for f in failures}],
            "filing_failures": failures,
            "pdf": settings.render_pdf,
            "staged": str(staging),
        },
        paths,
    )


def _one_line(error: Exception) -> str:
    """An error as one line: regwatch's own by their message, others with their type."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if type(error).__module__.startswith("regwatch."):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@_timed
def seal_ledger(business_date: date, settings: Settings) -> StepResult:
    """Archive the run's inputs, pack and outputs, write its manifest, publish; always the last step.

    The manifest is written only once every output is complete and archived; the
    published files under ``var/reports/`` are then replaced atomically from the
    archive. A run killed before this step leaves no manifest and no new published file.
    """
    import shutil

    from regwatch.extract import state as extract_state
    from regwatch.ingest import delivery
    from regwatch.ledger import carry, lineage, manifests, snapshot
    from regwatch.ledger.archive import Archive
    from regwatch.rules import pack_digest

    info = run_info(business_date, settings)
    archive = Archive.of(settings)
    staging = settings.staging_reports_dir(info.run_id)
    if not staging.is_dir():
        raise PipelineError(
            f"nothing rendered for run {info.run_id} of {business_date}: run render_reports first"
        )
    pack_files = manifests.archive_tree(archive, settings.pack_dir)
    if pack_digest(settings.pack_dir) != info.pack_sha256:
        raise PipelineError(
            f"rule pack {settings.pack_dir} changed during the run of {business_date}: run the date again"
        )
    reference = manifests.archive_tree(archive, settings.dbt_project_dir / "seeds")
    with warehouse.connect(
        settings.warehouse_path, read_only=True, memory_limit=settings.duckdb_memory_limit
    ) as con:
        rows = con.execute(
            "SELECT file_name, source_file, sha256, rows_read, rows_loaded, rows_quarantined "
            "FROM results.load_log WHERE business_date = ? ORDER BY file_name",
            [business_date],
        ).fetchall()
        decisions = con.execute(
            "SELECT source_file, file_exists, sha256, rows_read, rows_invalid, file_sha256 "
            "FROM results.disposition_log WHERE business_date = ?",
            [business_date],
        ).fetchone()
        loads = loads_seen(con, business_date)
        state = carry.snapshot(con, settings, business_date, archive)
        verdict = delivery.read(con, business_date)
        extracted = extract_state.extract_block(settings, con, archive, business_date)
    inputs = [
        {
            "file_name": name,
            "path": source,
            "sha256": digest,
            "rows_read": read,
            "rows_loaded": loaded,
            "rows_quarantined": quarantined,
        }
        for name, source, digest, read, loaded, quarantined in rows
    ]
    outputs = sorted(p for p in staging.rglob("*") if p.is_file())
    run_events: list[Any] = []

    def lineage_events(sealed_at: str) -> bytes:
        # OpenLineage: the extract (when D's delivery was extracted) and the load, beside the manifest.
        run_events[:] = lineage.events(
            run_id=info.run_id,
            business_date=business_date.isoformat(),
            sealed_at=sealed_at,
            warehouse=settings.warehouse_path,
            inputs=inputs,
            extract=extracted,
        )
        return lineage.serialize(run_events)

    chain = manifests.manifests(settings)
    previous_head = chain[-1].name if chain else None  # the head the snapshot was written at, if current
    manifest = manifests.seal(
        settings,
        business_date=business_date,
        run_id=info.run_id,
        pack_name=info.pack,
        pack_version=info.pack_version,
        pack_sha256=info.pack_sha256,
        code_version=info.code_version,
        inputs=inputs,
        outputs=outputs,
        outputs_root=staging,
        tool_versions=tool_versions(),
        decisions=None
        if decisions is None
        else {
            "path": decisions[0],
            "exists": decisions[1],
            "sha256_in_scope": decisions[2] or None,
            "rows_in_scope": decisions[3],
            "rows_invalid": decisions[4],
            "file_sha256": decisions[5],
        },
        pack_files=pack_files,
        reference_data=reference,
        loads=[
            {"business_date": day.isoformat(), "load_id": load_id, "record_sha256": record}
            for day, load_id, record in loads
        ],
        state=state,
        delivery=delivery.manifest_entry(verdict),
        pdf_rendered=settings.render_pdf,
        engine=settings.engine,
        lineage=lineage_events,
    )
    lineage.emit(run_events)  # to a configured OpenLineage backend too (none by default)
    if extracted is not None:  # the source's watermark advances only now (regwatch.extract.state)
        extract_state.seal(settings, extracted, business_date, info.run_id)
    shutil.rmtree(staging.parent, ignore_errors=True)
    published = tuple(settings.published_reports_dir / p.relative_to(staging) for p in outputs)
    # What read-only commands show while a later run holds the warehouse (regwatch.ledger.snapshot).
    snapshot.write(settings, manifest.name, business_date, previous_head)
    return StepResult(
        "seal_ledger",
        business_date,
        {"run_id": info.run_id, "manifest": str(manifest), "published": [str(p) for p in published]},
        (*published, manifest),
    )


def _as_summary(result: object) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(result) and not isinstance(result, type):
        return {
            k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in asdict(result).items()
        }
    return {"result": str(result)}


STEPS: tuple[Callable[[date, Settings], StepResult], ...] = (
    ingest,
    transform,
    validate,
    update_alerts,
    render_reports,
    seal_ledger,
)


def run_day(
    business_date: date,
    settings: Settings,
    on_step: Callable[[StepResult], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[StepResult]:
    """Every step for one date, in order; the first failing step stops the run.

    ``on_start`` is told each step's name before it runs, ``on_step`` its result after.
    """
    results = []
    for step in STEPS:
        if on_start is not None:
            on_start(step.__name__)
        result = step(business_date, settings)
        results.append(result)
        if on_step is not None:
            on_step(result)
    return results


def extract(
    business_date: date, settings: Settings, source_name: str, sources_file: Path | None = None
) -> StepResult:
    """Extract the date from a database source of ``sources.yml`` into ``landing/D/``.

    Not one of :data:`STEPS`: a platform that delivers files has nothing to extract. The
    ingest that follows loads the extract like any delivery; the source's watermark
    advances when :func:`seal_ledger` seals the date (:mod:`regwatch.extract.state`).
    """
    from regwatch.extract.run import extract_day
    from regwatch.extract.sources import source_named

    source = source_named(sources_file or settings.project_root / "sources.yml", source_name)
    result = extract_day(settings, source, business_date)
    return StepResult(
        "extract",
        business_date,
        {
            "source": source_name,
            "since_sealed_date": result.base_date.isoformat() if result.base_date else None,
            "rows": result.rows,
            "tables": {
                t.file_name: {"rows": t.rows, "delivered": t.delivered, "watermark": t.watermark}
                for t in result.tables
            },
        },
        tuple(sorted(p for p in result.folder.iterdir() if p.is_file())),
    )


def locked_extract(business_date: date, settings: Settings, source_name: str, command: str) -> StepResult:
    """:func:`extract` under the run lock, after the consistency check (what the Airflow task calls)."""
    from regwatch.ledger.consistency import require_consistent
    from regwatch.ledger.runlock import hold

    with hold(settings.var_dir, command, [business_date]):
        require_consistent(settings)
        return extract(business_date, settings, source_name)


def locked_step(name: str, business_date: date, settings: Settings, command: str) -> StepResult:
    """One step under ``var/``'s run lock (:mod:`regwatch.ledger.runlock`), after checking the warehouse
    against the ledger head (:mod:`regwatch.ledger.consistency`): what each Airflow task calls.

    The CLI holds the lock for a whole run; an Airflow task holds it for its own step
    (a task is a process of its own), so another writer fails at once instead of
    meeting the run in the middle of a step.
    """
    from regwatch.ledger.runlock import hold

    step = next((s for s in STEPS if s.__name__ == name), None)
    if step is None:
        raise PipelineError(f"no step {name!r}: the steps are {', '.join(s.__name__ for s in STEPS)}")
    from regwatch.ledger.consistency import require_consistent

    with hold(settings.var_dir, command, [business_date]):
        require_consistent(settings)
        return step(business_date, settings)
