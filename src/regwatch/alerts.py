"""Alerts: exceptions followed across business days, and the analysts' decisions on them.

An *alert* is one rule firing on one entity (``rule_id`` + ``entity_key``); its key
``AL-<12 hex>`` is a hash of the two, so it is the same on every day and in every
report, and it carries no personal data. Each business date D gets a snapshot
(``results.alert_days``, one partition per date) computed from the exceptions of
every run date up to D (a date whose alerts were computed: one only ingested, its
rules not run, neither resolves nor breaks a streak), so a rerun of D gives the same
snapshot whatever ran before or after it.

Each rule's alerts are of one *kind* (the pack's ``kind``, else its family's:
:data:`regwatch.rules.FAMILY_KINDS`). A *condition* (an APR above a cap) lives while
it fires:

* ``new``: fires on D and did not fire on the previous run date;
* ``open``: fires on D and fired on the previous run date too;
* ``resolved``: fired on the previous run date and no longer fires on D;
* ``suppressed``: fires on D, but a decision in force on D (``false_positive`` or
  ``suppressed`` with an ``until`` date on or after D) hides it; the day after
  ``until`` it is back (``returned``).

An *event* (a large-value day, a typology hit, a watch-list match) lives until an
analyst decides it: the latest decision in force covers every firing up to its
``decided_on`` (a suppressing one up to its ``until``). ``new`` / ``open`` while a
firing no decision covers exists (fired on D or not; ``open_since`` is the first such
firing, ``days_open`` its age in run dates), ``suppressed`` while it fires under a
suppression, ``resolved`` on the first date a decision covers it all, then gone from
the snapshot (kept in ``results.alerts``) until it fires again.

``results.alerts`` holds one row per alert ever seen: its latest snapshot row.
AML exceptions are also gathered per customer and day (``results.customer_alerts``):
every AML rule's ``entity_key`` starts with the ``customer_id`` and its evidence
lists ``customer_id`` first, so a rule added later joins the grouping untouched.

The decisions file (default ``var/dispositions.csv``, setting ``REGWATCH_DISPOSITIONS``)
is an input like the landing files: the ingest step reads it into
``results.dispositions`` (one partition per date, every row with its problem if it
is invalid), and the content hash of the rows in scope for D (decided on or before
D) joins the run's identity, so a rerun of an old date is reproducible even after
the analysts have added later decisions. Invalid rows are kept and reported, never
dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from regwatch.rules import DEFAULT_KIND, FAMILY_KINDS, RulePack
from regwatch.severity import name_sql as severity_name_sql
from regwatch.severity import rank_sql as severity_rank_sql
from regwatch.warehouse import delete_partition

DECISIONS = ("false_positive", "escalated", "reported", "suppressed")
#: Decisions that hide an alert until their ``until`` date (inclusive).
SUPPRESSING = ("false_positive", "suppressed")
DISPOSITION_COLUMNS = ("alert_key", "decision", "decided_on", "until", "analyst", "note")
STATUSES = ("new", "open", "resolved", "suppressed")
KINDS = ("condition", "event")
AML_DOMAIN = "aml"
_ALERT_KEY = re.compile(r"^AL-[0-9a-f]{12}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

#: SQL for an alert key: the same in Python (:func:`alert_key`) and in DuckDB.
ALERT_KEY_SQL = "'AL-' || left(sha256(rule_id || chr(10) || entity_key), 12)"
_SEVERITY_RANK_SQL = severity_rank_sql("severity")


def alert_key(rule_id: str, entity_key: str) -> str:
    """The stable key of one rule on one entity, as printed in the reports."""
    return "AL-" + hashlib.sha256(f"{rule_id}\n{entity_key}".encode()).hexdigest()[:12]


def customer_alert_key(customer_id: str, business_date: date) -> str:
    return "CA-" + hashlib.sha256(f"{customer_id}\n{business_date.isoformat()}".encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- decisions


class DateNotRunError(LookupError):
    """A business date whose alerts were never computed (it was not run, or its run stopped early)."""


@dataclass(frozen=True)
class DecisionRow:
    """One row of the decisions file, as read (``problem`` is None for a valid row)."""

    row_number: int
    alert_key: str
    decision: str
    decided_on: date | None
    until: date | None
    analyst: str
    note: str
    problem: str | None
    raw_record: str


@dataclass(frozen=True)
class DecisionsLoad:
    """What the decisions file gave for one business date."""

    source_file: str  # the file's name (not its folder: reports and reruns must not depend on it)
    exists: bool
    rows: tuple[DecisionRow, ...]
    sha256: str  # of the rows in scope for the date ("" when there are none)
    file_sha256: str  # of the whole file as read, archived by ingest ("" when there is none)

    @property
    def rows_read(self) -> int:
        return len(self.rows)

    @property
    def rows_invalid(self) -> int:
        return sum(r.problem is not None for r in self.rows)


def _parse_date(text: str) -> date | None:
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _raw(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def read_decisions(path: Path, business_date: date) -> DecisionsLoad:
    """Parse the decisions file; keep the rows in scope for ``business_date``.

    A row is in scope when it was decided on or before the date, or when its
    ``decided_on`` cannot be read (it is then reported on every date until fixed).
    Each row is checked on its own: a bad row never hides a good one.
    """
    if not path.is_file():
        return DecisionsLoad(path.name, False, (), "", "")
    data = path.read_bytes()
    file_sha256 = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    records = [r for r in csv.reader(io.StringIO(text, newline="")) if any(field.strip() for field in r)]
    if not records:
        return DecisionsLoad(path.name, True, (), "", file_sha256)
    header = [h.strip().lower() for h in records[0]]
    missing = [c for c in DISPOSITION_COLUMNS if c not in header]
    unknown = [h for h in header if h not in DISPOSITION_COLUMNS]
    header_problem = None
    if missing:
        header_problem = f"the file's header lacks column(s) {', '.join(missing)}"
    elif unknown:
        header_problem = f"the file's header has unknown column(s) {', '.join(unknown)}"
    rows: list[DecisionRow] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, fields in enumerate(records[1:], start=1):
        raw = _raw(fields)
        values = dict(zip(header, (f.strip() for f in fields), strict=False))

        def get(name: str, values: dict[str, str] = values) -> str:
            return values.get(name, "")

        decided_on = _parse_date(get("decided_on"))
        until = _parse_date(get("until")) if get("until") else None
        problem = header_problem
        if problem is None and len(fields) != len(header):
            problem = f"malformed record: {len(fields)} fields, header has {len(header)}"
        if problem is None:
            problem = _row_problem(values, decided_on, until)
        if problem is None:
            identity = tuple(get(c) for c in DISPOSITION_COLUMNS)
            if identity in seen:
                problem = f"duplicate of row {seen[identity]}"
            else:
                seen[identity] = number
        if decided_on is not None and decided_on > business_date:
            continue  # not decided yet as of this date
        rows.append(
            DecisionRow(
                number,
                get("alert_key"),
                get("decision"),
                decided_on,
                until,
                get("analyst"),
                get("note"),
                problem,
                raw,
            )
        )
    digest = ""
    if rows:
        canonical = _raw(header) + "\n" + "".join(f"{r.row_number}\t{r.raw_record}\n" for r in rows)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    return DecisionsLoad(path.name, True, tuple(rows), digest, file_sha256)


def _row_problem(values: dict[str, str], decided_on: date | None, until: date | None) -> str | None:
    key, decision = values.get("alert_key", ""), values.get("decision", "")
    if not _ALERT_KEY.match(key):
        return f"alert_key {key!r} is not an alert key (AL- and 12 hex digits, as printed in the report)"
    if decision not in DECISIONS:
        return f"unknown decision {decision!r} (one of {', '.join(DECISIONS)})"
    if decided_on is None:
        return f"decided_on {values.get('decided_on', '')!r} is not a date YYYY-MM-DD"
    if values.get("until") and until is None:
        return f"until {values['until']!r} is not a date YYYY-MM-DD"
    if decision in SUPPRESSING and until is None:
        return f"a {decision} decision needs an until date: suppressions expire"
    if until is not None and until < decided_on:
        return f"until {until} is before decided_on {decided_on}"
    if not values.get("analyst"):
        return "analyst is missing: every decision names who took it"
    if decision in SUPPRESSING and not values.get("note"):
        return f"a {decision} decision needs a note saying why"
    return None


def store_decisions(con: duckdb.DuckDBPyConnection, load: DecisionsLoad, business_date: date) -> None:
    """Replace the date's partition of ``results.dispositions`` and its log row (in a transaction)."""
    delete_partition(con, "results.dispositions", business_date)
    delete_partition(con, "results.disposition_log", business_date)
    for r in load.rows:
        con.execute(
            "INSERT INTO results.dispositions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                business_date,
                r.row_number,
                r.alert_key,
                r.decision,
                r.decided_on,
                r.until,
                r.analyst,
                r.note,
                r.problem,
                r.raw_record,
            ],
        )
    con.execute(
        "INSERT INTO results.disposition_log VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            business_date,
            load.source_file,
            load.exists,
            load.sha256,
            load.rows_read,
            load.rows_invalid,
            load.file_sha256,
        ],
    )


