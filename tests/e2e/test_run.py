"""`regwatch run` end to end on a generated platform, as a user runs it."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from regwatch.cli import main
from regwatch.demo import generate
from tests.conftest import DAY, REPO_ROOT
from tests.unit.test_ingest import BAD_LOANS

pytestmark = pytest.mark.e2e

START, END = date(2025, 6, 2), date(2025, 6, 6)

ALL_RULES = {
    "cn.aml.large_cash",
    "cn.rate_caps.real_apr_above_comprehensive_cap",
    "cn.rate_caps.private_lending_above_court_cap",
    "cn.rate_caps.real_apr_above_void_line",
    "cn.rate_caps.overdue_charges_above_cap",
}


def _env(tmp: Path, landing: Path) -> dict[str, str]:
    return {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(tmp / "var"),
        "REGWATCH_LANDING": str(landing),
    }


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def platform_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("e2e")
    landing = tmp / "landing"
    generate(landing, START, END, loans=400, accounts=250, seed=11)
    env = _env(tmp, landing)
    result = CliRunner().invoke(main, ["run", "--from", str(START), "--to", str(END)], env=env)
    assert result.exit_code == 0, result.output
    return tmp, landing, env


def test_every_planted_violation_and_nothing_else(platform_run: tuple[Path, Path, dict[str, str]]) -> None:
    tmp, landing, _ = platform_run
    with (landing / "_truth" / "planted.csv").open(newline="") as handle:
        truth = {(r["rule_id"], r["entity_key"]) for r in csv.DictReader(handle)}
    con = duckdb.connect(str(tmp / "var" / "warehouse.duckdb"), read_only=True)
    found = set(con.execute("SELECT DISTINCT rule_id, entity_key FROM results.exceptions").fetchall())
    con.close()
    assert {rule for rule, _ in truth} == ALL_RULES
    assert found == truth
    with (landing / "_truth" / "near_misses.csv").open(newline="") as handle:
        near = {(r["rule_id"], r["entity_key"]) for r in csv.DictReader(handle)}
    assert near and not near & found


def test_reports_list_the_exceptions_of_their_day(platform_run: tuple[Path, Path, dict[str, str]]) -> None:
    tmp, _, _ = platform_run
    con = duckdb.connect(str(tmp / "var" / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT entity_key FROM results.exceptions WHERE business_date = ?", [END]).fetchall()
    con.close()
    html = (tmp / "var" / "reports" / END.isoformat() / "daily_exceptions.html").read_text()
    with (tmp / "var" / "reports" / END.isoformat() / "daily_exceptions.csv").open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    # one CSV row per alert of the day: every exception firing today, plus the alerts resolved today
    firing = [r for r in csv_rows if r["status"] != "resolved"]
    assert rows and len(firing) == len(rows)
    assert {r["entity_key"] for r in firing} == {entity_key for (entity_key,) in rows}
    for (entity_key,) in rows:
        assert entity_key in html


def test_rerun_gives_identical_bytes_and_no_duplicates(
    platform_run: tuple[Path, Path, dict[str, str]],
) -> None:
    tmp, _, env = platform_run
    folder = tmp / "var" / "reports" / START.isoformat()
    before = _digest(folder)
    con = duckdb.connect(str(tmp / "var" / "warehouse.duckdb"), read_only=True)
    count_before = con.execute("SELECT count(*) FROM results.exceptions").fetchone()
    con.close()
    result = CliRunner().invoke(main, ["run", "--business-date", str(START)], env=env)
    assert result.exit_code == 0, result.output
    assert _digest(folder) == before
    con = duckdb.connect(str(tmp / "var" / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM results.exceptions").fetchone() == count_before
    duplicates = con.execute(
        "SELECT count(*) FROM (SELECT business_date, rule_id, entity_key FROM results.exceptions "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    con.close()
    assert duplicates == (0,)


def test_rules_evaluate_scores_perfectly(platform_run: tuple[Path, Path, dict[str, str]]) -> None:
    _, _, env = platform_run
    result = CliRunner().invoke(main, ["rules", "evaluate"], env=env)
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()[1:]]
    assert {line[0] for line in lines} == ALL_RULES
    for line in lines:
        assert line[-2:] == ["1.000", "1.000"], result.output


def test_bad_rows_next_to_good_ones(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    bad_rows = b"".join(row for row, _, _ in BAD_LOANS.values())
    landing = make_landing(extra={"loans": bad_rows, "fx_rates": b"2025-06-02,EUR\n"})
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAY)], env=_env(tmp_path, landing))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "var" / "reports" / DAY.isoformat() / "daily_exceptions.html").read_text()
    for _, _, reason in BAD_LOANS.values():
        assert reason in html, reason
    assert "malformed record: 2 fields, header has 3" in html
    # reconciliation: loans 9 read = 1 loaded + 8 quarantined; the good rows still count
    assert "<td>2025-06-02/loans.csv</td>" in html and "balanced" in html and "NOT balanced" not in html
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM results.load_log WHERE file_name = 'loans'"
    ).fetchone() == (9, 1, 8)
    con.close()
    assert "cn.aml.large_cash" in html  # the good 50,000.00 cash deposit still fires


def test_missing_loans_file_is_one_clear_line(make_landing: Callable[..., Path], tmp_path: Path) -> None:
    landing = make_landing(omit=("loans",))
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAY)], env=_env(tmp_path, landing))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"regwatch: error: missing required input file loans for {DAY} in {landing / DAY.isoformat()}"
    ]
    assert not (tmp_path / "var" / "reports").exists()
