"""The run ledger: one manifest per run, each holding the sha256 of the one before.

A manifest records what went in (every input's sha256 and row counts, and every load
of earlier dates the run saw), under which rules and code (the rule pack's files,
content hash and version, the reference seeds, code and tool versions) and what came
out (each output's sha256). Every one of those artefacts is kept in the
content-addressed archive (:mod:`regwatch.ledger.archive`), so a manifest vouches for its
outputs for ever, not only until the date is run again, and a rerun can rebuild the
date from the archive alone.

A manifest is written last, after every output is complete and archived, atomically,
and never rewritten. It is the run's commit point: the published files under
``var/reports/`` are copied from the archive after it. Each manifest carries the
sha256 of its own canonical body (``manifest_sha256``): editing any byte of any
manifest, archived object or published file is found by :func:`verify`. Timestamps
live here only, never inside the reports.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from regwatch.config import Settings
from regwatch.files import sha256_bytes, sha256_file, write_atomic
from regwatch.ledger.archive import Archive
from regwatch.ledger.runlock import publishing

MANIFEST_VERSION = 2
#: The run's OpenLineage events beside its manifest (regwatch.ledger.lineage).
LINEAGE_SUFFIX = ".lineage.jsonl"


class LedgerError(RuntimeError):
    """A manifest cannot be written (an output is missing) or read."""


class RunNotFoundError(LedgerError):
    """No manifest of the named run or business date is in the ledger."""


@dataclass(frozen=True)
class VerifyResult:
    manifests: int
    outputs: int
    objects: int = 0
    head: str | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.ok:
            head = f", head sha256 {self.head}" if self.head else ""
            return (
                f"ledger ok: {self.manifests} manifests chained, {self.objects} archived objects and "
                f"{self.outputs} outputs match their sha256{head}"
            )
        return f"ledger broken: {self.problems[0]}"


@dataclass(frozen=True)
class Manifest:
    """One sealed manifest, as read back from the ledger."""

    path: Path
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def run_id(self) -> str:
        return str(self.body["run_id"])

    @property
    def business_date(self) -> date:
        return date.fromisoformat(self.body["business_date"])

    @property
    def sequence(self) -> int:
        return int(self.body["sequence"])

    @property
    def is_filing(self) -> bool:
        """A filing manifest (``regwatch.reporting.filing.seal_filing``) seals a filing made after its run, not a run."""
        return "filing" in self.body

    def output(self, name: str) -> dict[str, Any] | None:
        """The recorded output whose path ends with ``name`` (e.g. ``daily_exceptions.csv``)."""
        for item in self.body.get("outputs", []):
            if str(item["path"]).endswith("/" + name):
                return dict(item)
        return None


def canonical(body: dict[str, Any]) -> bytes:
    """The one serialisation of a manifest: sorted keys, two-space indent, UTF-8, final newline."""
    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _self_digest(body: dict[str, Any]) -> str:
    return sha256_bytes(canonical({k: v for k, v in body.items() if k != "manifest_sha256"}))


def manifests(settings: Settings) -> list[Path]:
    return sorted(settings.ledger_dir.glob("[0-9]*_*.json")) if settings.ledger_dir.is_dir() else []


def read(path: Path) -> Manifest:
    try:
        return Manifest(path, json.loads(path.read_bytes()))
    except (OSError, ValueError) as error:
        raise LedgerError(f"{path.name}: unreadable manifest ({error})") from error


def find(settings: Settings, run: str | None = None, business_date: date | None = None) -> Manifest:
    """The latest manifest of a run id (or manifest file name), or of a business date."""
    chain = [m for m in (read(p) for p in manifests(settings)) if not m.is_filing]
    if run is not None:
        hits = [m for m in chain if run in (m.run_id, m.name, m.name.removesuffix(".json"))]
        if business_date is not None:
            hits = [m for m in hits if m.business_date == business_date]
        if not hits:
            raise RunNotFoundError(f"no run {run} in the ledger at {settings.ledger_dir}")
    else:
        hits = [m for m in chain if m.business_date == business_date]
        if not hits:
            raise RunNotFoundError(f"no run of {business_date} in the ledger at {settings.ledger_dir}")
    return hits[-1]


def archive_tree(archive: Archive, root: Path) -> list[dict[str, str]]:
    """Archive every file under ``root``; their paths relative to it and sha256, in path order."""
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    return [{"path": p.relative_to(root).as_posix(), "sha256": archive.put_file(p)} for p in files]


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
    outputs: Sequence[Path],
    tool_versions: dict[str, str],
    decisions: dict[str, Any] | None = None,
    outputs_root: Path | None = None,
    pack_files: Sequence[dict[str, str]] = (),
    reference_data: Sequence[dict[str, str]] = (),
    loads: Sequence[dict[str, Any]] = (),
    state: Sequence[dict[str, Any]] = (),
    delivery: dict[str, Any] | None = None,
    filing: dict[str, Any] | None = None,
    pdf_rendered: bool = True,
    engine: str = "duckdb",
    lineage: Callable[[str], bytes] | None = None,
) -> Path:
    """Archive the run's outputs, write its manifest, then publish the outputs; returns the manifest.

    ``filing`` makes it a filing manifest: a filing made after the run ``run_id`` (its
    period, folder, status and, for a new version, the reason), chained like a run's.

    ``outputs`` are files under ``outputs_root`` (the run's staging folder; default the
    published reports folder). Each is archived, then the manifest is written, then each
    is published to ``var/reports/<its path under outputs_root>`` by an atomic rename: a
    killed seal leaves either no manifest (and the previous published files) or a
    manifest whose outputs are all in the archive.

    ``lineage`` gives the run's OpenLineage events (JSON lines, :mod:`regwatch.ledger.lineage`)
    for the manifest's ``sealed_at``: archived, written beside the manifest as
    ``<manifest>.lineage.jsonl`` and named with its sha256 in the manifest.
    """
    archive = Archive.of(settings)
    sealed_at = datetime.now(UTC).isoformat(timespec="seconds")
    root = outputs_root if outputs_root is not None else settings.published_reports_dir
    existing = manifests(settings)
    previous = existing[-1] if existing else None
    sequence = int(previous.name.split("_", 1)[0]) + 1 if previous else 1
    recorded_outputs = []
    published: list[tuple[Path, str]] = []
    for path in sorted(outputs):
        if not path.is_file():
            raise LedgerError(f"output {path} is missing: nothing sealed")
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        target = settings.published_reports_dir / relative
        digest = archive.put_file(path)
        recorded_outputs.append(
            {
                "path": target.relative_to(settings.var_dir).as_posix(),
                "sha256": digest,
                "bytes": path.stat().st_size,
            }
        )
        published.append((target, digest))
    body: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "sequence": sequence,
        "run_id": run_id,
        "business_date": business_date.isoformat(),
        "sealed_at": sealed_at,
        "rule_pack": {
            "name": pack_name,
            "version": pack_version,
            "sha256": pack_sha256,
            "files": [dict(f) for f in pack_files],
        },
        "reference_data": [dict(f) for f in reference_data],
        "code_version": code_version,
        "tool_versions": dict(sorted(tool_versions.items())),
        "inputs": inputs,
        "loads": [dict(item) for item in loads],
        "state": [dict(item) for item in state],
        "outputs": recorded_outputs,
        "previous_manifest": previous.name if previous else None,
        "previous_manifest_sha256": sha256_file(previous) if previous else None,
    }
    if decisions is not None:
        # The analysts' decisions file, an input outside the landing folder (regwatch.alerts),
        # archived by ingest under file_sha256.
        body["decisions"] = decisions
    if delivery is not None:
        # The delivery verdict (regwatch.ingest.delivery) and, for a degraded delivery run
        # anyway, the operator's reason (``run --accept-degraded``).
        body["delivery"] = delivery
    if filing is not None:
        body["filing"] = filing
    if not pdf_rendered:
        # Reports made without their PDF (Settings.render_pdf, a test setting): said, never silent;
        # audit rerun and rebuild replay the run the same way.
        body["pdf_rendered"] = False
    if engine != "duckdb":
        # The engine dbt built the project on (``--engine``, issue 19); absent means DuckDB,
        # the default. audit rerun and rebuild replay the run on the same engine.
        body["engine"] = engine
    label = run_id if filing is None else f"filing-{Path(str(filing['folder'])).name}"
    target = settings.ledger_dir / f"{sequence:06d}_{business_date.isoformat()}_{label}.json"
    events = lineage(sealed_at) if lineage is not None else None
    if events is not None:
        lineage_path = target.with_name(f"{target.stem}{LINEAGE_SUFFIX}")
        body["lineage"] = {
            "path": lineage_path.relative_to(settings.var_dir).as_posix(),
            "sha256": archive.put(events),
            "events": events.count(b"\n"),
        }
    body["manifest_sha256"] = _self_digest(body)
    if target.exists():
        raise LedgerError(f"manifest {target.name} exists already: the ledger is append-only")
    with publishing(settings.ledger_dir):
        if events is not None:
            write_atomic(lineage_path, events)
        write_atomic(target, canonical(body))
        for published_path, digest in published:
            publish(archive, digest, published_path)
    return target


def publish(archive: Archive, sha256: str, target: Path) -> None:
    """Copy an archived object to ``target`` atomically (a reader sees the old or the new file)."""
    source = archive.path(sha256)
    if target.is_file() and sha256_file(target) == sha256:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class _Checker:
    """Hashes each archived object once however many manifests name it."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.seen: dict[str, str | None] = {}

    def check(self, sha256: Any) -> str | None:
        key = str(sha256)
        if key not in self.seen:
            try:
                self.seen[key] = self.archive.problem(key)
            except Exception as error:  # a malformed hash in an edited manifest
                self.seen[key] = f"is not a valid object name ({error})"
        return self.seen[key]


