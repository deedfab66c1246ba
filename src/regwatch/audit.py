"""The auditor's tools: rerun a sealed run from the archive, compare byte for byte, explain differences.

``rerun`` rebuilds one business date in a scratch warehouse from the archived inputs
(every load the run saw, not what the landing folder holds today), with the rule pack
and reference seeds recorded for the run (or today's pack: ``rules="current"``), and
compares every output with the sha256 the ledger recorded. ``diff`` says which
exceptions appeared or disappeared between two runs and why: a rule added, retired
or re-parameterised, an input restated (which file, which rows), reference data or
the code version changed.

Code is not restored: the rerun executes the code installed now and records the
run's own code version, so the outputs are comparable; when the two differ, the
report says so, and a byte difference may then be the code's. The rule pack is restored
as sealed (every file from the archive by its sha256), never today's; when the code
installed now refuses that pack (a definition it no longer accepts, such as a bad-debt
rate dividing a cumulative amount by a balance), the rerun stops with an
:class:`AuditError` (exit 2) whose one line names the pack, its version and the reason.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from regwatch.config import Settings
from regwatch.contract import CONTRACTS
from regwatch.files import sha256_file, write_atomic
from regwatch.ledger import manifests
from regwatch.ledger.archive import Archive
from regwatch.ledger.manifests import LedgerError, Manifest
from regwatch.rules import model_parameter_reads

Rules = Literal["recorded", "current"]
EXCEPTIONS_FILE = "daily_exceptions.csv"


class AuditError(RuntimeError):
    """A rerun or diff cannot be made (the manifest predates the archive, an object is missing)."""


# ---------------------------------------------------------------- rerun


@dataclass(frozen=True)
class OutputComparison:
    path: str
    recorded_sha256: str | None
    rerun_sha256: str | None

    @property
    def status(self) -> str:
        if self.recorded_sha256 is None:
            return "only in the rerun"
        if self.rerun_sha256 is None:
            return "missing from the rerun"
        return "identical" if self.recorded_sha256 == self.rerun_sha256 else "differs"


@dataclass(frozen=True)
class RerunResult:
    recorded: Manifest
    rerun: Manifest
    rules: Rules
    executing_code_version: str
    comparisons: tuple[OutputComparison, ...]
    diff: DiffResult
    report: Path

    @property
    def reproduced(self) -> bool:
        return all(c.status == "identical" for c in self.comparisons)

    @property
    def summary(self) -> str:
        same = sum(c.status == "identical" for c in self.comparisons)
        verdict = "REPRODUCED byte for byte" if self.reproduced else "NOT reproduced"
        rules = "recorded rule pack" if self.rules == "recorded" else "today's rule pack"
        return (
            f"{verdict}: run {self.recorded.run_id} of {self.recorded.business_date} "
            f"({same}/{len(self.comparisons)} outputs identical, {rules})"
        )


def _pack_label(manifest: Manifest) -> str:
    pack = manifest.body["rule_pack"]
    return f"rule pack {pack['name']} {pack['version']} (sha256 {str(pack['sha256'])[:12]})"


def _refused(manifest: Manifest, settings: Settings, error: BaseException) -> str:
    """One line: which run, which sealed pack, which code, and why the code refuses the pack."""
    from regwatch.ledger.runs import code_version

    reason = " ".join(str(error).split()) or type(error).__name__
    return (
        f"run {manifest.run_id} of {manifest.business_date} cannot be rerun: the code installed now "
        f"({code_version(settings.project_root)}; the run's was {manifest.body.get('code_version')}) "
        f"refuses its sealed {_pack_label(manifest)}: {reason}"
    )


def _check_pack_loads(manifest: Manifest, project: Path) -> None:
    """The sealed pack, restored in the scratch project, loads with the code installed now."""
    from regwatch.rules import RulePackError, load_pack

    try:
        load_pack(project / "checks" / str(manifest.body["rule_pack"]["name"]))
    except RulePackError as error:
        raise AuditError(
            f"run {manifest.run_id} of {manifest.business_date} cannot be rerun: its sealed "
            f"{_pack_label(manifest)} does not load with the code installed now: {' '.join(str(error).split())}"
        ) from error


def _restore_tree(archive: Archive, files: Iterable[dict[str, Any]], root: Path) -> None:
    for item in files:
        target = root / str(item["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.get(str(item["sha256"])))


def scratch_project(settings: Settings, manifest: Manifest, rules: Rules, root: Path) -> None:
    """A project root holding today's dbt project and templates, the recorded seeds and the pack."""
    archive = Archive.of(settings)
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".user.yml")
    shutil.copytree(settings.dbt_project_dir, root / "dbt_project", ignore=ignore)
    shutil.copytree(settings.templates_dir, root / "reports", ignore=ignore)
    seeds = root / "dbt_project" / "seeds"
    shutil.rmtree(seeds)
    seeds.mkdir()
    _restore_tree(archive, manifest.body["reference_data"], seeds)
    pack = manifest.body["rule_pack"]
    pack_dir = root / "checks" / str(pack["name"])
    if rules == "recorded":
        pack_dir.mkdir(parents=True)
        _restore_tree(archive, pack["files"], pack_dir)
    else:
        shutil.copytree(settings.checks_dir / str(pack["name"]), pack_dir, ignore=ignore)


