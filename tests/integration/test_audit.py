"""Point in time, the archive and the ledger through the real pipeline (dbt, GX) on a small platform.

The session's sealed platform (three dates run once, tests/conftest.py), copied; the tests then kill a
run at every step boundary, tamper with every kind of artefact, restate a date's
loans, retire one rule and re-parameterise another, and check what ``audit verify``,
``audit rerun`` and ``audit diff`` say about each.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from regwatch import audit, pipeline, warehouse
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.files import sha256_file
from regwatch.ledger import manifests
from regwatch.ledger.archive import Archive
from tests.conftest import REPO_ROOT, SEALED_DAYS, SealedPlatform

pytestmark = pytest.mark.integration

DAYS = SEALED_DAYS


@pytest.fixture(scope="module")
def audited(sealed_platform: SealedPlatform, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy (landing/ and var/) of the session's sealed platform: DAYS run and sealed.

    The tests below change it in turn (a killed run, a restated date, a changed pack), as they
    did on a platform of their own; copying the shared one saves running three days again.
    """
    return sealed_platform.copy(tmp_path_factory.mktemp("audit"))


def _env(settings: Settings) -> dict[str, str]:
    return {
        "REGWATCH_HOME": str(settings.project_root),
        "REGWATCH_VAR": str(settings.var_dir),
        "REGWATCH_LANDING": str(settings.landing_dir),
    }


def _published(settings: Settings) -> dict[str, str]:
    root = settings.published_reports_dir
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _outputs(manifest: manifests.Manifest) -> dict[str, str]:
    return {str(o["path"]): str(o["sha256"]) for o in manifest.body["outputs"]}


def test_chain_verifies_and_every_manifest_names_its_loads(audited: Settings) -> None:
    result = manifests.verify(audited)
    assert result.ok, result.problems
    assert result.manifests == 3
    chain = [manifests.read(p) for p in manifests.manifests(audited)]
    assert [len(m.body["loads"]) for m in chain] == [1, 2, 3]  # every load of D or earlier
    for m in chain:
        assert m.body["rule_pack"]["files"] and m.body["reference_data"]
        paths = {o["path"] for o in m.body["outputs"]}
        assert {
            f"reports/{m.business_date}/daily_exceptions.html",
            f"reports/{m.business_date}/daily_exceptions.csv",
        } <= paths
        # every file the run published is sealed, and nothing else
        published = {p for p in paths if (audited.var_dir / p).is_file()}
        assert published == paths
    assert not (audited.var_dir / "staging" / chain[-1].run_id).exists()  # nothing left staged


def test_a_run_without_its_pdf_says_so(audited: Settings) -> None:
    """Settings.render_pdf False (the tests' setting, REGWATCH_NO_PDF=1): recorded, never silent.
    That such a run reruns without its PDF and reproduces is checked on the reruns of
    test_restated_date_keeps_both_loads_and_reruns_reproduce_the_old_runs (one rerun fewer)."""
    assert Settings(REPO_ROOT, audited.var_dir, audited.landing_dir).render_pdf  # production default
    for m in (manifests.read(p) for p in manifests.manifests(audited)):
        assert m.body["pdf_rendered"] is False
        assert not [o for o in m.body["outputs"] if str(o["path"]).endswith(".pdf")]


def test_diff_of_consecutive_days_names_new_deliveries_not_restatements(audited: Settings) -> None:
    """Issue 15, point 9: every file of the next day was called "restated (load None -> ...)", and a
    large-cash alert was blamed on loans.csv (a row naming the customer as a borrower)."""
    chain = [manifests.read(p) for p in manifests.manifests(audited)]
    first = next(m for m in chain if m.business_date == DAYS[0])
    second = next(m for m in chain if m.business_date == DAYS[1])
    differences = audit.diff(audited, first.run_id, second.run_id)
    assert differences.restatements == ()
    assert {d.file_name for d in differences.deliveries} >= {"loans.csv", "transactions.csv"}
    assert all(d.business_date == DAYS[1].isoformat() for d in differences.deliveries)
    text = "\n".join(differences.lines())
    assert "restated" not in text and "load None" not in text
    assert f"{DAYS[1]}/transactions.csv delivered" in text
    # A large-value exception reads transactions, accounts and FX rates: never blamed on the loan
    # book, though loans.csv rows name the same customers as borrowers. (A ring reads the loans.)
    large = [c for c in differences.changes if c.rule_id.startswith("cn.aml.large_")]
    assert large
    for change in large:
        assert not any(name in cause for cause in change.causes for name in ("loans.csv", "schedules.csv")), (
            change
        )
        assert any("transactions.csv" in cause for cause in change.causes), change
    assert all(c.causes for c in differences.changes)  # nothing UNEXPLAINED: the business date moved
    result = CliRunner().invoke(main, ["audit", "diff", first.run_id, second.run_id], env=_env(audited))
    assert result.exit_code == 0, result.output
    assert "load None" not in result.output and "restated" not in result.output