# --------------------------------------------------------------------------- lifecycle


@dataclass(frozen=True)
class AlertsSummary:
    business_date: date
    previous_date: date | None
    counts: dict[str, int]
    returned: int
    customer_alerts: int
    decisions_read: int
    decisions_invalid: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous_business_date": self.previous_date.isoformat() if self.previous_date else None,
            **{status: self.counts.get(status, 0) for status in STATUSES},
            "returned": self.returned,
            "customer_alerts": self.customer_alerts,
            "decisions_read": self.decisions_read,
            "decisions_invalid": self.decisions_invalid,
        }


def previous_run_date(con: duckdb.DuckDBPyConnection, business_date: date) -> date | None:
    """The latest earlier date whose alerts were computed (a date only ingested does not count)."""
    row = con.execute(
        "SELECT max(business_date) FROM results.alert_log WHERE business_date < ?", [business_date]
    ).fetchone()
    return row[0] if row else None


_ACTIVE = ("new", "open", "suppressed")


def _kind_sql(domain: str) -> str:
    """SQL for the kind of a rule the run's pack does not name (a retired rule): its family's."""
    cases = " ".join(f"WHEN '{family}' THEN '{kind}'" for family, kind in sorted(FAMILY_KINDS.items()))
    return f"CASE {domain} {cases} ELSE '{DEFAULT_KIND}' END"


