"""``regwatch rebuild``: a fresh warehouse replayed from the archive, proven equal to the ledger.

When the warehouse is lost or drifted from the ledger (:mod:`regwatch.ledger.consistency`),
everything needed to make it again is in the archive: every load a sealed run saw
(its files, content-addressed), each run's decisions file, rule pack and reference
seeds. Rebuild replays the ledger in chain order into a warehouse built aside
(``var/rebuild/work/``): for each sealed manifest it ingests the loads the run saw
that are not current yet (so each date's loads arrive in the order the ledger saw
them), restores the run's decisions file, rule pack and seeds (the machinery of
``audit rerun``), runs the date again with the recorded code version, and compares
the run id and every output's sha256 with the manifest. Only when every sealed run is
reproduced does the new warehouse replace ``var/warehouse.duckdb`` (one atomic
rename; the previous file, if any, is kept beside it as ``warehouse.duckdb.replaced-<time>``).
A run that is not reproduced stops the rebuild (exit 1), names it, and leaves the
current warehouse untouched and the aside build in place for inspection.

The ledger and the published reports are not touched: the rebuild adds no manifest.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from regwatch.config import Settings
from regwatch.ledger import manifests
from regwatch.ledger.archive import Archive
from regwatch.ledger.manifests import Manifest


class RebuildError(RuntimeError):
    """The ledger cannot be replayed, or a sealed run was not reproduced (exit 1)."""


@dataclass(frozen=True)
class Replayed:
    """One sealed run replayed into the aside warehouse."""

    manifest: str
    business_date: str
    run_id: str
    outputs: int
    loads_ingested: int
    seconds: float


@dataclass(frozen=True)
class RebuildResult:
    replayed: tuple[Replayed, ...]
    loads: int
    warehouse: Path
    replaced: Path | None
    seconds: float

    @property
    def summary(self) -> str:
        kept = f"; the previous file is kept as {self.replaced.name}" if self.replaced else ""
        return (
            f"warehouse rebuilt in {self.seconds:.1f} s from {self.loads} archived loads: "
            f"{len(self.replayed)} sealed runs reproduced (same run ids, every output identical); "
            f"{self.warehouse}{kept}"
        )


def _project_key(manifest: Manifest) -> tuple[object, ...]:
    pack = manifest.body["rule_pack"]
    return (
        pack["name"],
        tuple((f["path"], f["sha256"]) for f in pack["files"]),
        tuple((f["path"], f["sha256"]) for f in manifest.body["reference_data"]),
    )


def rebuild(settings: Settings, on_replayed: Callable[[Replayed], None] | None = None) -> RebuildResult:
    """Replay every sealed run of the ledger into a fresh warehouse; swap it in when all reproduce."""
    from regwatch import audit, pipeline, warehouse
    from regwatch.ingest.load import current_load_id, ingest_day
    from regwatch.ledger import snapshot
    from regwatch.ledger.consistency import problems

    started = time.perf_counter()
    # Runs only: a filing sealed after its run (regwatch.reporting.filing) is not replayed; its files stay sealed.
    chain = [m for m in (manifests.read(path) for path in manifests.manifests(settings)) if not m.is_filing]
    if not chain:
        raise RebuildError(f"the ledger at {settings.ledger_dir} is empty: there is nothing to rebuild from")
    old = [m.name for m in chain if m.body.get("manifest_version", 1) < 2]
    if old:
        raise RebuildError(
            f"{old[0]} predates the archive (manifest version 1): the ledger cannot be replayed"
        )
    archive = Archive.of(settings)
    work = settings.var_dir / "rebuild" / "work"
    shutil.rmtree(work, ignore_errors=True)
    var = work / "var"
    var.mkdir(parents=True)
    # The aside build archives into the real archive (content-addressed: the objects it
    # writes are the ones the ledger already holds, when the runs reproduce).
    os.symlink(archive.root.resolve(), var / "archive", target_is_directory=True)
    archive.root.mkdir(parents=True, exist_ok=True)
    landing = work / "landing"
    project = work / "project"
    project_key: tuple[object, ...] | None = None
    replayed: list[Replayed] = []
    loads_ingested = 0
    in_landing: dict[date, str] = {}  # the load whose files landing/<date>/ holds
    for manifest in chain:
        began = time.perf_counter()
        if _project_key(manifest) != project_key:
            shutil.rmtree(project, ignore_errors=True)
            audit.scratch_project(settings, manifest, "recorded", project)
            project_key = _project_key(manifest)
        aside = Settings(
            project_root=project,
            var_dir=var,
            landing_dir=landing,
            pack=str(manifest.body["rule_pack"]["name"]),
            unmask_pii=settings.unmask_pii,
            pii_key=settings.pii_key,
            pinned_code_version=str(manifest.body["code_version"]),
            # A degraded delivery the operator accepted is accepted again, with the same reason.
            accept_degraded=(manifest.body.get("delivery") or {}).get("accepted_reason"),
            # A run made without its PDF (Settings.render_pdf) is replayed without it.
            render_pdf=manifest.body.get("pdf_rendered", True) is not False,
            # The engine the run was built on (absent: DuckDB), on this installation's Spark master.
            engine=str(manifest.body.get("engine", "duckdb")),
            spark_master=settings.spark_master,
            dispositions_file=audit.restore_decisions(
                settings, manifest, work / "decisions" / f"{manifest.sequence:06d}"
            ),
        )
        ingested = 0
        with warehouse.connect(aside.warehouse_path) as con:
            for load in manifest.body["loads"]:
                day = date.fromisoformat(str(load["business_date"]))
                current = current_load_id(con, day) == load["load_id"]
                if (not current or day == manifest.business_date) and in_landing.get(day) != load["load_id"]:
                    audit.restore_load(archive, load, landing)
                    in_landing[day] = str(load["load_id"])
                if not current:
                    result = ingest_day(con, landing, day, archive, required=())
                    if result.load_id != load["load_id"]:
                        raise RebuildError(
                            f"{manifest.name}: the archived files of load {load['load_id']} of {day} "
                            f"load as {result.load_id}"
                        )
                    ingested += 1
        pipeline.run_day(manifest.business_date, aside)
        rerun = manifests.read(manifests.manifests(aside)[-1])
        comparisons = audit.compare_outputs(manifest, rerun)
        differing = [c for c in comparisons if c.status != "identical"]
        if rerun.run_id != manifest.run_id or differing:
            what = (
                f"run id {rerun.run_id}"
                if rerun.run_id != manifest.run_id
                else f"{len(differing)} of {len(comparisons)} outputs differ (first: {differing[0].path}, "
                f"{differing[0].status})"
            )
            raise RebuildError(
                f"{manifest.name}: run {manifest.run_id} of {manifest.business_date} was not reproduced ({what}); "
                f"the warehouse was not replaced; the aside build is in {work}"
            )
        loads_ingested += ingested
        item = Replayed(
            manifest.name,
            manifest.business_date.isoformat(),
            manifest.run_id,
            len(comparisons),
            ingested,
            round(time.perf_counter() - began, 1),
        )
        replayed.append(item)
        if on_replayed is not None:
            on_replayed(item)
    replaced = _swap(var / "warehouse.duckdb", settings.warehouse_path)
    shutil.rmtree(work, ignore_errors=True)
    snapshot.write(settings, chain[-1].name)
    left = problems(settings)
    if left:
        raise RebuildError(f"the rebuilt warehouse still does not match the ledger: {left[0]}")
    return RebuildResult(
        tuple(replayed),
        loads_ingested,
        settings.warehouse_path,
        replaced,
        round(time.perf_counter() - started, 1),
    )


def _swap(built: Path, target: Path) -> Path | None:
    """Put ``built`` in place of ``target`` in one rename; keep the previous file (and its WAL) beside it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = target.with_name(f"{target.name}.replaced-{stamp}")
    wal = target.with_name(target.name + ".wal")
    if wal.exists():  # a WAL left by a crashed writer must not be replayed onto the new file
        os.replace(wal, kept.with_name(kept.name + ".wal"))
    existed = target.exists()
    if existed:
        os.link(target, kept)
    os.replace(built, target)
    return kept if existed else None
