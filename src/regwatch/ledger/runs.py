"""The identity of a run: its id, what it ran with, and the record ingest leaves of it.

A run of business date D is identified by what it reads (the loads seen up to D, the
analysts' decisions in scope), the rule pack and the code: same identity, same run id,
byte-identical outputs. :func:`run_info` reads what ingest recorded in
``results.run_log``, so every later step (and a filing) can find the run of a date
without importing the pipeline.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from regwatch import warehouse
from regwatch.config import Settings


class PipelineError(RuntimeError):
    """A step cannot proceed (e.g. a later step runs before ingest recorded the date)."""


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


def make_run_id(
    business_date: date,
    inputs_sha256: str,
    pack_sha256: str,
    code_version: str,
    decisions_sha256: str = "",
    accepted_degraded: str = "",
) -> str:
    """Same inputs + same rule pack + same code = same run id (and so identical reports).

    ``inputs_sha256`` must cover every input the run reads: :func:`ingest` passes the
    digest of the loads seen (the current load of every date up to D), so a date
    restated earlier gives a later date's rerun a new run id. ``decisions_sha256`` is
    the hash of the analysts' decisions in scope for the date (empty when there are
    none, which keeps the id of a run without decisions as it was). ``accepted_degraded``
    is the operator's reason for running on a rejected delivery (it is printed in the
    report, so it is an input too; empty for a complete delivery).
    """
    identity = f"{inputs_sha256}\n{pack_sha256}\n{code_version}"
    if decisions_sha256:
        identity += f"\ndecisions {decisions_sha256}"
    if accepted_degraded:
        identity += f"\naccepted degraded {accepted_degraded}"
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"{business_date:%Y%m%d}-{digest[:12]}"


def loads_seen(con: Any, business_date: date) -> list[tuple[date, str, str]]:
    """(business date, load id, load record sha256) of the current load of every date up to D."""
    rows = con.execute(
        "SELECT business_date, load_id, record_sha256 FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY business_date ORDER BY arrival_seq DESC) AS rank"
        "  FROM raw.load_arrivals WHERE business_date <= ?) WHERE rank = 1 ORDER BY business_date",
        [business_date],
    ).fetchall()
    return [(day, str(load_id), str(record)) for day, load_id, record in rows]


def loads_seen_digest(con: Any, business_date: date) -> str:
    """One hash over the loads a run of D reads: its input identity."""
    lines = "".join(f"{day.isoformat()}\t{load_id}\n" for day, load_id, _ in loads_seen(con, business_date))
    return hashlib.sha256(lines.encode()).hexdigest()


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


def _git(project_root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(project_root), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def code_version(project_root: Path) -> str:
    """The package version plus the git commit of the project, ``.dirty`` if tracked files changed."""
    try:
        base = version("regwatch")
    except PackageNotFoundError:
        base = "unknown"
    try:
        commit = _git(project_root, "rev-parse", "--short=12", "HEAD")
        dirty = _git(project_root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+g{commit}{'.dirty' if dirty else ''}"


def tool_versions() -> dict[str, str]:
    """The versions of the tools whose behaviour shapes a run's outputs (recorded in its manifest)."""
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "great-expectations", "pandas", "jinja2"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "absent"
    return versions