_SNAPSHOT_SQL = f"""
WITH
days AS (
    SELECT business_date, row_number() OVER (ORDER BY business_date) AS day_index
    FROM (SELECT business_date FROM results.alert_log WHERE business_date < $d
          UNION SELECT CAST($d AS DATE))
),
today AS (SELECT day_index FROM days WHERE business_date = $d),
kinds AS (
    SELECT unnest(CAST($rule_ids AS VARCHAR[])) AS rule_id, unnest(CAST($kinds AS VARCHAR[])) AS kind
),
fired AS (
    SELECT e.rule_id, e.entity_key, e.business_date, days.day_index,
           days.day_index - row_number() OVER (
               PARTITION BY e.rule_id, e.entity_key ORDER BY days.day_index) AS island
    FROM (SELECT DISTINCT rule_id, entity_key, business_date
          FROM results.exceptions WHERE business_date <= $d) AS e
    JOIN days USING (business_date)
),
keyed AS (
    SELECT f.rule_id, f.entity_key, {ALERT_KEY_SQL} AS alert_key,
           coalesce(kinds.kind, {_kind_sql("split_part(f.rule_id, '.', 2)")}) AS kind
    FROM (SELECT DISTINCT rule_id, entity_key FROM fired) AS f
    LEFT JOIN kinds USING (rule_id)
),
seen AS (
    SELECT rule_id, entity_key, min(business_date) AS first_seen, max(business_date) AS last_seen,
           count(*) AS days_seen
    FROM fired GROUP BY rule_id, entity_key
),
streak AS (
    SELECT f.rule_id, f.entity_key, min(f.business_date) AS open_since, count(*) AS days_open
    FROM fired AS f
    JOIN (SELECT rule_id, entity_key, island FROM fired WHERE business_date = $d) AS t
      USING (rule_id, entity_key, island)
    GROUP BY f.rule_id, f.entity_key
),
decisions AS (
    SELECT alert_key, decision, decided_on, until, analyst
    FROM results.dispositions
    WHERE business_date = $d AND problem IS NULL AND decided_on <= $d
    QUALIFY row_number() OVER (PARTITION BY alert_key ORDER BY decided_on DESC, row_number DESC) = 1
),
pending AS (
    -- event alerts: the firings no decision covers yet. A decision covers every firing up to
    -- its decided_on (a suppressing one up to its until); a later firing opens the alert again.
    SELECT f.rule_id, f.entity_key, min(f.business_date) AS open_since, min(f.day_index) AS since_index
    FROM fired AS f
    JOIN keyed AS k USING (rule_id, entity_key)
    LEFT JOIN decisions AS d USING (alert_key)
    WHERE k.kind = 'event'
      AND (d.decided_on IS NULL OR f.business_date > CASE
               WHEN d.decision IN {SUPPRESSING} THEN greatest(d.decided_on, d.until)
               ELSE d.decided_on END)
    GROUP BY f.rule_id, f.entity_key
),
latest AS (
    -- each candidate's most recent exception row: a condition's today or on the previous date,
    -- an event's whenever it last fired
    SELECT e.rule_id, e.entity_key, e.business_date AS row_date, e.severity, e.legal_basis, e.model,
           e.message, e.evidence
    FROM results.exceptions AS e
    JOIN days USING (business_date)
    JOIN keyed AS k USING (rule_id, entity_key)
    WHERE k.kind = 'event' OR e.business_date = $d OR e.business_date = $p
    QUALIFY row_number() OVER (
        PARTITION BY e.rule_id, e.entity_key ORDER BY e.business_date DESC, e.message, e.evidence) = 1
),
candidates AS (
    SELECT latest.*, k.alert_key, k.kind, latest.row_date = $d AS is_firing
    FROM latest JOIN keyed AS k USING (rule_id, entity_key)
),
previous AS (
    SELECT alert_key, status FROM results.alert_days WHERE business_date = $p
)
SELECT
    CAST($d AS DATE) AS business_date,
    CAST($run_id AS VARCHAR) AS run_id,
    c.alert_key,
    c.rule_id,
    split_part(c.rule_id, '.', 2) AS domain,
    c.entity_key,
    CASE WHEN split_part(c.rule_id, '.', 2) = '{AML_DOMAIN}' THEN coalesce(
        json_extract_string(c.evidence, '$.customer_id'), split_part(c.entity_key, '|', 1)) END
        AS customer_id,
    c.severity,
    c.legal_basis,
    c.model,
    c.kind,
    CASE
        WHEN c.kind = 'event' THEN CASE
            WHEN pe.open_since = $d THEN 'new'
            WHEN pe.open_since IS NOT NULL THEN 'open'
            WHEN c.is_firing AND d.decision IN {SUPPRESSING} AND d.until >= $d THEN 'suppressed'
            ELSE 'resolved' END
        WHEN NOT c.is_firing THEN 'resolved'
        WHEN d.decision IN {SUPPRESSING} AND d.until >= $d THEN 'suppressed'
        WHEN s.open_since = $d THEN 'new'
        ELSE 'open'
    END AS status,
    c.is_firing,
    seen.first_seen,
    seen.last_seen,
    CASE WHEN pe.open_since IS NOT NULL THEN pe.open_since ELSE s.open_since END AS open_since,
    CAST(CASE WHEN pe.open_since IS NOT NULL THEN today.day_index - pe.since_index + 1
              ELSE coalesce(s.days_open, 0) END AS INTEGER) AS days_open,
    CAST(seen.days_seen AS INTEGER) AS days_seen,
    p.status AS previous_status,
    d.decision,
    d.until AS decision_until,
    d.analyst AS decided_by,
    c.message,
    c.evidence
FROM candidates AS c
CROSS JOIN today
JOIN seen USING (rule_id, entity_key)
LEFT JOIN streak AS s USING (rule_id, entity_key)
LEFT JOIN pending AS pe USING (rule_id, entity_key)
LEFT JOIN decisions AS d USING (alert_key)
LEFT JOIN previous AS p USING (alert_key)
-- an event no decision leaves pending is listed while it fires, and once more (resolved) the
-- first date a decision closes it; after that it is history (results.alerts)
WHERE c.kind = 'condition' OR pe.open_since IS NOT NULL OR c.is_firing OR p.status IN {_ACTIVE}
"""

