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


# --------------------------------------------------------------------------- screening fixture

#: Labelled (name, listed entry, should_match) pairs: true variants and hard negatives.
SCREENING_FIXTURE = "screening_pairs.csv"


@dataclass(frozen=True)
class ScreeningPair:
    name: str
    listed_name: str
    listed_aliases: tuple[str, ...]
    should_match: bool
    family: str
    score: float  # best of the listed name and its aliases (regwatch.screening)


@dataclass(frozen=True)
class ScreeningScore:
    """Recall and false-positive rate of the screening fixture at the pack's threshold and review floor."""

    pairs: tuple[ScreeningPair, ...]
    threshold: float
    review_floor: float

    @property
    def positives(self) -> int:
        return sum(p.should_match for p in self.pairs)

    @property
    def negatives(self) -> int:
        return len(self.pairs) - self.positives

    def recall(self, at: float) -> float:
        hits = sum(p.should_match and p.score >= at for p in self.pairs)
        return hits / self.positives if self.positives else 1.0

    def false_positive_rate(self, at: float) -> float:
        wrong = sum(not p.should_match and p.score >= at for p in self.pairs)
        return wrong / self.negatives if self.negatives else 0.0

    def missed(self, at: float) -> list[ScreeningPair]:
        return [p for p in self.pairs if p.should_match and p.score < at]

    def false_positives(self, at: float) -> list[ScreeningPair]:
        return [p for p in self.pairs if not p.should_match and p.score >= at]


def read_screening_fixture(path: Path) -> list[tuple[str, str, tuple[str, ...], bool, str]]:
    """The fixture's rows: name, listed name, listed aliases, should_match, family."""
    from regwatch.screening import parse_aliases

    if not path.is_file():
        raise EvaluateError(f"no screening fixture at {path}")
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            if row["should_match"] not in ("0", "1"):
                raise EvaluateError(
                    f"{path.name} line {n}: should_match must be 0 or 1, not {row['should_match']!r}"
                )
            rows.append(
                (
                    row["name"],
                    row["listed_name"],
                    parse_aliases(row["listed_aliases"]),
                    row["should_match"] == "1",
                    row["family"],
                )
            )
    return rows


def evaluate_screening(path: Path, threshold: float, review_floor: float) -> ScreeningScore:
    """Score every pair of the fixture with :mod:`regwatch.screening` (best of name and aliases)."""
    from regwatch.screening import score_matrix

    rows = read_screening_fixture(path)
    pairs = []
    for name, listed, aliases, should_match, family in rows:
        best = float(score_matrix([name], [listed, *aliases]).max())
        pairs.append(ScreeningPair(name, listed, aliases, should_match, family, round(best, 2)))
    return ScreeningScore(tuple(pairs), threshold, review_floor)


def screening_lines(settings: Settings) -> list[str]:
    """What ``regwatch rules evaluate`` prints of the screening fixture at the active pack's settings."""
    from regwatch.rules import load_pack

    params = load_pack(settings.pack_dir).parameters
    if "watchlist_match_min_score" not in params or "watchlist_review_floor" not in params:
        return [f"screening: pack {settings.pack} has no watchlist_match_min_score / watchlist_review_floor"]
    threshold = float(params["watchlist_match_min_score"].value)
    floor = float(params["watchlist_review_floor"].value)
    result = evaluate_screening(settings.checks_dir / SCREENING_FIXTURE, threshold, floor)
    lines = [
        f"screening fixture {SCREENING_FIXTURE}: {len(result.pairs)} labelled pairs "
        f"({result.positives} same person, {result.negatives} another person)"
    ]
    for label, at in (("match threshold", threshold), ("review floor", floor)):
        lines.append(
            f"screening at {label} {at:g}: recall {result.recall(at):.3f} "
            f"false-positive rate {result.false_positive_rate(at):.3f}"
        )
    return lines
