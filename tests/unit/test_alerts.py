"""Alert lifecycle across days, the decisions file, and AML alerts gathered per customer and day.

The warehouse is filled by hand (run_log + exceptions per day) so every case is visible
in the test: what fired on which day, and what the snapshot must say.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from regwatch import alerts, warehouse
from regwatch.alerts import alert_key, read_decisions, store_decisions
from regwatch.config import Settings
from tests.conftest import examples

START = date(2025, 6, 2)
RATE = "cn.rate_caps.real_apr_above_comprehensive_cap"
CASH = "cn.aml.large_cash"
WATCH = "cn.aml.watchlist_counterparty_match"
#: the demo's one-off counterparty hit (issue 15): a party of customer C1 against list entry L-001
HIT = "C1|cp:6222020200112233|L-001"
LATER_AML = "cn.aml.rapid_in_out"  # a rule another domain owner adds later: grouping must hold


def business_days(n: int) -> list[date]:
    days, day = [], START
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


DAYS = business_days(10)
HEADER = "alert_key,decision,decided_on,until,analyst,note\n"


def _exception(con: duckdb.DuckDBPyConnection, day: date, rule_id: str, entity: str, **evidence: Any) -> None:
    severity = "critical" if rule_id.startswith("cn.rate_caps") or "watchlist" in rule_id else "high"
    con.execute(
        "INSERT INTO results.exceptions VALUES (?, ?, ?, ?, 'basis', 'model', ?, ?, ?)",
        [f"run-{day}", day, rule_id, severity, entity, f"{rule_id} on {entity}", json.dumps(evidence)],
    )


def _run_days(
    settings: Settings,
    fired: dict[date, list[tuple[str, str]]],
    decisions: str | None = None,
    days: list[date] = DAYS,
    kinds: dict[str, str] | None = None,
) -> dict[date, dict[str, str]]:
    """Record each day's run and exceptions, read the decisions, update the alerts; status per entity."""
    path = settings.dispositions_path
    if decisions is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + decisions)
    statuses: dict[date, dict[str, str]] = {}
    with warehouse.connect(settings.warehouse_path) as con:
        for day in days:
            with warehouse.transaction(con):
                warehouse.delete_partition(con, "results.run_log", day)
                con.execute(
                    "INSERT INTO results.run_log VALUES (?, ?, 'cn', 'v', 'p', 'c', 'i')", [f"run-{day}", day]
                )
                warehouse.delete_partition(con, "results.exceptions", day)
                for rule_id, entity in fired.get(day, []):
                    customer = entity.split("|")[0]
                    _exception(con, day, rule_id, entity, customer_id=customer, transaction_ids="T1,T2")
                store_decisions(con, read_decisions(path, day), day)
                if kinds is None:  # the family defaults (aml: event)
                    alerts.update(con, day, f"run-{day}")
                else:
                    alerts.update(con, day, f"run-{day}", kinds)
            statuses[day] = dict(
                con.execute(
                    "SELECT entity_key, status FROM results.alert_days WHERE business_date = ?", [day]
                ).fetchall()
            )
    return statuses


def test_lifecycle_once_persisting_and_suppressed(settings: Settings) -> None:
    fired: dict[date, list[tuple[str, str]]] = {day: [] for day in DAYS}
    fired[DAYS[2]].append((CASH, "C1|2025-06-04|credit"))  # planted once
    for day in DAYS[1:6]:
        fired[day].append((RATE, "L-PERSIST"))  # persists five days, then stops
    for day in DAYS:
        fired[day].append((RATE, "L-FP"))  # fires every day; a false positive until day 5
    fp = alert_key(RATE, "L-FP")
    decisions = f"{fp},false_positive,{DAYS[1]},{DAYS[4]},li.na,pricing confirmed by contract amendment\n"
    status = _run_days(settings, fired, decisions)

    # a customer-day AML alert is an event: it waits for a decision (issue 15), it never "resolves"
    once = [status[d].get("C1|2025-06-04|credit") for d in DAYS]
    assert once == [None, None, "new", *["open"] * 7]
    persist = [status[d].get("L-PERSIST") for d in DAYS]
    assert persist == [None, "new", "open", "open", "open", "open", "resolved", None, None, None]
    suppressed = [status[d].get("L-FP") for d in DAYS]
    assert suppressed == ["new", *["suppressed"] * 4, *["open"] * 5]

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        back = con.execute(
            "SELECT business_date, previous_status, open_since, days_open, decision, decision_until "
            "FROM results.alert_days WHERE alert_key = ? AND business_date = ?",
            [fp, DAYS[5]],
        ).fetchone()
        assert back == (DAYS[5], "suppressed", DAYS[0], 6, "false_positive", DAYS[4])
        log = con.execute(
            "SELECT returned_alerts FROM results.alert_log WHERE business_date = ?", [DAYS[5]]
        ).fetchone()
        assert log == (1,)
        # results.alerts: one row per rule and entity with its latest state
        current = dict(con.execute("SELECT entity_key, status FROM results.alerts").fetchall())
        assert current == {"C1|2025-06-04|credit": "open", "L-PERSIST": "resolved", "L-FP": "open"}
        first_last = con.execute(
            "SELECT first_seen, last_seen, resolved_on FROM results.alerts WHERE entity_key = 'L-PERSIST'"
        ).fetchone()
        assert first_last == (DAYS[1], DAYS[5], DAYS[6])


