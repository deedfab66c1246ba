"""Score the rules against a generated platform's ground truth (precision and recall).

The truth lists the cases planted by :mod:`regwatch.demo`, one row each with the
rule that must fire and the entity it must fire on. A rule's exceptions over
every date that was run are compared with the cases planted on those dates.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from regwatch import warehouse
from regwatch.config import Settings


class EvaluateError(RuntimeError):
    """There is nothing to score (no truth, or no run)."""


@dataclass(frozen=True)
class RuleScore:
    rule_id: str
    planted: int
    found: int
    hits: int

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.planted if self.planted else 1.0


def read_truth(truth_dir: Path, upto: date | None = None) -> dict[str, set[str]]:
    """Entity keys that must fire, per rule id (cases planted on or before ``upto``)."""
    path = truth_dir / "planted.csv"
    if not path.is_file():
        raise EvaluateError(f"no ground truth at {path}: generate a platform first (regwatch generate)")
    planted: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if upto is None or date.fromisoformat(row["business_date"]) <= upto:
                planted.setdefault(row["rule_id"], set()).add(row["entity_key"])
    return planted


def evaluate(settings: Settings, truth_dir: Path) -> list[RuleScore]:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        found_rows = con.execute("SELECT DISTINCT rule_id, entity_key FROM results.exceptions").fetchall()
        last = con.execute("SELECT max(business_date) FROM results.run_log").fetchone()
    if not last or last[0] is None:
        raise EvaluateError("no business date has been run yet")
    planted = read_truth(truth_dir, upto=last[0])
    found: dict[str, set[str]] = {}
    for rule_id, entity_key in found_rows:
        found.setdefault(rule_id, set()).add(entity_key)
    return [
        RuleScore(
            rule_id,
            len(planted.get(rule_id, set())),
            len(found.get(rule_id, set())),
            len(planted.get(rule_id, set()) & found.get(rule_id, set())),
        )
        for rule_id in sorted(set(planted) | set(found))
    ]