def test_killed_at_every_step_boundary_leaves_no_manifest_then_same_bytes(
    audited: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = DAYS[-1]
    sealed = manifests.find(audited, business_date=day)
    before_manifests = manifests.manifests(audited)
    before_published = _published(audited)
    # Kill after 1, 2, 3, 4, 5 steps: each time no new manifest, the published files untouched.
    # (Each step replaces what it wrote before, so the state after steps[:done] is the same
    # whether the run starts over each time or goes on one step at a time: one pass.)
    for done, step in enumerate(pipeline.STEPS[:-1], start=1):
        step(day, audited)
        assert manifests.manifests(audited) == before_manifests, f"killed after {done} steps"
        assert _published(audited) == before_published, f"killed after {done} steps"

    # Killed inside the last step, before its manifest is written.
    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(manifests, "write_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.seal_ledger(day, audited)
    monkeypatch.undo()
    assert manifests.manifests(audited) == before_manifests
    assert _published(audited) == before_published
    # Run again from the start: the same bytes as the uninterrupted run.
    pipeline.run_day(day, audited)
    again = manifests.read(manifests.manifests(audited)[-1])
    assert again.run_id == sealed.run_id
    assert _outputs(again) == _outputs(sealed)
    assert _published(audited) == before_published
    assert manifests.verify(audited).ok


def _flip(path: Path) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    return data


@pytest.mark.parametrize(
    "kind", ["input", "load record", "output", "rule-pack file", "results snapshot", "manifest", "published"]
)
def test_one_changed_byte_anywhere_is_named(audited: Settings, kind: str) -> None:
    archive = Archive.of(audited)
    manifest = manifests.read(manifests.manifests(audited)[1])
    if kind == "input":
        sha = next(i["sha256"] for i in manifest.body["inputs"] if i["file_name"] == "loans")
        target, expected = (
            archive.path(sha),
            f"input 2025-06-03/loans.csv: archive object {archive.relative(sha)}",
        )
    elif kind == "load record":
        load = manifest.body["loads"][0]
        sha = load["record_sha256"]
        target, expected = archive.path(sha), f"load record of {load['business_date']} ({load['load_id']})"
    elif kind == "output":
        sha = manifest.output("daily_exceptions.csv")["sha256"]  # type: ignore[index]
        target, expected = archive.path(sha), "output reports/2025-06-03/daily_exceptions.csv: archive object"
    elif kind == "rule-pack file":
        item = next(f for f in manifest.body["rule_pack"]["files"] if f["path"] == "_pack.yml")
        target, expected = archive.path(item["sha256"]), "rule-pack file _pack.yml"
    elif kind == "results snapshot":
        item = next(s for s in manifest.body["state"] if s["table"] == "results.exceptions")
        target, expected = archive.path(item["sha256"]), "results snapshot results.exceptions"
    elif kind == "manifest":
        last = manifests.manifests(audited)[-1]  # the head has no successor: its own digest catches it
        target, expected = last, f"{last.name}: was altered"
    else:
        target = audited.published_reports_dir / "2025-06-03" / "daily_exceptions.html"
        expected = "published reports/2025-06-03/daily_exceptions.html was altered"
    original = _flip(target)
    try:
        result = CliRunner().invoke(main, ["audit", "verify"], env=_env(audited))
        assert result.exit_code == 1
        first = result.stderr.splitlines()[0]
        assert expected in first, first
        if kind not in ("manifest", "published"):  # named by the first manifest that records it
            named_by = manifests.manifests(audited)[0 if kind in ("load record", "rule-pack file") else 1]
            assert first.startswith(f"regwatch: audit: {named_by.name}: "), first
    finally:
        target.write_bytes(original)
    assert manifests.verify(audited).ok


def _changed_pack(settings: Settings, tmp_path: Path, day: date) -> tuple[Settings, str, str]:
    """A project whose pack retires one rule that fired on ``day`` and re-parameterises another.

    The large-cash line is a pack parameter the dbt model reads (pack_param): raised a
    thousandfold, the large-cash rule stops firing; a rate-cap rule is retired on ``day``.
    """
    sealed = manifests.find(settings, business_date=day)
    listed = audit._exceptions(sealed, Archive.of(settings))  # the day's alerts, events of earlier days too
    fired = {rule for rule, key in listed if str(day) in key or not rule.startswith("cn.aml.")}
    reparameterised = "cn.aml.large_cash"
    retired = next(r for r in sorted(fired) if r.startswith("cn.rate_caps."))
    assert reparameterised in fired, f"no large-cash case of {day} itself: {sorted(listed)}"
    root = tmp_path / "project"
    root.mkdir()
    for name in ("dbt_project", "reports"):
        (root / name).symlink_to(REPO_ROOT / name)
    shutil.copytree(REPO_ROOT / "checks", root / "checks")
    pack_dir = root / "checks" / "cn"
    header = yaml.safe_load((pack_dir / "_pack.yml").read_text())
    header["parameters"]["large_cash_threshold_cny"]["value"] *= 1000
    header["parameters"]["large_cash_threshold_usd"]["value"] *= 1000
    (pack_dir / "_pack.yml").write_text(yaml.safe_dump(header, sort_keys=False, allow_unicode=True))
    family = pack_dir / "rate_caps.yml"
    body = yaml.safe_load(family.read_text())
    for rule in body["rules"]:
        if rule["id"] == retired:
            rule["valid_to"] = day
    family.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    changed = replace(settings, project_root=root, pinned_code_version=str(sealed.body["code_version"]))
    return changed, retired, reparameterised


def test_retired_and_reparameterised_rules_explain_every_change(audited: Settings, tmp_path: Path) -> None:
    """``audit rerun --rules current`` of a sealed date under a pack that retires one rule that
    fired that day and re-parameterises another: every change is explained by the pack.

    Until issue 16 the date was also run and sealed under the changed pack (one pipeline day
    more) and ``audit diff`` of the two sealed runs asserted on; the rerun's diff is the same
    comparison (``audit.diff_manifests`` of the recorded run and one made under the changed
    pack) and was asserted equal to it, so it carries the assertions now."""
    day = DAYS[1]
    old = manifests.find(audited, business_date=day)
    changed, retired, reparameterised = _changed_pack(audited, tmp_path, day)
    sealed = manifests.manifests(audited)
    # Today's pack is the changed one: `rerun --rules current` of the old run shows what it changes.
    current = audit.rerun(changed, day, old.run_id, rules="current")
    assert not current.reproduced
    differences = current.diff
    assert differences.code_change is None and not differences.restatements
    by_rule = {c.rule_id for c in differences.changes}
    assert by_rule == {retired, reparameterised}
    for change in differences.changes:
        assert change.change == "disappeared"
        assert len(change.causes) == 1
        if change.rule_id == retired:
            assert change.causes[0].startswith("rule retired: valid"), change
        else:
            assert change.causes[0].startswith(
                "rule re-parameterised: pack parameter large_cash_threshold"
            ), change
    html = current.report.read_text()
    assert "NOT reproduced" in html and "rule retired" in html
    assert manifests.manifests(audited) == sealed  # a rerun seals nothing into the ledger
    assert manifests.verify(audited).ok


def _restate_loans(settings: Settings, day: date, count: int) -> list[str]:
    """Deliver ``day`` again with ``count`` loans' upfront fee raised to 30 % of principal."""
    path = settings.landing_dir / day.isoformat() / "loans.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    restated = []
    for row in rows:
        if len(restated) < count and row["status"] == "active" and row["upfront_fee"] == "0.00":
            row["upfront_fee"] = str((Decimal(row["principal"]) * Decimal("0.30")).quantize(Decimal("0.01")))
            restated.append(row["loan_id"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue())
    return restated


def test_restated_date_keeps_both_loads_and_reruns_reproduce_the_old_runs(audited: Settings) -> None:
    first_day = DAYS[0]
    old_first = manifests.find(audited, business_date=first_day)
    old_last = manifests.find(audited, business_date=DAYS[-1])
    restated = _restate_loans(audited, first_day, 3)
    assert len(restated) == 3
    pipeline.run_day(first_day, audited)
    new_first = manifests.read(manifests.manifests(audited)[-1])
    assert new_first.run_id != old_first.run_id
    with warehouse.connect(audited.warehouse_path, read_only=True) as con:
        loads = con.execute(
            "SELECT load_id FROM raw.load_arrivals WHERE business_date = ? ORDER BY arrival_seq", [first_day]
        ).fetchall()
        kept = con.execute(
            "SELECT count(DISTINCT _load_id) FROM raw.loans WHERE _business_date = ?", [first_day]
        )
        assert kept.fetchone() == (2,)  # raw is append-only by load: both deliveries kept
    assert [row[0] for row in loads] == [
        old_first.body["loads"][0]["load_id"],
        new_first.body["loads"][0]["load_id"],
    ]

    # The filed run of the restated date still reproduces from the archive, though the landing
    # folder changed; made without its PDF (Settings.render_pdf False), it is replayed without it.
    # (That a later date's filed run reads the first delivery of a date since restated, and so
    # reproduces, is tests/e2e/test_audit_point_in_time.py: day 10 after day 1 is delivered again.
    # It was rerun here too, on old_last, until issue 16: one replay fewer.)
    assert old_last.body["pdf_rendered"] is False
    for sealed in (old_first,):
        assert sealed.body["pdf_rendered"] is False
        result = audit.rerun(audited, sealed.business_date, sealed.run_id)
        assert result.reproduced, [(c.path, c.status) for c in result.comparisons]
        assert result.report.is_file() and "REPRODUCED byte for byte" in result.report.read_text()
        assert result.rerun.body["pdf_rendered"] is False

    # And the diff names the restated file and rows for every exception that changed.
    differences = audit.diff(audited, old_first.run_id, new_first.run_id)
    appeared = {c.entity_key for c in differences.changes if c.change == "appeared"}
    assert appeared and appeared <= set(restated)
    assert not differences.unexplained
    for change in differences.changes:
        assert change.causes[0].startswith(f"input restated: {first_day}/loans.csv restated"), change
    assert [r.file_name for r in differences.restatements] == ["loans.csv"]
    assert len(differences.restatements[0].rows_changed) == 3
    result = CliRunner().invoke(
        main, ["audit", "diff", old_first.run_id, new_first.run_id], env=_env(audited)
    )
    assert result.exit_code == 0, result.output
    assert "loans.csv restated" in result.output and "UNEXPLAINED" not in result.output
    assert manifests.verify(audited).ok


def test_rerun_of_a_seal_whose_pack_the_code_now_refuses_names_the_pack(
    audited: Settings, tmp_path: Path
) -> None:
    """A run sealed under an older pack definition the code installed now refuses (issue 15).

    Before point 7 the cn pack's bad-debt rate divided written-off principal (a flow) by the
    outstanding principal (a stock); rpt_disclosure_indicators now refuses such a pack when
    it compiles. A run sealed with it is rerun with its sealed pack (restored from the
    archive by hash, not today's); since the code cannot honour that pack, the rerun exits
    2 (AuditError) with one line naming the pack and its version, not a dbt traceback.
    """
    day = DAYS[0]
    var = tmp_path / "var"
    shutil.copytree(audited.var_dir, var, ignore=shutil.ignore_patterns("audit"))
    settings = replace(audited, var_dir=var)
    sealed = manifests.find(settings, business_date=day)
    archive = Archive.of(settings)
    files = sealed.body["rule_pack"]["files"]
    header = next(f for f in files if f["path"] == "_pack.yml")
    old = yaml.safe_load(archive.get(header["sha256"]))
    old["version"] = "2026.11.9"
    old["parameters"]["bad_debt_rate"]["value"] = {
        "numerator": ["written_off_principal", "overdue_90_plus_loan_principal"],
        "denominator": "outstanding_principal",
    }
    header["sha256"] = archive.put(yaml.safe_dump(old, sort_keys=False, allow_unicode=True).encode())
    sealed.body["rule_pack"]["version"] = "2026.11.9"
    sealed.path.write_text(json.dumps(sealed.body, indent=2, sort_keys=True))
    # the rerun restores the pack as sealed, not today's
    restored = tmp_path / "project"
    audit.scratch_project(settings, manifests.find(settings, business_date=day), "recorded", restored)
    assert yaml.safe_load((restored / "checks" / "cn" / "_pack.yml").read_text())["version"] == "2026.11.9"

    result = CliRunner().invoke(
        main, ["audit", "rerun", "--business-date", day.isoformat()], env=_env(settings)
    )
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("regwatch: error: ") and "cn 2026.11.9" in line and sealed.run_id in line, line
    assert "bad_debt_rate" in line, line
    assert "Traceback" not in result.output