def test_recurrence_is_new_again_and_keeps_first_seen(settings: Settings) -> None:
    fired = {DAYS[0]: [(RATE, "L1")], DAYS[1]: [(RATE, "L1")], DAYS[3]: [(RATE, "L1")]}
    status = _run_days(settings, fired, days=DAYS[:5])
    assert [status[d].get("L1") for d in DAYS[:5]] == ["new", "open", "resolved", "new", "resolved"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        row = con.execute(
            "SELECT first_seen, open_since, days_seen FROM results.alert_days "
            "WHERE entity_key = 'L1' AND business_date = ?",
            [DAYS[3]],
        ).fetchone()
    assert row == (DAYS[0], DAYS[3], 3)


def test_rerun_of_a_day_gives_the_same_snapshot(settings: Settings) -> None:
    fired = {d: [(RATE, "L1"), (CASH, f"C1|{d}|credit")] for d in DAYS[:4]}
    _run_days(settings, fired, days=DAYS[:4])

    def snapshot() -> list[tuple[Any, ...]]:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute(
                "SELECT * FROM results.alert_days ORDER BY business_date, alert_key"
            ).fetchall()

    before = snapshot()
    _run_days(settings, fired, days=[DAYS[1]])  # rerun an earlier date after later ones
    assert snapshot() == before


def test_customer_day_alert_gathers_every_aml_rule_including_later_ones(settings: Settings) -> None:
    day = DAYS[0]
    fired = {
        day: [
            (CASH, "C7|2025-06-02|credit"),
            (CASH, "C7|2025-06-02|debit"),
            (LATER_AML, "C7|2025-06-02"),
            (CASH, "C8|2025-06-02|credit"),
            (RATE, "L1"),  # not AML: no customer alert
        ]
    }
    _run_days(settings, fired, days=[day, DAYS[1]])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT customer_id, severity, rule_count, alert_count, rule_ids, alert_keys "
            "FROM results.customer_alerts WHERE business_date = ? ORDER BY customer_id",
            [day],
        ).fetchall()
        tomorrow = con.execute(
            "SELECT count(*) FROM results.customer_alerts WHERE business_date = ?", [DAYS[1]]
        ).fetchone()
    c7_keys = [
        alert_key(CASH, "C7|2025-06-02|credit"),
        alert_key(CASH, "C7|2025-06-02|debit"),
        alert_key(LATER_AML, "C7|2025-06-02"),
    ]
    assert rows[0][:5] == ("C7", "high", 2, 3, f"{CASH},{LATER_AML}")
    assert sorted(rows[0][5].split(",")) == sorted(c7_keys)
    assert rows[1][:4] == ("C8", "high", 1, 1)
    assert tomorrow == (0,)


def test_alert_key_is_the_same_in_python_and_sql() -> None:
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {alerts.ALERT_KEY_SQL} FROM (SELECT ? AS rule_id, ? AS entity_key)", [RATE, "L|1"]
    ).fetchone()
    assert got == (alert_key(RATE, "L|1"),)


INVALID = {
    "AL-xyz,false_positive,2025-06-02,2025-06-05,li,n": "is not an alert key",
    "{key},ignore,2025-06-02,,li,n": "unknown decision 'ignore'",
    "{key},escalated,02/06/2025,,li,n": "decided_on '02/06/2025' is not a date",
    "{key},escalated,2025-06-02,soon,li,n": "until 'soon' is not a date",
    "{key},false_positive,2025-06-02,,li,n": "needs an until date: suppressions expire",
    "{key},suppressed,2025-06-04,2025-06-03,li,n": "until 2025-06-03 is before decided_on 2025-06-04",
    "{key},reported,2025-06-02,,,STR filed": "analyst is missing",
    "{key},suppressed,2025-06-02,2025-06-05,li,": "needs a note saying why",
    "{key},escalated,2025-06-02,,li": "malformed record: 5 fields, header has 6",
}


