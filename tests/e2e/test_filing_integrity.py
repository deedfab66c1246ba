"""Filing integrity (issue 15 point 6) on a platform run under the ``us`` pack.

A filing uses the rule pack recorded for the run it is filed from, never the one the
environment names; a sealed filing is never written over with different bytes (a new
version goes to a new folder, sealed with its reason); a provisional filing is sealed
like any other output, so editing it fails ``audit verify``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch import pipeline, warehouse
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.files import sha256_file
from regwatch.ledger import manifests
from regwatch.reporting.filing import folder_for
from regwatch.rules import load_pack
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

FIRST, CLOSE = date(2025, 6, 27), date(2025, 6, 30)


@pytest.fixture(scope="module")
def us_platform(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Fri 2025-06-27 and Mon 2025-06-30 (closes June and Q2), both run and sealed under the us pack."""
    from regwatch.demo import generate

    tmp = tmp_path_factory.mktemp("filing_us")
    generate(tmp / "landing", FIRST, CLOSE, loans=120, accounts=80, seed=9)
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing", pack="us"
    )
    for day in (FIRST, CLOSE):
        pipeline.run_day(day, settings)
    return settings


def _copy(settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the platform's var/ (warehouse, archive, ledger, published reports)."""
    shutil.copytree(settings.var_dir, tmp_path / "var")
    return replace(settings, var_dir=tmp_path / "var")


def _env(settings: Settings, pack: str | None = "cn") -> dict[str, str | None]:
    return {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(settings.var_dir),
        "REGWATCH_LANDING": str(settings.landing_dir),
        "REGWATCH_PACK": pack,
    }


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _sealed(settings: Settings, folder: str) -> dict[str, str]:
    """The latest sealed sha256 of every file under reports/filings/<folder>/."""
    latest: dict[str, str] = {}
    for path in manifests.manifests(settings):
        for item in manifests.read(path).body["outputs"]:
            if str(item["path"]).startswith(f"reports/filings/{folder}/"):
                latest[str(item["path"]).rsplit("/", 1)[1]] = str(item["sha256"])
    return latest


@pytest.mark.parametrize("env_pack", ["cn", None])
def test_refiling_a_us_run_uses_its_recorded_pack_and_keeps_the_seal(
    us_platform: Settings, tmp_path: Path, env_pack: str | None
) -> None:
    settings = _copy(us_platform, tmp_path)
    sealed = _sealed(settings, "2025Q2")
    assert sealed == _hashes(folder_for(settings, "2025Q2"))
    result = CliRunner().invoke(main, ["filing", "--period", "2025Q2"], env=_env(settings, env_pack))
    assert result.exit_code == 0, result.output
    assert _hashes(folder_for(settings, "2025Q2")) == sealed
    document = json.loads((folder_for(settings, "2025Q2") / "disclosure_indicators.json").read_text())
    us = load_pack(REPO_ROOT / "checks" / "us")
    assert document["run"]["pack"] == "us"
    assert document["rate_definitions"]["project_overdue_rate"]["value"] == (
        us.parameters["project_overdue_rate"].value
    )
    verified = CliRunner().invoke(main, ["audit", "verify"], env=_env(settings, env_pack))
    assert verified.exit_code == 0, verified.output
    assert "identical to the sealed filing" in result.output


def test_a_filing_that_differs_from_the_sealed_one_is_refused_then_versioned_with_its_reason(
    us_platform: Settings, tmp_path: Path
) -> None:
    settings = _copy(us_platform, tmp_path)
    sealed = _hashes(folder_for(settings, "2025-06"))
    with warehouse.connect(settings.warehouse_path) as con:  # the warehouse moved on after the seal
        con.execute(
            "UPDATE reporting.rpt_disclosure_indicators SET value = value + 1 "
            "WHERE business_date = ? AND period_id = '2025-06' AND indicator_id = 'outstanding_loan_count'",
            [CLOSE],
        )
    refused = CliRunner().invoke(main, ["filing", "--period", "2025-06"], env=_env(settings))
    assert refused.exit_code == 2, refused.output
    assert "sealed" in refused.output and "--reason" in refused.output
    assert "disclosure_indicators.json" in refused.output
    assert _hashes(folder_for(settings, "2025-06")) == sealed
    assert not (settings.reports_dir / "filings" / "2025-06_v2").exists()
    chain = len(manifests.manifests(settings))

    reason = "outstanding loan count restated after the seal"
    filed = CliRunner().invoke(
        main, ["filing", "--period", "2025-06", "--reason", reason], env=_env(settings)
    )
    assert filed.exit_code == 0, filed.output
    version = settings.reports_dir / "filings" / "2025-06_v2"
    assert "2025-06_v2" in filed.output
    assert _hashes(folder_for(settings, "2025-06")) == sealed  # the first version is untouched
    assert _hashes(version) == _sealed(settings, "2025-06_v2")
    assert len(manifests.manifests(settings)) == chain + 1
    manifest = manifests.read(manifests.manifests(settings)[-1])
    assert manifest.body["filing"]["reason"] == reason
    assert manifest.body["filing"]["folder"] == "filings/2025-06_v2"
    assert manifest.body["filing"]["supersedes"] == "filings/2025-06"
    assert manifest.body["rule_pack"]["name"] == "us"
    assert manifest.body["filing"]["run_manifest"] == manifests.find(settings, business_date=CLOSE).name
    assert manifests.verify(settings).ok, manifests.verify(settings).problems
    # A filing manifest is not a run: the date's run is still the one audit finds, and the
    # next run's check of the warehouse against the ledger head looks past it.
    assert manifests.find(settings, business_date=CLOSE).body.get("filing") is None
    from regwatch.ledger.consistency import problems

    assert problems(settings) == []


def test_a_provisional_filing_is_sealed_and_an_edit_fails_verify(
    us_platform: Settings, tmp_path: Path
) -> None:
    settings = _copy(us_platform, tmp_path)
    with warehouse.connect(settings.warehouse_path) as con:  # as if only 2025-06-27 had been run
        con.execute("DELETE FROM reporting.rpt_disclosure_indicators WHERE business_date = ?", [CLOSE])
    filed = CliRunner().invoke(main, ["filing", "--period", "2025-06", "--provisional"], env=_env(settings))
    assert filed.exit_code == 0, filed.output
    folder = folder_for(settings, "2025-06", provisional=True)
    assert _hashes(folder) == _sealed(settings, "2025-06_provisional")
    document = json.loads((folder / "disclosure_indicators.json").read_text())
    assert document["status"] == "provisional" and document["run"]["pack"] == "us"
    assert manifests.verify(settings).ok
    again = CliRunner().invoke(main, ["filing", "--period", "2025-06", "--provisional"], env=_env(settings))
    assert again.exit_code == 0 and "identical to the sealed filing" in again.output

    html = folder / "disclosure_indicators.html"
    html.write_text(html.read_text().replace("PROVISIONAL", "FINAL"))
    verified = CliRunner().invoke(main, ["audit", "verify"], env=_env(settings))
    assert verified.exit_code == 1
    assert "filings/2025-06_provisional/disclosure_indicators.html was altered" in verified.output


def test_the_us_filing_cites_us_law_not_pboc_or_cbrc(us_platform: Settings) -> None:
    """Issue 15, point 9: the us filing cited PBOC and CBRC; its citations come from the pack."""
    folder = folder_for(us_platform, "2025Q2")
    for name in ("disclosure_indicators.html", "disclosure_indicators.json", "disclosure_indicators.csv"):
        text = (folder / name).read_text(encoding="utf-8")
        for cn in ("PBOC", "CBRC", "T/NIFA", "art. 10("):
            assert cn not in text, (name, cn)
    document = json.loads((folder / "disclosure_indicators.json").read_text())
    apr = next(i for i in document["indicators"] if i["id"] == "real_apr_weighted_mean")
    assert "Regulation Z, 12 CFR 1026.22" in apr["definition"]
    assert "no US rule prescribes this disclosure" in (folder / "disclosure_indicators.html").read_text()


def test_a_pack_changed_since_the_run_is_taken_from_the_archive(
    us_platform: Settings, tmp_path: Path
) -> None:
    """checks/us edited after the run: the filing still uses the pack files the run's manifest archived."""
    from regwatch.reporting.filing import seal_filing

    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__")
    for name in ("dbt_project", "reports", "checks"):
        shutil.copytree(REPO_ROOT / name, project / name, ignore=ignore)
    header = project / "checks" / "us" / "_pack.yml"
    header.write_text(header.read_text().replace("delinquent loans over loans outstanding", "EDITED SINCE"))
    settings = replace(_copy(us_platform, tmp_path), project_root=project)
    result = seal_filing(settings, "2025Q2")
    assert result.status == "identical", result.note
    document = json.loads((folder_for(settings, "2025Q2") / "disclosure_indicators.json").read_text())
    assert "EDITED SINCE" not in json.dumps(document)