_CUSTOMER_SQL = f"""
WITH today AS (
    SELECT * FROM results.alert_days
    WHERE business_date = $d AND is_firing AND domain = '{AML_DOMAIN}' AND customer_id IS NOT NULL
),
grouped AS (
    SELECT
        customer_id,
        min({_SEVERITY_RANK_SQL}) AS severity_rank,
        count(DISTINCT rule_id) AS rule_count,
        count(*) AS alert_count,
        string_agg(DISTINCT rule_id, ',' ORDER BY rule_id) AS rule_ids,
        string_agg(alert_key, ',' ORDER BY rule_id, entity_key) AS alert_keys,
        count(*) FILTER (WHERE status = 'new') AS new_alerts,
        count(*) FILTER (WHERE status = 'suppressed') AS suppressed_alerts
    FROM today GROUP BY customer_id
),
before AS (
    SELECT customer_id, max(business_date) AS previous_alert_date, count(*) AS earlier_alert_days
    FROM results.customer_alerts WHERE business_date < $d GROUP BY customer_id
)
SELECT
    CAST($d AS DATE) AS business_date,
    CAST($run_id AS VARCHAR) AS run_id,
    'CA-' || left(sha256(g.customer_id || chr(10) || CAST(CAST($d AS DATE) AS VARCHAR)), 12)
        AS customer_alert_key,
    g.customer_id,
    {severity_name_sql("g.severity_rank")} AS severity,
    CAST(g.rule_count AS INTEGER) AS rule_count,
    CAST(g.alert_count AS INTEGER) AS alert_count,
    g.rule_ids,
    g.alert_keys,
    CAST(g.new_alerts AS INTEGER) AS new_alerts,
    CAST(g.suppressed_alerts AS INTEGER) AS suppressed_alerts,
    b.previous_alert_date,
    CAST(coalesce(b.earlier_alert_days, 0) AS INTEGER) AS earlier_alert_days
FROM grouped AS g LEFT JOIN before AS b USING (customer_id)
"""