def test_every_invalid_decision_row_is_reported_with_its_reason(tmp_path: Path) -> None:
    key = alert_key(RATE, "L1")
    good = f"{key},escalated,2025-06-02,,wang.wei,sent to the second line"
    lines = [good, *(line.format(key=key) for line in INVALID), good]
    path = tmp_path / "d.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    load = read_decisions(path, date(2025, 6, 6))
    problems = [r.problem for r in load.rows]
    assert problems[0] is None
    for problem, expected in zip(problems[1:-1], INVALID.values(), strict=True):
        assert problem is not None and expected in problem, (problem, expected)
    assert problems[-1] == "duplicate of row 1"
    assert load.rows_read == len(lines) and load.rows_invalid == len(lines) - 1


def test_decisions_in_scope_and_their_hash(tmp_path: Path) -> None:
    key = alert_key(RATE, "L1")
    path = tmp_path / "d.csv"
    path.write_text(HEADER + f"{key},escalated,2025-06-03,,li,first\n")
    assert read_decisions(path, date(2025, 6, 2)).rows == ()  # decided later: not in scope yet
    assert read_decisions(path, date(2025, 6, 2)).sha256 == ""
    before = read_decisions(path, date(2025, 6, 3)).sha256
    # a later decision does not change an earlier date's identity; an earlier one does
    path.write_text(HEADER + f"{key},escalated,2025-06-03,,li,first\n{key},reported,2025-06-09,,li,STR\n")
    assert read_decisions(path, date(2025, 6, 3)).sha256 == before
    assert read_decisions(path, date(2025, 6, 9)).sha256 != before
    assert read_decisions(tmp_path / "absent.csv", date(2025, 6, 3)).exists is False
    path.write_text("alert_key,decision\n" + f"{key},escalated\n")
    only = read_decisions(path, date(2025, 6, 3)).rows
    assert len(only) == 1 and only[0].problem is not None and "lacks column(s) decided_on" in only[0].problem


def test_unknown_alert_key_is_invalid(settings: Settings) -> None:
    ghost = alert_key(RATE, "NO-SUCH-LOAN")
    _run_days(settings, {DAYS[0]: [(RATE, "L1")]}, f"{ghost},escalated,{DAYS[0]},,li,typo\n", days=DAYS[:1])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        problem = con.execute("SELECT problem FROM results.dispositions").fetchone()
    assert problem == (f"no alert {ghost} has been seen up to {DAYS[0]}",)


@hsettings(max_examples=examples(full=8, fast=3), deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=4))
def test_status_follows_firing_pattern(
    tmp_path_factory: pytest.TempPathFactory, patterns: list[list[bool]]
) -> None:
    """Property: for any firing pattern, new/open/resolved follow from firing today vs the day before."""
    tmp = tmp_path_factory.mktemp("prop")
    settings = Settings(project_root=Path(__file__).resolve().parents[2], var_dir=tmp, landing_dir=tmp)
    days = DAYS[:6]
    fired = {d: [(RATE, f"L{n}") for n, p in enumerate(patterns) if p[i]] for i, d in enumerate(days)}
    status = _run_days(settings, fired, days=days)
    for n, pattern in enumerate(patterns):
        for i, day in enumerate(days):
            before = pattern[i - 1] if i else False
            expected = ("open" if before else "new") if pattern[i] else ("resolved" if before else None)
            assert status[day].get(f"L{n}") == expected, (n, i, pattern)


# --------------------------------------------------------------------------- event alerts (issue 15)


