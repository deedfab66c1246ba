"""Two kinds of alert over four business days of a small platform, through every pipeline step (issue 15).

Planted on day 1: a one-off critical watch-list hit (customer C1 pays a listed party once,
never again) and a loan priced at 40 % (above the 24 % and 36 % lines). Day 2 restates the
loan at 10 % (a new version of its row). The analyst decides the watch-list hit on day 4.

Observed before: the hit showed as "resolved ... the condition stopped" on day 2 because
the counterparty did not transact again, with nobody having looked at it. Now the hit is an
*event*: open, its age growing, listed under "actions due", until the decision row closes it;
the APR breach is a *condition*: the restatement resolves it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regwatch import audit, pipeline
from regwatch.alerts import alert_key
from regwatch.config import Settings
from tests.conftest import GOOD_ROWS, REPO_ROOT
from tests.helpers import deliver, query

pytestmark = pytest.mark.integration

DAYS = [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4), date(2025, 6, 5)]
WATCH = "cn.aml.watchlist_counterparty_match"
HIT = "C1|cp:6222000099998888|UN-QDi.999"
LISTED = "Karim Al-Masri"
BREACH = "L2"


def _header(name: str) -> str:
    return GOOD_ROWS[name].splitlines()[0] + "\n"


def _loan(nominal_rate: str, updated_at: str) -> str:
    return (
        f"{BREACH},C1,individual,P-EI,,false,2025-06-02,2025-06-02,10000.00,CNY,12,equal_installment,"
        f"{nominal_rate},0.00,active,,{updated_at}\n"
    )


def _cash(txn: str, day: date) -> str:
    return f"{txn},A1,{day} 11:00:00,credit,800.00,CNY,cash,,,,deposit\n"


def _landing(root: Path) -> None:
    files: dict[date, dict[str, str]] = {}
    files[DAYS[0]] = dict(GOOD_ROWS)
    files[DAYS[0]]["loans"] += _loan("0.400000", "2025-06-02 09:30:00")
    files[DAYS[0]]["transactions"] += (
        f"T-WL,A1,2025-06-02 15:00:00,debit,3000.00,CNY,transfer,6222000099998888,{LISTED},AE,consulting\n"
    )
    files[DAYS[0]]["watchlist"] = (
        "list_id,name,aliases,date_of_birth,country,list_name\n"
        f"UN-QDi.999,{LISTED},,1971-03-04,AE,UN Security Council Consolidated List\n"
    )
    for n, day in enumerate(DAYS[1:], start=2):
        files[day] = {name: _header(name) for name in GOOD_ROWS}
        files[day]["transactions"] += _cash(f"T{n}", day)
        files[day]["fx_rates"] += f"{day},USD,7.18000000\n"
    files[DAYS[1]]["loans"] += _loan("0.100000", "2025-06-03 10:00:00")  # the restatement
    for day, named in files.items():
        deliver(root, day, named)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("event_alerts")
    _landing(tmp / "landing")
    decisions = tmp / "dispositions.csv"
    decisions.write_text(
        "alert_key,decision,decided_on,until,analyst,note\n"
        f"{alert_key(WATCH, HIT)},reported,{DAYS[3]},,zhang.min,STR filed with the PBOC\n"
    )
    settings = Settings(
        project_root=REPO_ROOT,
        render_pdf=False,
        var_dir=tmp / "var",
        landing_dir=tmp / "landing",
        dispositions_file=decisions,
    )
    for day in DAYS:
        pipeline.run_day(day, settings)
    return settings


def _html(settings: Settings, day: date) -> str:
    return (settings.published_reports_dir / day.isoformat() / "daily_exceptions.html").read_text()


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_one_off_critical_watchlist_hit_stays_open_with_its_age_until_a_decision(run: Settings) -> None:
    key = alert_key(WATCH, HIT)
    fired = query(
        run, "SELECT business_date FROM results.exceptions WHERE rule_id = ? AND entity_key = ?", [WATCH, HIT]
    )
    assert fired == [(DAYS[0],)]  # the counterparty transacted once
    days = query(
        run,
        "SELECT business_date, status, kind, severity, days_open, open_since, decision FROM results.alert_days "
        "WHERE alert_key = ? ORDER BY business_date",
        [key],
    )
    assert days == [
        (DAYS[0], "new", "event", "critical", 1, DAYS[0], None),
        (DAYS[1], "open", "event", "critical", 2, DAYS[0], None),
        (DAYS[2], "open", "event", "critical", 3, DAYS[0], None),
        (DAYS[3], "resolved", "event", "critical", 0, None, "reported"),
    ]
    # while undecided it is on top of the report, with its age; closed, it says by whom
    for n in (1, 2):
        due = _section(_html(run, DAYS[n]), "actions-due")
        assert key in due and f"{n + 1} business days, since {DAYS[0]}" in due
        assert key not in _section(_html(run, DAYS[n]), "resolved")
        assert key in _section(_html(run, DAYS[n]), "alerts")
    closed = _html(run, DAYS[3])
    assert key not in _section(closed, "actions-due")
    resolved = _section(closed, "resolved")
    assert "Events closed by a decision" in resolved and key in resolved and "reported" in resolved
    assert "zhang.min" in resolved


def test_apr_breach_cured_by_a_restatement_resolves_by_itself(run: Settings) -> None:
    rows = query(
        run,
        "SELECT rule_id, business_date, status, kind FROM results.alert_days WHERE entity_key = ? "
        "ORDER BY rule_id, business_date",
        [BREACH],
    )
    rules = {r[0] for r in rows}
    assert "cn.rate_caps.real_apr_above_comprehensive_cap" in rules
    for rule in rules:
        assert [r[1:] for r in rows if r[0] == rule] == [
            (DAYS[0], "new", "condition"),
            (DAYS[1], "resolved", "condition"),
        ], rule
    cured = _section(_html(run, DAYS[1]), "resolved")
    assert alert_key("cn.rate_caps.real_apr_above_comprehensive_cap", BREACH) in cured
    assert "the condition stopped" in cured and "Events closed by a decision" not in cured


def test_report_csv_and_alert_list_carry_the_open_event(run: Settings) -> None:
    key = alert_key(WATCH, HIT)
    csv_text = (run.published_reports_dir / DAYS[2].isoformat() / "daily_exceptions.csv").read_text()
    line = next(row for row in csv_text.splitlines() if key in row)
    assert ",open," in line and f",{DAYS[0]},{DAYS[0]},3," in line  # open since, last fired, age
    evidence = query(
        run,
        "SELECT evidence FROM results.alert_days WHERE alert_key = ? AND business_date = ?",
        [key, DAYS[2]],
    )
    assert json.loads(str(evidence[0][0]))["listed_name"] == LISTED


def test_audit_rerun_of_a_day_with_the_event_open_reproduces_after_the_decision(run: Settings) -> None:
    """Alert state is carried day to day: day 3 (the hit open, age 3) rebuilt from the archive
    after day 4's decision closed it gives the sealed bytes."""
    result = audit.rerun(run, DAYS[2])
    assert result.reproduced, result.summary
    assert any(c.path.endswith("daily_exceptions.html") for c in result.comparisons)