def _manifest_problems(
    path: Path, raw: bytes, body: dict[str, Any], number: int, previous: Path | None, checker: _Checker
) -> Iterable[str]:
    name = path.name
    if raw != canonical(body):
        yield f"{name}: was altered (not in the canonical form it was sealed in)"
    elif body.get("manifest_sha256") != _self_digest(body):
        yield f"{name}: was altered (its content no longer matches its manifest_sha256)"
    if body.get("sequence") != number:
        yield f"{name}: sequence {body.get('sequence')} where {number} was expected"
    expected_name = previous.name if previous else None
    if body.get("previous_manifest") != expected_name:
        yield f"{name}: names {body.get('previous_manifest')} as previous, not {expected_name}"
    elif previous is not None and body.get("previous_manifest_sha256") != sha256_file(previous):
        yield f"{name}: previous manifest {expected_name} was altered (sha256 differs)"
    archive = checker.archive

    def objects() -> Iterable[tuple[str, Any]]:
        for item in body.get("rule_pack", {}).get("files", []):
            yield f"rule-pack file {item['path']}", item["sha256"]
        for item in body.get("reference_data", []):
            yield f"reference file {item['path']}", item["sha256"]
        for item in body.get("inputs", []):
            yield f"input {item['path']}", item["sha256"]
        for item in body.get("loads", []):
            record_sha = item["record_sha256"]
            yield f"load record of {item['business_date']} ({item['load_id']})", record_sha
            if checker.check(record_sha) is None:
                record = json.loads(archive.get(record_sha))
                for f in record["files"]:
                    yield f"input {f['source_file']} (load {item['load_id']})", f["sha256"]
                if record.get("delivery_manifest"):  # the encodings the load was declared in
                    declared = record["delivery_manifest"]
                    yield (
                        f"delivery manifest {declared['source_file']} (load {item['load_id']})",
                        declared["sha256"],
                    )
        decisions = body.get("decisions") or {}
        if decisions.get("file_sha256"):
            yield f"decisions file {decisions.get('path')}", decisions["file_sha256"]
        for item in body.get("state", []):
            yield f"results snapshot {item['table']}", item["sha256"]
        for item in body.get("outputs", []):
            yield f"output {item['path']}", item["sha256"]
        if body.get("lineage"):
            yield f"lineage events {body['lineage']['path']}", body["lineage"]["sha256"]

    for what, digest in objects():
        problem = checker.check(digest)
        if problem:
            yield f"{name}: {what}: archive object {archive.relative(str(digest))} {problem}"


