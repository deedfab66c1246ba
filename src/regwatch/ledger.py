"""The run ledger: one manifest per run, each holding the sha256 of the one before.

A manifest records what went in (every input's sha256 and row counts), under which
rules and code (rule-pack hash and version, code and tool versions) and what came
out (each output's sha256). It is written last, atomically, and never rewritten:
editing any manifest or any output it names breaks the chain, which ``verify``
reports. Timestamps live here only, never inside the reports.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from regwatch.config import Settings
from regwatch.report import write_atomic

MANIFEST_VERSION = 1


class LedgerError(RuntimeError):
    """A manifest cannot be written (it exists already, an output is missing)."""


@dataclass(frozen=True)
class VerifyResult:
    manifests: int
    outputs: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.ok:
            return f"ledger ok: {self.manifests} manifests chained, {self.outputs} outputs match their sha256"
        return f"ledger broken: {self.problems[0]}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def manifests(settings: Settings) -> list[Path]:
    return sorted(settings.ledger_dir.glob("[0-9]*_*.json")) if settings.ledger_dir.is_dir() else []


def seal(
    settings: Settings,
    *,
    business_date: date,
    run_id: str,
    pack_name: str,
    pack_version: str,
    pack_sha256: str,
    code_version: str,
    inputs: list[dict[str, Any]],
    outputs: list[Path],
    tool_versions: dict[str, str],
    decisions: dict[str, Any] | None = None,
) -> Path:
    """Write the run's manifest after every output is complete; returns its path."""
    existing = manifests(settings)
    previous = existing[-1] if existing else None
    sequence = int(previous.name.split("_", 1)[0]) + 1 if previous else 1
    recorded_outputs = []
    for path in outputs:
        if not path.is_file():
            raise LedgerError(f"output {path} is missing: nothing sealed")
        recorded_outputs.append(
            {
                "path": path.resolve().relative_to(settings.var_dir.resolve()).as_posix(),
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
            }
        )
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "sequence": sequence,
        "run_id": run_id,
        "business_date": business_date.isoformat(),
        "sealed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rule_pack": {"name": pack_name, "version": pack_version, "sha256": pack_sha256},
        "code_version": code_version,
        "tool_versions": dict(sorted(tool_versions.items())),
        "inputs": inputs,
        "outputs": recorded_outputs,
        "previous_manifest": previous.name if previous else None,
        "previous_manifest_sha256": sha256_file(previous) if previous else None,
    }
    if decisions is not None:
        # The analysts' decisions file, an input outside the landing folder (regwatch.alerts).
        manifest["decisions"] = decisions
    target = settings.ledger_dir / f"{sequence:06d}_{business_date.isoformat()}_{run_id}.json"
    if target.exists():
        raise LedgerError(f"manifest {target.name} exists already: the ledger is append-only")
    write_atomic(target, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return target


def verify(settings: Settings) -> VerifyResult:
    """Walk the chain from the first manifest; report every broken link or altered output."""
    problems: list[str] = []
    checked_outputs = 0
    chain = manifests(settings)
    previous: Path | None = None
    for number, path in enumerate(chain, start=1):
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            problems.append(f"{path.name}: unreadable manifest ({error})")
            previous = path
            continue
        if manifest.get("sequence") != number:
            problems.append(f"{path.name}: sequence {manifest.get('sequence')} where {number} was expected")
        expected_name = previous.name if previous else None
        expected_hash = sha256_file(previous) if previous else None
        if manifest.get("previous_manifest") != expected_name:
            problems.append(
                f"{path.name}: names {manifest.get('previous_manifest')} as previous, not {expected_name}"
            )
        elif manifest.get("previous_manifest_sha256") != expected_hash:
            problems.append(f"{path.name}: previous manifest {expected_name} was altered (sha256 differs)")
        for output in manifest.get("outputs", []):
            target = settings.var_dir / output["path"]
            checked_outputs += 1
            if not target.is_file():
                problems.append(f"{path.name}: output {output['path']} is missing")
            elif sha256_file(target) != output["sha256"]:
                # A later run of the same date legitimately replaces the date's reports;
                # only the latest manifest of a date vouches for the files now on disk.
                later = [p for p in chain[number:] if f"_{manifest['business_date']}_" in p.name]
                if not later:
                    problems.append(f"{path.name}: output {output['path']} was altered (sha256 differs)")
        previous = path
    return VerifyResult(len(chain), checked_outputs, tuple(problems))
