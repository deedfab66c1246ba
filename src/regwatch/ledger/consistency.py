"""The warehouse checked against the ledger head before anything writes to it.

The ledger is the record of what was sealed; the warehouse is a working copy that an
operator can lose (deleted, recreated empty, truncated, restored from an old backup).
A run on such a warehouse computes from what is left (a day's files alone: every alert
"new"), seals that into the chain, and ``audit verify`` cannot tell, because every
manifest it reads is intact. So every run, and every command that writes, first
checks that the warehouse still holds what the ledger's head manifest names:

* every load the head saw (``loads``: the current load of every date up to its
  business date) is in ``raw.load_arrivals``;
* every sealed business date has its results (``results.alert_log``), and they are of
  that date's latest sealed run, or of a newer run of the date not sealed yet (one
  that failed or is at work: ``results.run_log`` names it); never of a run the ledger
  superseded (an old backup);
* the head's own results partitions hold the rows its manifest counted (``state``).

The warehouse may be *ahead* of the ledger (dates ingested or run but not sealed):
that is ordinary work in progress. It may not be *behind* it. A mismatch stops the
command with exit 1 and one line saying what differs and how to recover
(``regwatch rebuild``). Reads only the manifests, the archive is not needed; opens
the warehouse read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from regwatch.config import Settings

#: What the operator should do about any mismatch.
RECOVERY = "rebuild it from the archive with `regwatch rebuild`"


class WarehouseDriftError(RuntimeError):
    """The warehouse does not hold what the ledger says was sealed (exit 1)."""


class WarehouseBusyError(RuntimeError):
    """A process outside regwatch's run lock holds the warehouse open for writing (exit 1)."""


@dataclass(frozen=True)
class _Sealed:
    path: Path
    business_date: date
    run_id: str


def _sealed(settings: Settings) -> list[_Sealed]:
    """Every manifest of the ledger in chain order, from its file name ``<seq>_<date>_<run id>.json``."""
    if not settings.ledger_dir.is_dir():
        return []
    out = []
    for path in sorted(settings.ledger_dir.glob("[0-9]*_*.json")):
        parts = path.stem.split("_", 2)
        if len(parts) != 3 or parts[2].startswith("filing-"):
            continue  # a filing sealed after its run (regwatch.reporting.filing) holds no results
        try:
            out.append(_Sealed(path, date.fromisoformat(parts[1]), parts[2]))
        except ValueError:
            continue
    return out


def problems(settings: Settings) -> list[str]:
    """What the warehouse lacks against the ledger head, most telling first; [] when it matches."""
    import duckdb

    chain = _sealed(settings)
    if not chain:
        return []
    head = chain[-1]
    try:
        body: dict[str, Any] = json.loads(head.path.read_bytes())
    except (OSError, ValueError) as error:
        return [f"the ledger head {head.path.name} is unreadable ({error}): run `regwatch audit verify`"]
    where = settings.warehouse_path
    sealed_runs = f"{len(chain)} sealed run{'s' if len(chain) != 1 else ''} (head {head.path.name})"
    if not where.is_file():
        return [f"{where} is missing, but the ledger holds {sealed_runs}"]
    try:
        con = duckdb.connect(str(where), read_only=True)
    except duckdb.Error as error:
        if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
            # Not regwatch (a writer holds var/run.lock, which this process holds): a SQL client, say.
            raise WarehouseBusyError(
                f"{where} is open for writing in another process: close it and run again "
                f"({str(error).splitlines()[0]})"
            ) from None
        return [
            f"{where} cannot be opened ({str(error).splitlines()[0]}), but the ledger holds {sealed_runs}"
        ]
    try:
        return _compare(con, chain, body, sealed_runs)
    finally:
        con.close()


def _table_exists(con: Any, table: str) -> bool:
    schema, name = table.split(".", 1)
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _compare(con: Any, chain: list[_Sealed], body: dict[str, Any], sealed_runs: str) -> list[str]:
    head = chain[-1]
    found: list[str] = []
    # 1. The loads the head saw.
    named = [(str(x["business_date"]), str(x["load_id"])) for x in body.get("loads", [])]
    held: set[tuple[str, str]] = set()
    if _table_exists(con, "raw.load_arrivals"):
        held = {
            (day.isoformat(), str(load_id))
            for day, load_id in con.execute("SELECT business_date, load_id FROM raw.load_arrivals").fetchall()
        }
    missing = [item for item in named if item not in held]
    if missing and not held:
        found.append(f"it holds no load at all, but the ledger holds {sealed_runs}")
    elif missing:
        first_day, load_id = missing[0]
        found.append(
            f"it lacks {len(missing)} of the {len(named)} loads the ledger head {head.path.name} names "
            f"(first: load {load_id} of {first_day})"
        )
    # 2. The results of every sealed date: of its latest sealed run, or of a newer one not sealed yet.
    latest: dict[date, str] = {}
    superseded: dict[date, set[str]] = {}
    for sealed in chain:
        if sealed.business_date in latest:
            superseded.setdefault(sealed.business_date, set()).add(latest[sealed.business_date])
        latest[sealed.business_date] = sealed.run_id
    alert_runs: dict[date, str] = {}
    logged_runs: dict[date, str] = {}
    if _table_exists(con, "results.alert_log"):
        alert_runs = dict(con.execute("SELECT business_date, run_id FROM results.alert_log").fetchall())
    if _table_exists(con, "results.run_log"):
        logged_runs = dict(con.execute("SELECT business_date, run_id FROM results.run_log").fetchall())
    absent = sorted(day for day in latest if day not in alert_runs)
    if absent and not found:
        found.append(
            f"it holds no results of {len(absent)} of the {len(latest)} sealed business dates "
            f"(first: {absent[0]}, sealed as run {latest[absent[0]]})"
        )
    for day in sorted(latest):
        run = alert_runs.get(day)
        if run is None or run == latest[day]:
            continue
        if run in superseded.get(day, set()) or run != logged_runs.get(day):
            found.append(
                f"its results of {day} are of run {run}, but the ledger's latest sealed run of {day} is "
                f"{latest[day]} (the warehouse is older than the ledger)"
            )
            break
    # 3. The head's own results partitions, when they are still the head run's.
    head_day = head.business_date
    if alert_runs.get(head_day) == head.run_id and logged_runs.get(head_day) == head.run_id:
        for item in body.get("state", []):
            table = str(item["table"])
            if not table.startswith("results.") or not _table_exists(con, table):
                continue
            row = con.execute(f"SELECT count(*) FROM {table} WHERE business_date = ?", [head_day]).fetchone()
            rows = int(row[0]) if row else 0
            if rows != int(item["rows"]):
                found.append(
                    f"{table} holds {rows} rows of {head_day}, the ledger head {head.path.name} sealed "
                    f"{item['rows']} (truncated or edited)"
                )
                break
    return found


def require_consistent(settings: Settings) -> None:
    """Raise :class:`WarehouseDriftError` (one line: what differs, how to recover) on a mismatch."""
    found = problems(settings)
    if found:
        raise WarehouseDriftError(
            f"the warehouse does not match the ledger: {found[0]}; {RECOVERY} (nothing was run)"
        )