def rule_kinds(pack: RulePack) -> dict[str, str]:
    """Each rule of the pack with its alert kind (declared, or its family's default)."""
    return {rule.id: rule.kind for rule in pack.rules}


def update(
    con: duckdb.DuckDBPyConnection,
    business_date: date,
    run_id: str,
    kinds: Mapping[str, str] | None = None,
) -> AlertsSummary:
    """Recompute the date's alert snapshot, customer-day alerts and the current alert table.

    ``kinds`` maps rule ids to their alert kind (the run's pack, :func:`rule_kinds`); a
    rule it does not name (a retired one) takes its family's default.

    Decisions naming an alert that no exception up to the date produced are marked
    invalid ("no such alert"), so a mistyped key is reported, not silently ignored.
    Call inside a transaction.
    """
    previous = previous_run_date(con, business_date)
    ordered = sorted((kinds or {}).items())
    for rule_id, kind in ordered:
        if kind not in KINDS:
            raise ValueError(f"rule {rule_id}: unknown alert kind {kind!r} (one of {', '.join(KINDS)})")
    params = {
        "d": business_date,
        "p": previous,
        "run_id": run_id,
        "rule_ids": [r for r, _ in ordered],
        "kinds": [k for _, k in ordered],
    }
    con.execute(
        f"""
        UPDATE results.dispositions AS t SET problem = 'no alert ' || t.alert_key || ' has been seen up to '
            || CAST(t.business_date AS VARCHAR)
        WHERE t.business_date = $d AND t.problem IS NULL AND t.alert_key NOT IN (
            SELECT {ALERT_KEY_SQL} FROM (SELECT DISTINCT rule_id, entity_key FROM results.exceptions
                                         WHERE business_date <= $d))
        """,
        {"d": business_date},
    )
    delete_partition(con, "results.alert_days", business_date)
    con.execute(f"INSERT INTO results.alert_days BY NAME {_SNAPSHOT_SQL}", params)
    delete_partition(con, "results.customer_alerts", business_date)
    con.execute(
        f"INSERT INTO results.customer_alerts BY NAME {_CUSTOMER_SQL}", {"d": business_date, "run_id": run_id}
    )
    con.execute("DELETE FROM results.alerts")
    con.execute(
        """
        INSERT INTO results.alerts BY NAME
        SELECT alert_key, rule_id, domain, entity_key, customer_id, severity, status,
               first_seen, last_seen, business_date AS status_date,
               CASE WHEN status = 'resolved' THEN business_date END AS resolved_on,
               decision, decision_until
        FROM results.alert_days
        QUALIFY row_number() OVER (PARTITION BY alert_key ORDER BY business_date DESC) = 1
        """
    )
    counts = dict(
        con.execute(
            "SELECT status, count(*) FROM results.alert_days WHERE business_date = ? GROUP BY status",
            [business_date],
        ).fetchall()
    )
    returned = con.execute(
        "SELECT count(*) FROM results.alert_days WHERE business_date = ? AND previous_status = 'suppressed' "
        "AND status IN ('new', 'open')",
        [business_date],
    ).fetchone()
    customers = con.execute(
        "SELECT count(*) FROM results.customer_alerts WHERE business_date = ?", [business_date]
    ).fetchone()
    decisions = con.execute(
        "SELECT count(*), count(problem) FROM results.dispositions WHERE business_date = ?", [business_date]
    ).fetchone()
    assert returned is not None and customers is not None and decisions is not None
    delete_partition(con, "results.alert_log", business_date)
    con.execute(
        "INSERT INTO results.alert_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            business_date,
            run_id,
            previous,
            *(int(counts.get(status, 0)) for status in STATUSES),
            int(returned[0]),
            int(customers[0]),
        ],
    )
    return AlertsSummary(
        business_date,
        previous,
        {str(k): int(v) for k, v in counts.items()},
        int(returned[0]),
        int(customers[0]),
        int(decisions[0]),
        int(decisions[1]),
    )


