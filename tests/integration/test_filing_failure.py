"""A filing problem never stops AML monitoring (issue 14, point 3).

A month-closing business date (Monday 2025-06-30 closes June) on a platform with no
loans yet - accounts and transactions only - used to fail the run: the indicators were
NULL, the filing JSON broke its schema (exit 2), the date's AML results were never
sealed and the later dates of ``--from/--to`` did not run. Now an empty platform files
zeros with their definitions; and a filing that fails anyway is reported loudly (a red
line in the daily report, one line on stderr, exit 1 at the end) while the date's AML
results are sealed and published and the next dates run.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch import cli, pipeline
from regwatch.config import Settings
from regwatch.reporting.filing import FilingError, validate_document
from tests.conftest import GOOD_ROWS, REPO_ROOT

pytestmark = pytest.mark.integration

CLOSING = date(2025, 6, 30)  # Monday: closes June (and 2025Q2)
NEXT = date(2025, 7, 1)
LOAN_FILES = ("loans", "schedules", "repayments", "fundings")


def _land(landing: Path, day: date) -> None:
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in GOOD_ROWS.items():
        # no loans yet: the loan-side files carry their header only
        data = text.splitlines(keepends=True)[0] if name in LOAN_FILES else text
        (folder / f"{name}.csv").write_text(data, encoding="utf-8")


@pytest.fixture(scope="module")
def empty_platform(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("empty_platform")
    _land(tmp / "landing", CLOSING)
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    pipeline.run_day(CLOSING, settings)  # FilingError (exit 2) before the fix
    return settings


def test_an_empty_platform_files_zeros_with_their_definitions(empty_platform: Settings) -> None:
    for period in ("2025-06", "2025Q2"):
        folder = empty_platform.reports_dir / "filings" / period
        document = json.loads((folder / "disclosure_indicators.json").read_text(encoding="utf-8"))
        validate_document(document, empty_platform)
        assert document["status"] == "final"
        totals = {i["id"]: i for i in document["indicators"] if i["breakdown"] == "total"}
        for name in (
            "cumulative_loan_amount",
            "outstanding_principal",
            "overdue_amount",
            "compensated_amount",
        ):
            assert totals[name]["value"] == "0.00", name
        for name in ("cumulative_loan_count", "outstanding_loan_count", "overdue_loan_count"):
            assert totals[name]["value"] == "0", name
        for name in ("project_overdue_rate", "amount_overdue_rate", "bad_debt_rate"):
            rate = totals[name]
            assert (rate["numerator"], rate["denominator"]) == ("0", "0"), name
            assert rate["definition"] and rate["numerator_definition"] and rate["denominator_definition"]
        assert all(i["definition"] for i in document["indicators"])
    manifests = list((empty_platform.var_dir / "ledger").glob("*_2025-06-30_*.json"))
    assert len(manifests) == 1  # the date's results are sealed


def test_a_failing_filing_still_seals_the_aml_results_and_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    for day in (CLOSING, NEXT):
        _land(landing, day)

    def broken(document: dict[str, object], settings: Settings) -> None:
        raise FilingError("filing JSON breaks filing_disclosure.schema.json at indicators/0/value: planted")

    monkeypatch.setattr("regwatch.reporting.filing.validate_document", broken)
    monkeypatch.setenv("REGWATCH_HOME", str(REPO_ROOT))
    monkeypatch.setenv("REGWATCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGWATCH_LANDING", str(landing))
    monkeypatch.delenv("REGWATCH_PACK", raising=False)
    result = CliRunner().invoke(cli.main, ["run", "--from", "2025-06-30", "--to", "2025-07-01"])
    assert result.exit_code == 1, result.output
    assert "filing 2025-06 of 2025-06-30 FAILED" in result.stderr
    assert "planted" in result.stderr
    reports = tmp_path / "var" / "reports"
    # the closing date's AML results are sealed and published, and the next date ran
    for day in (CLOSING, NEXT):
        assert (reports / day.isoformat() / "daily_exceptions.html").is_file()
        assert (reports / day.isoformat() / "large_value_transactions.json").is_file()
        assert len(list((tmp_path / "var" / "ledger").glob(f"*_{day.isoformat()}_*.json"))) == 1
    # no half-made filing is published
    assert not (reports / "filings" / "2025-06").exists()
    # the daily report of the closing date says so in red, above everything else
    html = (reports / CLOSING.isoformat() / "daily_exceptions.html").read_text(encoding="utf-8")
    assert 'id="filing-failures"' in html
    assert html.index('id="filing-failures"') < html.index('id="summary"')
    assert "2025-06" in html and "planted" in html
    assert 'id="filing-failures"' not in (reports / NEXT.isoformat() / "daily_exceptions.html").read_text(
        encoding="utf-8"
    )
