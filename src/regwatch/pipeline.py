"""The steps of one business date, each ``step(business_date, settings) -> StepResult``.

The CLI calls them in order (:func:`run_day`); each Airflow task calls one. Steps
talk to each other only through the warehouse (the run of a date is recorded in
``results.run_log`` by :func:`ingest`), so any step can run in its own process.
Every step replaces what an earlier run of the same date wrote: a rerun never
doubles a row.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from regwatch import warehouse
from regwatch.config import Settings


class PipelineError(RuntimeError):
    """A step cannot proceed (e.g. a later step runs before ingest recorded the date)."""


@dataclass(frozen=True)
class StepResult:
    """What one step did: a JSON-friendly summary and the files it wrote."""

    step: str
    business_date: date
    summary: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[Path, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class RunInfo:
    """The identity of a date's run, as ingest recorded it."""

    run_id: str
    business_date: date
    pack: str
    pack_version: str
    pack_sha256: str
    code_version: str
    inputs_sha256: str


def make_run_id(business_date: date, inputs_sha256: str, pack_sha256: str, code_version: str) -> str:
    """Same inputs + same rule pack + same code = same run id (and so identical reports)."""
    digest = hashlib.sha256(f"{inputs_sha256}\n{pack_sha256}\n{code_version}".encode()).hexdigest()
    return f"{business_date:%Y%m%d}-{digest[:12]}"


def run_info(business_date: date, settings: Settings) -> RunInfo:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        row = con.execute(
            "SELECT run_id, business_date, pack, pack_version, pack_sha256, code_version, inputs_sha256 "
            "FROM results.run_log WHERE business_date = ?",
            [business_date],
        ).fetchone()
    if row is None:
        raise PipelineError(f"no run recorded for {business_date}: run the ingest step first")
    return RunInfo(*row)


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
    """Load the landing files of the date into raw.* (quarantining bad rows) and record the run."""
    from regwatch.ingest import ingest_day
    from regwatch.ledger import code_version
    from regwatch.rules import load_pack

    pack = load_pack(settings.pack_dir)
    version = code_version(settings.project_root)
    with warehouse.connect(settings.warehouse_path) as con:
        result = ingest_day(con, settings.landing_dir, business_date)
        run_id = make_run_id(business_date, result.inputs_sha256, pack.sha256, version)
        with warehouse.transaction(con):
            warehouse.delete_partition(con, "results.run_log", business_date)
            con.execute(
                "INSERT INTO results.run_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, business_date, pack.name, pack.version, pack.sha256, version, result.inputs_sha256],
            )
    return StepResult(
        "ingest",
        business_date,
        {
            "run_id": run_id,
            "rows_read": result.rows_read,
            "rows_quarantined": result.rows_quarantined,
            "files": {
                f.file_name: {"read": f.rows_read, "loaded": f.rows_loaded, "quarantined": f.rows_quarantined}
                for f in result.files
            },
        },
    )


@_timed
def transform(business_date: date, settings: Settings) -> StepResult:
    """Build the dbt project (staging -> intermediate -> marts) as of the date."""
    from regwatch import transform as dbt_transform
    from regwatch.rules import load_pack

    pack = load_pack(settings.pack_dir)
    result = dbt_transform.build(
        business_date,
        settings,
        apr_convention=pack.apr_convention,
        pack_parameters={name: p.value for name, p in pack.parameters.items()},
    )
    return StepResult("transform", business_date, _as_summary(result))


@_timed
def validate(business_date: date, settings: Settings) -> StepResult:
    """Run the rule pack through GX on the marts; replace the date's exceptions."""
    from regwatch.rules import load_pack
    from regwatch.validate import run_rules

    info = run_info(business_date, settings)
    pack = load_pack(settings.pack_dir)
    exceptions = run_rules(settings.warehouse_path, pack, business_date, info.run_id)
    with warehouse.connect(settings.warehouse_path) as con, warehouse.transaction(con):
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
def render_reports(business_date: date, settings: Settings) -> StepResult:
    """Render the date's daily exception report (HTML + CSV) and the filings due that day."""
    from regwatch.large_value import render_large_value
    from regwatch.report import render_daily

    info = run_info(business_date, settings)
    paths = tuple(render_daily(settings, business_date, info.run_id))
    paths += tuple(render_large_value(settings, business_date, info.run_id))  # PBOC large-value report
    return StepResult(
        "render_reports", business_date, {"run_id": info.run_id, "reports": [str(p) for p in paths]}, paths
    )


@_timed
def seal_ledger(business_date: date, settings: Settings) -> StepResult:
    """Write the run's manifest, chained to the previous one; always the last step."""
    from regwatch import ledger

    info = run_info(business_date, settings)
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT file_name, source_file, sha256, rows_read, rows_loaded, rows_quarantined "
            "FROM results.load_log WHERE business_date = ? ORDER BY file_name",
            [business_date],
        ).fetchall()
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
    report_dir = settings.reports_dir / business_date.isoformat()
    outputs = sorted(p for p in report_dir.iterdir() if p.is_file()) if report_dir.is_dir() else []
    manifest = ledger.seal(
        settings,
        business_date=business_date,
        run_id=info.run_id,
        pack_name=info.pack,
        pack_version=info.pack_version,
        pack_sha256=info.pack_sha256,
        code_version=info.code_version,
        inputs=inputs,
        outputs=outputs,
        tool_versions=_tool_versions(),
    )
    return StepResult(
        "seal_ledger", business_date, {"run_id": info.run_id, "manifest": str(manifest)}, (manifest,)
    )


def _tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "great-expectations", "pandas", "jinja2"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "absent"
    return versions


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
    render_reports,
    seal_ledger,
)


def run_day(
    business_date: date,
    settings: Settings,
    on_step: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Every step for one date, in order; the first failing step stops the run."""
    results = []
    for step in STEPS:
        result = step(business_date, settings)
        results.append(result)
        if on_step is not None:
            on_step(result)
    return results
