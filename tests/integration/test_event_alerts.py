"""Two kinds of alert over four business days, through every pipeline step (issue 15).

Planted on day 1: a one-off critical watch-list hit (a customer pays a listed party once,
never again) and a loan priced at 40 % (above the 24 % and 36 % lines). Day 2 restates the
loan at 10 % (a new version of its row). The analyst decides the watch-list hit on day 4.

Observed before: the hit showed as "resolved ... the condition stopped" on day 2 because
the counterparty did not transact again, with nobody having looked at it. Now the hit is an
*event*: open, its age growing, listed under "actions due", until the decision row closes it;
the APR breach is a *condition*: the restatement resolves it.

Since issue 16 both are planted on the session's e2e platform (tests/conftest.py: a customer of
their own, ``EVENT_CUSTOMER``, in the landing files and the decisions file of the week run once
per session), read only here: they had four days of a small platform of their own. The e2e
week has a fifth day; the first four are this test's.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from regwatch.alerts import alert_key
from regwatch.config import Settings
from tests.conftest import (
    CURED_LOAN,
    E2E_DAYS,
    EVENT_HIT,
    EVENT_LISTED,
    EVENT_RULE,
    REPO_ROOT,
    SUPPRESSED_UNTIL,
    E2EPlatform,
    E2ERerun,
)
from tests.helpers import query

pytestmark = pytest.mark.integration

DAYS = list(E2E_DAYS[:4])
WATCH = EVENT_RULE
HIT = EVENT_HIT
LISTED = EVENT_LISTED
BREACH = CURED_LOAN


@pytest.fixture(scope="module")
def run(e2e_platform: E2EPlatform) -> Settings:
    """The session's e2e platform (its days run with the decisions file), read only."""
    return Settings(
        project_root=REPO_ROOT,
        render_pdf=False,
        var_dir=e2e_platform.var,
        landing_dir=e2e_platform.landing,
        dispositions_file=e2e_platform.decisions,
    )


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


def test_audit_rerun_of_a_day_with_the_event_open_reproduces_after_the_decision(
    run: Settings, e2e_rerun: E2ERerun
) -> None:
    """Alert state is carried day to day: day 3 (the hit open, age 3) rebuilt from the archive
    after day 4's decision closed it gives the sealed bytes. The replay is the session's
    (tests/conftest.py ``e2e_rerun``, shared with test_daily_report, which withdrew every
    decision before it: the rerun reads the decisions as they were sealed)."""
    assert DAYS[2] == SUPPRESSED_UNTIL
    open_then = query(
        run,
        "SELECT status, days_open FROM results.alert_days WHERE alert_key = ? AND business_date = ?",
        [alert_key(WATCH, HIT), DAYS[2]],
    )
    assert open_then == [("open", 3)]
    assert e2e_rerun.exit_code == 0, e2e_rerun.output
    assert "REPRODUCED byte for byte" in e2e_rerun.output
    compared = [line.split() for line in e2e_rerun.output.splitlines() if line.startswith("  ")]
    html = f"reports/{DAYS[2]}/daily_exceptions.html"
    assert ["identical", html] in compared, e2e_rerun.output