def snapshot(
    con: duckdb.DuckDBPyConnection, business_date: date | None = None, statuses: tuple[str, ...] = ()
) -> tuple[date | None, list[dict[str, Any]]]:
    """The alerts of a date's snapshot (default: the latest date with one), most severe first.

    A date whose alerts were never computed is :class:`DateNotRunError`, not an empty
    list: "0 alerts" would read as a clean day.
    """
    row = con.execute("SELECT max(business_date) FROM results.alert_log").fetchone()
    last = row[0] if row else None
    if business_date is None:
        business_date = last
        if business_date is None:
            return None, []
    else:
        known = con.execute(
            "SELECT count(*) FROM results.alert_log WHERE business_date = ?", [business_date]
        ).fetchone()
        if not known or not known[0]:
            raise DateNotRunError(
                f"{business_date} has not been run: no alerts were computed for it "
                + (f"(the last date run is {last})" if last else "(no date has been run yet)")
            )
    wanted = list(statuses or STATUSES)
    cursor = con.execute(
        f"""
        SELECT alert_key, status, severity, rule_id, entity_key, customer_id, first_seen, open_since,
               days_open, decision, decision_until, message, kind
        FROM results.alert_days
        WHERE business_date = ? AND list_contains(?, status)
        ORDER BY {_SEVERITY_RANK_SQL}, CASE status WHEN 'new' THEN 0 WHEN 'open' THEN 1
                 WHEN 'suppressed' THEN 2 ELSE 3 END, rule_id, entity_key
        """,
        [business_date, wanted],
    )
    names = [d[0] for d in cursor.description]
    return business_date, [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