def _days_open(settings: Settings, entity: str) -> dict[date, tuple[str, int, date | None, str | None]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT business_date, status, days_open, open_since, kind FROM results.alert_days "
            "WHERE entity_key = ? ORDER BY business_date",
            [entity],
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def test_one_off_watchlist_hit_stays_open_with_its_age_until_a_decision_closes_it(settings: Settings) -> None:
    """The demo's AL-0a723be0fb79: new on one day, "resolved" the next with nobody looking at it."""
    key = alert_key(WATCH, HIT)
    decisions = f"{key},reported,{DAYS[4]},,zhang.min,STR filed with the PBOC\n"
    status = _run_days(settings, {DAYS[1]: [(WATCH, HIT)]}, decisions, days=DAYS[:7])
    assert [status[d].get(HIT) for d in DAYS[:7]] == [None, "new", "open", "open", "resolved", None, None]
    rows = _days_open(settings, HIT)
    assert [rows[d][1] for d in DAYS[1:4]] == [1, 2, 3]  # its age grows while nobody decides
    assert all(rows[d][2] == DAYS[1] and rows[d][3] == "event" for d in DAYS[1:4])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        closed = con.execute(
            "SELECT status, decision, decided_by, is_firing, message FROM results.alert_days "
            "WHERE alert_key = ? AND business_date = ?",
            [key, DAYS[4]],
        ).fetchone()
        current = con.execute(
            "SELECT status, resolved_on, decision FROM results.alerts WHERE alert_key = ?", [key]
        ).fetchone()
    # closed by the decision, still showing what fired
    assert closed == ("resolved", "reported", "zhang.min", False, f"{WATCH} on {HIT}")
    assert current == ("resolved", DAYS[4], "reported")


def test_an_undecided_critical_event_never_leaves_the_snapshot(settings: Settings) -> None:
    status = _run_days(settings, {DAYS[0]: [(WATCH, HIT)]})
    assert [status[d].get(HIT) for d in DAYS] == ["new", *["open"] * 9]
    assert _days_open(settings, HIT)[DAYS[9]][:2] == ("open", 10)


def test_an_event_firing_again_after_its_decision_opens_again(settings: Settings) -> None:
    key = alert_key(WATCH, HIT)
    fired = {DAYS[0]: [(WATCH, HIT)], DAYS[1]: [(WATCH, HIT)], DAYS[4]: [(WATCH, HIT)]}
    decisions = f"{key},escalated,{DAYS[2]},,zhang.min,to the MLRO\n"
    status = _run_days(settings, fired, decisions, days=DAYS[:6])
    assert [status[d].get(HIT) for d in DAYS[:6]] == ["new", "open", "resolved", None, "new", "open"]
    rows = _days_open(settings, HIT)
    assert rows[DAYS[5]][1:3] == (2, DAYS[4])  # its age counts from the firing no decision covers


def test_a_false_positive_event_is_suppressed_while_it_fires_and_back_after_until(settings: Settings) -> None:
    key = alert_key(WATCH, HIT)
    fired = {d: [(WATCH, HIT)] for d in (DAYS[0], DAYS[1], DAYS[2], DAYS[5])}
    decisions = f"{key},false_positive,{DAYS[1]},{DAYS[3]},zhang.min,different date of birth\n"
    status = _run_days(settings, fired, decisions, days=DAYS[:7])
    assert [status[d].get(HIT) for d in DAYS[:7]] == [
        "new",
        "suppressed",
        "suppressed",
        "resolved",
        None,
        "new",
        "open",
    ]


def test_a_decided_customer_day_event_closes_and_a_condition_still_resolves_by_itself(
    settings: Settings,
) -> None:
    cash = "C1|2025-06-02|credit"
    fired = {DAYS[0]: [(CASH, cash), (RATE, "L1")], DAYS[1]: [(RATE, "L1")]}
    decisions = f"{alert_key(CASH, cash)},reported,{DAYS[1]},,li.na,large-value report filed\n"
    status = _run_days(settings, fired, decisions, days=DAYS[:4])
    assert [status[d].get(cash) for d in DAYS[:4]] == ["new", "resolved", None, None]
    assert [status[d].get("L1") for d in DAYS[:4]] == ["new", "open", "resolved", None]
    assert _days_open(settings, "L1")[DAYS[0]][3] == "condition"


def test_the_pack_decides_the_kind_over_the_family_default(settings: Settings) -> None:
    """A rule the pack declares a condition resolves when it stops, even in the aml family."""
    fired = {DAYS[0]: [(CASH, "C1|x"), (RATE, "L1")]}
    status = _run_days(settings, fired, days=DAYS[:2], kinds={CASH: "condition", RATE: "event"})
    assert status[DAYS[1]] == {"C1|x": "resolved", "L1": "open"}
    with pytest.raises(ValueError, match="unknown alert kind 'sticky'"):
        _run_days(settings, fired, days=DAYS[:1], kinds={CASH: "sticky"})


def test_a_rerun_of_an_earlier_date_gives_the_same_event_snapshot(settings: Settings) -> None:
    key = alert_key(WATCH, HIT)
    fired = {DAYS[0]: [(WATCH, HIT), (CASH, "C2|2025-06-02|debit")], DAYS[2]: [(WATCH, HIT)]}
    decisions = f"{key},reported,{DAYS[1]},,zhang.min,STR filed\n"
    _run_days(settings, fired, decisions, days=DAYS[:4])

    def rows() -> list[tuple[Any, ...]]:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute(
                "SELECT * FROM results.alert_days ORDER BY business_date, alert_key"
            ).fetchall()

    before = rows()
    _run_days(settings, fired, decisions, days=[DAYS[1]])
    _run_days(settings, fired, decisions, days=[DAYS[2]])
    assert rows() == before