def verify(settings: Settings) -> VerifyResult:
    """Walk the chain from the first manifest: every link, every archived artefact, every published file.

    Problems come in chain order, so the first one names the first broken link or altered file.
    """
    problems: list[str] = []
    checker = _Checker(Archive.of(settings))
    chain = manifests(settings)
    previous: Path | None = None
    outputs = 0
    latest_output: dict[str, tuple[str, str]] = {}  # published path -> (sha256, manifest name)
    for number, path in enumerate(chain, start=1):
        raw = path.read_bytes()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            problems.append(f"{path.name}: unreadable manifest ({error})")
            previous = path
            continue
        try:
            problems.extend(_manifest_problems(path, raw, body, number, previous, checker))
            for item in body.get("outputs", []):
                outputs += 1
                latest_output[str(item["path"])] = (str(item["sha256"]), path.name)
            lineage = body.get("lineage")
            if lineage:  # the events beside the manifest are the ones it sealed
                beside = settings.var_dir / str(lineage["path"])
                if not beside.is_file():
                    problems.append(f"{path.name}: lineage events {lineage['path']} are missing")
                elif sha256_file(beside) != lineage["sha256"]:
                    problems.append(f"{path.name}: lineage events {lineage['path']} were altered")
        except (KeyError, TypeError, AttributeError) as error:
            problems.append(f"{path.name}: malformed manifest (missing or bad field {error})")
        previous = path
    # Published files are the latest sealed version of their path: compared while no seal is
    # publishing, with the outputs of manifests sealed since the walk began (checked next time).
    with publishing(settings.ledger_dir, shared=True):
        for path in manifests(settings)[len(chain) :]:
            try:
                for item in read(path).body.get("outputs", []):
                    latest_output[str(item["path"])] = (str(item["sha256"]), path.name)
            except (LedgerError, KeyError, TypeError, AttributeError):
                continue
        for relative, (digest, name) in sorted(latest_output.items()):
            target = settings.var_dir / relative
            if not target.is_file():
                problems.append(f"published {relative} is missing (sealed by {name})")
            elif sha256_file(target) != digest:
                problems.append(f"published {relative} was altered (sha256 differs from {name})")
    head = sha256_file(chain[-1]) if chain else None
    return VerifyResult(len(chain), outputs, len(checker.seen), head, tuple(problems))