def restore_load(archive: Archive, load: dict[str, Any], landing: Path) -> date:
    """Write the files of one archived load (a manifest's ``loads`` item) into ``landing/<its date>/``,
    which holds exactly them afterwards; its business date."""
    day = date.fromisoformat(str(load["business_date"]))
    folder = landing / day.isoformat()
    shutil.rmtree(folder, ignore_errors=True)
    record = json.loads(archive.get(str(load["record_sha256"])))
    for f in record["files"]:
        target = landing / str(f["source_file"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.get(str(f["sha256"])))
    if record.get("delivery_manifest"):  # the declared encodings the load was read with
        declared = record["delivery_manifest"]
        target = landing / str(declared["source_file"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.get(str(declared["sha256"])))
    folder.mkdir(parents=True, exist_ok=True)
    return day


def _restore_landing(settings: Settings, manifest: Manifest, landing: Path) -> list[date]:
    """Write every file of every load the run saw into a scratch landing folder; their dates."""
    archive = Archive.of(settings)
    return sorted(restore_load(archive, item, landing) for item in manifest.body["loads"])


def restore_decisions(settings: Settings, manifest: Manifest, folder: Path) -> Path:
    """The analysts' decisions file as the run read it (archived by its ingest), under ``folder``."""
    decisions = manifest.body.get("decisions") or {}
    dispositions = folder / str(decisions.get("path") or "dispositions.csv")
    if decisions.get("file_sha256"):
        dispositions.parent.mkdir(parents=True, exist_ok=True)
        dispositions.write_bytes(Archive.of(settings).get(str(decisions["file_sha256"])))
    return dispositions


def compare_outputs(recorded: Manifest, rerun: Manifest) -> tuple[OutputComparison, ...]:
    """Every output path of either run, with the sha256 each recorded for it."""
    recorded_outputs = {str(o["path"]): str(o["sha256"]) for o in recorded.body["outputs"]}
    rerun_outputs = {str(o["path"]): str(o["sha256"]) for o in rerun.body["outputs"]}
    return tuple(
        OutputComparison(path, recorded_outputs.get(path), rerun_outputs.get(path))
        for path in sorted(set(recorded_outputs) | set(rerun_outputs))
    )


def rerun(
    settings: Settings,
    business_date: date,
    run: str | None = None,
    rules: Rules = "recorded",
    keep_scratch: bool = False,
) -> RerunResult:
    """Rebuild a sealed run in a scratch warehouse from the archive and compare every output."""
    from regwatch import pipeline, warehouse
    from regwatch.ingest.load import ingest_day
    from regwatch.ledger import carry
    from regwatch.ledger.runs import code_version
    from regwatch.rules import RulePackError
    from regwatch.transform import TransformError
    from regwatch.validate import ValidationError

    recorded = manifests.find(settings, run, business_date)
    if recorded.body.get("manifest_version", 1) < 2:
        raise AuditError(f"{recorded.name} predates the archive (manifest version 1): it cannot be rerun")
    scratch = settings.var_dir / "audit" / "scratch" / f"{recorded.run_id}-{rules}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        scratch_project(settings, recorded, rules, scratch / "project")
        if rules == "recorded":
            _check_pack_loads(recorded, scratch / "project")
        landing = scratch / "landing"
        days = _restore_landing(settings, recorded, landing)
        # The analysts' decisions as the run read them (archived by its ingest).
        dispositions = restore_decisions(settings, recorded, scratch / "decisions")
        scratch_settings = Settings(
            project_root=scratch / "project",
            var_dir=scratch / "var",
            landing_dir=landing,
            pack=str(recorded.body["rule_pack"]["name"]),
            unmask_pii=settings.unmask_pii,
            pii_key=settings.pii_key,
            pinned_code_version=str(recorded.body["code_version"]),
            dispositions_file=dispositions,
            # A degraded delivery the operator accepted is accepted again, with the same reason.
            accept_degraded=(recorded.body.get("delivery") or {}).get("accepted_reason"),
            # A run made without its PDF (Settings.render_pdf) is replayed without it.
            render_pdf=recorded.body.get("pdf_rendered", True) is not False,
            # The engine the run was built on (absent: DuckDB), on this installation's Spark master.
            engine=str(recorded.body.get("engine", "duckdb")),
            spark_master=settings.spark_master,
        )
        with warehouse.connect(scratch_settings.warehouse_path) as con:
            for day in days:
                if day != recorded.business_date:  # as delivered, a file missing included
                    ingest_day(con, landing, day, Archive.of(scratch_settings), required=())
            # Results of earlier dates that D's run read (alerts, incremental indicators):
            # each date's partition as its latest run sealed before the recorded one left it.
            earlier: dict[date, Manifest] = {}
            for path in manifests.manifests(settings):
                sealed = manifests.read(path)
                if sealed.sequence >= recorded.sequence:
                    break
                if sealed.is_filing:  # a filing made after a run holds no results
                    continue
                if sealed.business_date < recorded.business_date:
                    earlier[sealed.business_date] = sealed
            for day in sorted(earlier):
                carry.restore(con, Archive.of(settings), earlier[day].body.get("state", []))
        try:
            pipeline.run_day(recorded.business_date, scratch_settings)
        except (RulePackError, TransformError, ValidationError) as error:
            if rules != "recorded":
                raise
            raise AuditError(_refused(recorded, settings, error)) from error
        rerun_manifest = manifests.read(manifests.manifests(scratch_settings)[-1])
        comparisons = compare_outputs(recorded, rerun_manifest)
        differences = diff_manifests(
            recorded,
            Archive.of(settings),
            rerun_manifest,
            Archive.of(scratch_settings),
            scratch_settings.dbt_target_dir / "manifest.json",
        )
        executing = code_version(settings.project_root)
        # The rerun's manifest and outputs move out of the scratch folder with the report.
        kept = settings.var_dir / "audit" / recorded.business_date.isoformat()
        result = RerunResult(
            recorded,
            rerun_manifest,
            rules,
            executing,
            comparisons,
            differences,
            kept / f"rerun_{recorded.run_id}_{rules}-rules.html",
        )
        _write_report(settings, result)
        return result
    finally:
        if not keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _write_report(settings: Settings, result: RerunResult) -> None:
    from regwatch.reporting.render import environment

    recorded, rerun_manifest = result.recorded, result.rerun
    context = {
        "report_title": "Audit rerun",
        "business_date": recorded.business_date.isoformat(),
        "verdict": "reproduced" if result.reproduced else "not reproduced",
        "reproduced": result.reproduced,
        "summary": result.summary,
        "rules": result.rules,
        "recorded": recorded.body,
        "recorded_name": recorded.name,
        "recorded_sha256": sha256_file(recorded.path),
        "rerun": rerun_manifest.body,
        "executing_code_version": result.executing_code_version,
        "comparisons": result.comparisons,
        "diff": result.diff,
    }
    html = environment(settings).get_template("audit_rerun.html.j2").render(**context)
    write_atomic(result.report, html.encode("utf-8"))


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class ExceptionChange:
    change: Literal["appeared", "disappeared", "changed"]
    rule_id: str
    entity_key: str
    message_a: str | None
    message_b: str | None
    causes: tuple[str, ...]


@dataclass(frozen=True)
class Restatement:
    """A business date's file that differs between the runs' loads.

    ``kind`` is ``restated`` when both runs saw a load of that date (a later delivery
    replaced the earlier one), ``delivered`` when only run B saw the date (a business
    date after run A's: new data, not a restatement), ``not delivered`` when only run A
    saw it (diffing a later run against an earlier one).
    """

    business_date: str
    file_name: str
    load_a: str | None
    load_b: str | None
    rows_added: tuple[int, ...] = ()
    rows_removed: tuple[int, ...] = ()
    rows_changed: tuple[int, ...] = ()
    keys: tuple[str, ...] = ()
    ids: frozenset[str] = frozenset()
    kind: Literal["restated", "delivered", "not delivered"] = "restated"

    @property
    def source(self) -> str:
        """The input the file feeds (``loans.csv`` -> ``loans``), as dbt's sources name it."""
        return self.file_name.split(".", 1)[0]

    def describe(self) -> str:
        if self.kind == "delivered":
            return f"{self.business_date}/{self.file_name} delivered (load {self.load_b}): {len(self.rows_added)} rows"
        if self.kind == "not delivered":
            return f"{self.business_date}/{self.file_name} not delivered yet as of run B (only in load {self.load_a})"
        parts = []
        for label, rows in (("added", self.rows_added), ("removed", self.rows_removed)):
            if rows:
                parts.append(f"rows {label} {_rows_text(rows)}")
        if self.rows_changed:
            parts.append(f"rows changed {_rows_text(self.rows_changed)} (in the new load)")
        keys = f" [{'; '.join(self.keys[:5])}{' ...' if len(self.keys) > 5 else ''}]" if self.keys else ""
        what = ", ".join(parts) or "content differs"
        return f"{self.business_date}/{self.file_name} restated (load {self.load_a} -> {self.load_b}): {what}{keys}"


def _rows_text(rows: tuple[int, ...]) -> str:
    shown = ", ".join(str(r) for r in rows[:10])
    return shown + (f" (+{len(rows) - 10} more)" if len(rows) > 10 else "")


@dataclass(frozen=True)
class DiffResult:
    run_a: str
    run_b: str
    business_date_a: str
    business_date_b: str
    rule_causes: dict[str, str] = field(default_factory=dict)
    parameter_changes: tuple[str, ...] = ()
    restatements: tuple[Restatement, ...] = ()
    deliveries: tuple[Restatement, ...] = ()
    reference_changes: tuple[str, ...] = ()
    code_change: str | None = None
    tool_changes: tuple[str, ...] = ()
    changes: tuple[ExceptionChange, ...] = ()

    @property
    def unexplained(self) -> tuple[ExceptionChange, ...]:
        return tuple(c for c in self.changes if not c.causes)

    def lines(self) -> list[str]:
        out = [
            f"diff {self.run_a} ({self.business_date_a}) -> {self.run_b} ({self.business_date_b}): "
            f"{sum(c.change == 'appeared' for c in self.changes)} appeared, "
            f"{sum(c.change == 'disappeared' for c in self.changes)} disappeared, "
            f"{sum(c.change == 'changed' for c in self.changes)} changed"
        ]
        sections: list[tuple[str, list[str]]] = [
            ("rules:", [f"{rule}: {cause}" for rule, cause in sorted(self.rule_causes.items())]),
            ("pack parameters:", list(self.parameter_changes)),
            ("inputs restated:", [r.describe() for r in self.restatements]),
            ("inputs of business dates only one run saw:", [r.describe() for r in self.deliveries]),
            ("reference data:", list(self.reference_changes)),
        ]
        for title, items in sections:
            if items:
                out.append(title)
                out.extend(f"  {item}" for item in items)
        if self.code_change:
            out.append(f"code: {self.code_change}")
        if self.tool_changes:
            out.append("tools: " + ", ".join(self.tool_changes))
        if self.changes:
            out.append("exceptions:")
        for c in self.changes:
            cause = "; ".join(c.causes) if c.causes else "UNEXPLAINED"
            out.append(f"  {c.change:<11} {c.rule_id}  {c.entity_key}  <- {cause}")
        return out


def _exceptions(manifest: Manifest, archive: Archive) -> dict[tuple[str, str], str]:
    item = manifest.output(EXCEPTIONS_FILE)
    if item is None:
        raise AuditError(f"{manifest.name} records no {EXCEPTIONS_FILE}")
    text = archive.get(str(item["sha256"])).decode("utf-8")
    # The daily CSV lists every alert of the day; a resolved one no longer fires.
    return {
        (r["rule_id"], r["entity_key"]): r["message"]
        for r in csv.DictReader(io.StringIO(text))
        if r.get("status") != "resolved"
    }


def _pack(manifest: Manifest, archive: Archive) -> Any:
    from regwatch.rules import load_pack

    pack = manifest.body["rule_pack"]
    with tempfile.TemporaryDirectory(prefix="regwatch-pack-") as folder:
        pack_dir = Path(folder) / str(pack["name"])
        pack_dir.mkdir()
        _restore_tree(archive, pack["files"], pack_dir)
        return load_pack(pack_dir)


def parameter_readers(dbt_manifest: Path | None, names: Collection[str]) -> dict[str, set[str]]:
    """Per pack parameter among ``names``, every dbt model that reads it or is downstream of one.

    Read off the manifest's code by ``regwatch.rules.model_parameter_reads`` (``pack_param``,
    ``pack_value`` also inside macros, ``var('pack')``, a model config): it names the models a
    parameter change reaches when no rule declares it, and the rules of packs sealed before
    ``model_parameters`` existed.
    """
    if dbt_manifest is None or not dbt_manifest.is_file():
        return {}
    readers: dict[str, set[str]] = {}
    for model, read in model_parameter_reads(json.loads(dbt_manifest.read_text()), names).items():
        for name in read:
            readers.setdefault(name, set()).add(model)
    return readers


def model_inputs(dbt_manifest: Path | None) -> dict[str, set[str]]:
    """Per dbt model, the platform inputs (``loans``, ``transactions`` ...) it reads, directly or upstream.

    An exception can only be caused by a file its rule's model reads: a large-cash alert
    is never "caused" by a loans.csv row that happens to name the same customer.
    """
    if dbt_manifest is None or not dbt_manifest.is_file():
        return {}
    manifest = json.loads(dbt_manifest.read_text())
    parents = manifest.get("parent_map", {})
    sources = manifest.get("sources", {})
    inputs: dict[str, set[str]] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model":
            continue
        seen, todo, found = set(), [unique_id], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in sources:
                found.add(str(sources[current].get("name")))
            todo.extend(parents.get(current, []))
        inputs[str(node["name"])] = found
    return inputs


def _shaping(a: Any, b: Any, readers: dict[str, set[str]]) -> tuple[set[str], str]:
    """The parameters that shape rule B's mart, and how that is known: its declaration
    (``model_parameters``; A's when B's pack predates the key), else the dbt manifest."""
    for rule in (b, a):
        if rule is not None and rule.model_parameters is not None:
            return set(rule.model_parameters), "model_parameters"
    model = (b or a).model
    return {name for name, models in readers.items() if model in models}, "dbt manifest"


def _rule_causes(
    pack_a: Any, pack_b: Any, day_a: date, day_b: date, readers: dict[str, set[str]] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Per rule id, why its exceptions may differ; and the parameter changes no rule is known to read.

    A parameter reaches a rule through its kwargs (``$name``) or through its mart: the
    rule's ``model_parameters`` (checked against the dbt manifest when the pack runs) name
    the parameters its mart's lineage reads. ``readers`` (from :func:`parameter_readers`)
    names the models that read each parameter: for rules that declare nothing (a pack
    sealed before ``model_parameters``) and to say what a parameter no rule reads shapes.
    """
    readers = readers or {}
    causes: dict[str, str] = {}
    referenced: set[str] = set()
    rules_a = {r.id: r for r in pack_a.rules}
    rules_b = {r.id: r for r in pack_b.rules}
    for rule_id in sorted(set(rules_a) | set(rules_b)):
        a, b = rules_a.get(rule_id), rules_b.get(rule_id)
        shaping, known_by = _shaping(a, b, readers)
        referenced |= shaping | {n for r in (a, b) if r is not None for n in r.parameter_names()}
        on_a = a is not None and a.applies_on(day_a)
        on_b = b is not None and b.applies_on(day_b)
        if a is None and b is not None and on_b:
            causes[rule_id] = f"rule added (pack {pack_b.version}, valid from {b.valid_from})"
        elif b is None and on_a:
            causes[rule_id] = f"rule removed from the pack (pack {pack_b.version})"
        elif on_a and not on_b:
            assert b is not None
            causes[rule_id] = f"rule retired: valid {b.valid_from} .. {b.valid_to or 'open'} excludes {day_b}"
        elif on_b and not on_a:
            assert b is not None
            causes[rule_id] = f"rule came into force: valid {b.valid_from} .. {b.valid_to or 'open'}"
        elif on_a and on_b:
            assert a is not None and b is not None
            kw_a = a.resolved_kwargs(pack_a.parameters)
            kw_b = b.resolved_kwargs(pack_b.parameters)
            changed = [
                f"{k} {kw_a.get(k)!r} -> {kw_b.get(k)!r}"
                + (f" (${m})" if isinstance(m := b.kwargs.get(k), str) and m.startswith("$") else "")
                for k in sorted(set(kw_a) | set(kw_b))
                if kw_a.get(k) != kw_b.get(k)
            ]
            other = [
                name
                for name in ("model", "expectation", "entity_key", "evidence", "message", "severity")
                if getattr(a, name) != getattr(b, name)
            ]
            via_models = [
                f"pack parameter {name} {_value(pack_a, name)!r} -> {_value(pack_b, name)!r} "
                f"(shapes {b.model}: {known_by})"
                for name in sorted(shaping)
                if _value(pack_a, name) != _value(pack_b, name)
            ]
            if changed or via_models:
                causes[rule_id] = "rule re-parameterised: " + ", ".join(changed + via_models)
            elif other:
                causes[rule_id] = "rule redefined: " + ", ".join(other) + " changed"
    params = []
    for name in sorted(set(pack_a.parameters) | set(pack_b.parameters)):
        va = pack_a.parameters[name].value if name in pack_a.parameters else None
        vb = pack_b.parameters[name].value if name in pack_b.parameters else None
        if va != vb and name not in referenced:
            models = sorted(readers.get(name, ()))
            shapes = f"shapes {', '.join(models)}" if models else "no dbt model known to read it"
            params.append(f"{name}: {va!r} -> {vb!r} (read by no rule; {shapes})")
    return causes, params


def _value(pack: Any, name: str) -> Any:
    return pack.parameters[name].value if name in pack.parameters else None


def _table(data: bytes, file_name: str) -> list[dict[str, str]]:
    if file_name.endswith(".parquet"):
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(data)).astype(str)
        return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text, newline="")))


#: A file's rows between two loads: added, removed, changed (row numbers), keys and ids named.
_RowsDiff = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[str, ...], frozenset[str]]


def _row_diff(name: str, source: str, old: bytes | None, new: bytes) -> _RowsDiff:
    key_columns = CONTRACTS[name].key if name in CONTRACTS else ()

    def keyed(rows: list[dict[str, str]]) -> dict[tuple[str, ...], tuple[int, dict[str, str]]]:
        out: dict[tuple[str, ...], tuple[int, dict[str, str]]] = {}
        for number, row in enumerate(rows, start=1):
            key = tuple(row.get(k, "") for k in key_columns) if key_columns else (str(number),)
            out.setdefault(key, (number, row))
        return out

    before = keyed(_table(old, source)) if old is not None else {}
    after = keyed(_table(new, source))
    added = sorted(after[k][0] for k in after.keys() - before.keys())
    removed = sorted(before[k][0] for k in before.keys() - after.keys())
    changed = sorted(after[k][0] for k in after.keys() & before.keys() if after[k][1] != before[k][1])
    touched = (
        [after[k][1] for k in after.keys() - before.keys()]
        + [before[k][1] for k in before.keys() - after.keys()]
        + [after[k][1] for k in after.keys() & before.keys() if after[k][1] != before[k][1]]
    )
    ids = frozenset(v for row in touched for c, v in row.items() if c and c.endswith("_id") and v)
    keys = tuple(", ".join(f"{c}={row.get(c, '')}" for c in key_columns) for row in touched if key_columns)
    return tuple(added), tuple(removed), tuple(changed), keys, ids


def _restatements(a: Manifest, archive_a: Archive, b: Manifest, archive_b: Archive) -> list[Restatement]:
    loads_a = {str(x["business_date"]): x for x in a.body.get("loads", [])}
    loads_b = {str(x["business_date"]): x for x in b.body.get("loads", [])}
    out = []
    for day in sorted(set(loads_a) | set(loads_b)):
        la, lb = loads_a.get(day), loads_b.get(day)
        if la is not None and lb is not None and la["load_id"] == lb["load_id"]:
            continue
        kind: Literal["restated", "delivered", "not delivered"] = (
            "restated"
            if la is not None and lb is not None
            else "delivered"
            if lb is not None
            else "not delivered"
        )
        files_a = (
            {f["file_name"]: f for f in json.loads(archive_a.get(str(la["record_sha256"])))["files"]}
            if la
            else {}
        )
        files_b = (
            {f["file_name"]: f for f in json.loads(archive_b.get(str(lb["record_sha256"])))["files"]}
            if lb
            else {}
        )
        for name in sorted(set(files_a) | set(files_b)):
            fa, fb = files_a.get(name), files_b.get(name)
            if fa is not None and fb is not None and fa["sha256"] == fb["sha256"]:
                continue
            if fb is None:  # a file run B's load no longer has: every row removed
                assert fa is not None
                present = fa
                rows = _table(archive_a.get(str(fa["sha256"])), str(fa["source_file"]))
                ids = frozenset(v for r in rows for c, v in r.items() if c and c.endswith("_id") and v)
                rows_diff: _RowsDiff = (), tuple(range(1, len(rows) + 1)), (), (), ids
            else:
                present = fb
                old = archive_a.get(str(fa["sha256"])) if fa is not None else None
                rows_diff = _row_diff(name, str(fb["source_file"]), old, archive_b.get(str(fb["sha256"])))
            out.append(
                Restatement(
                    day,
                    str(present["source_file"]).split("/")[-1],
                    la["load_id"] if la else None,
                    lb["load_id"] if lb else None,
                    *rows_diff,
                    kind,
                )
            )
    return out


def diff_manifests(
    a: Manifest, archive_a: Archive, b: Manifest, archive_b: Archive, dbt_manifest: Path | None = None
) -> DiffResult:
    """Every exception that appeared, disappeared or changed from run A to run B, with its causes.

    ``dbt_manifest`` (dbt's ``manifest.json``) gives the models that read each pack
    parameter, so a parameter change is attributed to the rules on those models, and the
    platform inputs each model reads, so a changed input is attributed only to the rules
    that read it. A business date only run B saw is new data, not a restatement.
    """
    exceptions_a = _exceptions(a, archive_a)
    exceptions_b = _exceptions(b, archive_b)
    pack_a, pack_b = _pack(a, archive_a), _pack(b, archive_b)
    rule_causes, parameter_changes = _rule_causes(
        pack_a,
        pack_b,
        a.business_date,
        b.business_date,
        parameter_readers(dbt_manifest, set(pack_a.parameters) | set(pack_b.parameters)),
    )
    changed_inputs = _restatements(a, archive_a, b, archive_b)
    restatements = [r for r in changed_inputs if r.kind == "restated"]
    deliveries = [r for r in changed_inputs if r.kind != "restated"]
    inputs_of = model_inputs(dbt_manifest)
    models = {r.id: r.model for pack in (pack_a, pack_b) for r in pack.rules}
    ref_a = {str(x["path"]): x["sha256"] for x in a.body.get("reference_data", [])}
    ref_b = {str(x["path"]): x["sha256"] for x in b.body.get("reference_data", [])}
    reference_changes = tuple(
        f"{path}: {'added' if path not in ref_a else 'removed' if path not in ref_b else 'changed'}"
        for path in sorted(set(ref_a) | set(ref_b))
        if ref_a.get(path) != ref_b.get(path)
    )
    code_a, code_b = a.body.get("code_version"), b.body.get("code_version")
    code_change = f"{code_a} -> {code_b}" if code_a != code_b else None
    tools_a, tools_b = a.body.get("tool_versions", {}), b.body.get("tool_versions", {})
    tool_changes = tuple(
        f"{t} {tools_a.get(t)} -> {tools_b.get(t)}"
        for t in sorted(set(tools_a) | set(tools_b))
        if tools_a.get(t) != tools_b.get(t)
    )

    def causes_of(rule_id: str, entity_key: str) -> tuple[str, ...]:
        if rule_id in rule_causes:
            return (rule_causes[rule_id],)
        found: list[str] = []
        entity = entity_key.split("|")[0]
        read = inputs_of.get(models.get(rule_id, ""))
        for label, changed in (("input restated", restatements), ("new data", deliveries)):
            relevant = [r for r in changed if read is None or r.source in read]
            traced = [r for r in relevant if entity in r.ids]
            found.extend(f"{label}: {r.describe()}" for r in traced)
            if relevant and not traced:
                files = ", ".join(f"{r.business_date}/{r.file_name}" for r in relevant)
                found.append(f"{label} ({files}), not traced to a row naming {entity}")
        found.extend(f"pack parameter changed: {p}" for p in parameter_changes)
        found.extend(f"reference data changed: {r}" for r in reference_changes)
        if code_change:
            found.append(f"code version changed: {code_change}")
        if a.business_date != b.business_date:
            found.append(
                f"business date moved {a.business_date} -> {b.business_date} (ageing, windows, rules in force)"
            )
        return tuple(found)

    changes = []
    for key in sorted(exceptions_a.keys() | exceptions_b.keys()):
        ma, mb = exceptions_a.get(key), exceptions_b.get(key)
        if ma == mb:
            continue
        kind: Literal["appeared", "disappeared", "changed"] = (
            "appeared" if ma is None else "disappeared" if mb is None else "changed"
        )
        changes.append(ExceptionChange(kind, key[0], key[1], ma, mb, causes_of(*key)))
    return DiffResult(
        a.run_id,
        b.run_id,
        a.business_date.isoformat(),
        b.business_date.isoformat(),
        rule_causes,
        tuple(parameter_changes),
        tuple(restatements),
        tuple(deliveries),
        reference_changes,
        code_change,
        tool_changes,
        tuple(changes),
    )


def diff(settings: Settings, run_a: str, run_b: str) -> DiffResult:
    """``diff_manifests`` of two runs of this ledger (run ids or manifest names)."""
    try:
        a = manifests.find(settings, run_a)
        b = manifests.find(settings, run_b)
    except LedgerError as error:
        raise AuditError(str(error)) from error
    for m in (a, b):
        if m.body.get("manifest_version", 1) < 2:
            raise AuditError(f"{m.name} predates the archive (manifest version 1): it cannot be compared")
    archive = Archive.of(settings)
    return diff_manifests(a, archive, b, archive, settings.dbt_target_dir / "manifest.json")
