"""Score the rules against a generated platform's ground truth (precision and recall).

The truth lists the cases planted by :mod:`regwatch.demo`, one row each with the
rule that must fire and the entity it must fire on. A rule's exceptions over
every date that was run are compared with the cases planted on those dates.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.demo.laundering import PATTERNS


class EvaluateError(RuntimeError):
    """There is nothing to score (no truth, or no run)."""


@dataclass(frozen=True)
class RuleScore:
    """One rule's row of ``regwatch rules evaluate``.

    ``hits`` are its planted truth rows it raised (recall: hits / planted). Its precision is over
    the distinct entity keys it raised (``found``): for a rule that is no detection rule a key is
    right when it is a planted row of its own; a detection rule (:func:`is_detection_rule`) is
    scored against the laundering truth instead (``laundering``: keys on a planted attempt, a
    planted typology case or near miss, the same verdict as :func:`evaluate_patterns`), so a graph
    rule without truth rows of its own is not printed at precision 0, and ordinary traffic that
    meets a fan rule's definition is the false positive it is.
    """

    rule_id: str
    planted: int
    found: int
    hits: int
    laundering: int | None = None  # detection rules: keys on a laundering case
    benign: int = 0  # detection rules: of the wrong keys, those on a benign look-alike

    @property
    def is_detection(self) -> bool:
        return self.laundering is not None

    @property
    def precision(self) -> float:
        right = self.hits if self.laundering is None else self.laundering
        return right / self.found if self.found else 1.0

    @property
    def recall(self) -> float | None:
        """None when the rule has no truth rows of its own (a graph rule scored per pattern)."""
        return self.hits / self.planted if self.planted else None


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
    """Per rule: planted truth rows vs the distinct entity keys raised over every run date.

    A detection rule's precision comes from the laundering truth (:func:`evaluate_patterns`'s
    verdict per key, computed once for both tables): one precision per rule, never two.
    """
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        found_rows = con.execute(
            "SELECT rule_id, entity_key, business_date, evidence FROM results.exceptions "
            "ORDER BY rule_id, entity_key, business_date"
        ).fetchall()
        last = con.execute("SELECT max(business_date) FROM results.run_log").fetchone()
    if not last or last[0] is None:
        raise EvaluateError("no business date has been run yet")
    planted = read_truth(truth_dir, upto=last[0])
    attempts, benign = read_attempts(truth_dir)
    verdicts = (
        _key_verdicts(found_rows, truth_dir, attempts, benign, _grace_days(settings)) if attempts else None
    )
    found: dict[str, set[str]] = {}
    for rule_id, entity_key, _business_date, _evidence in found_rows:
        found.setdefault(rule_id, set()).add(entity_key)
    scores = []
    for rule_id in sorted(set(planted) | set(found)):
        mine, raised = planted.get(rule_id, set()), found.get(rule_id, set())
        laundering: int | None = None
        wrong_on_benign = 0
        if verdicts is not None and is_detection_rule(rule_id):
            keys = [(rule_id, k) for k in raised]
            laundering = sum(verdicts.key_hit[k] for k in keys)
            wrong_on_benign = sum(not verdicts.key_hit[k] and verdicts.key_benign[k] for k in keys)
        scores.append(
            RuleScore(rule_id, len(mine), len(raised), len(mine & raised), laundering, wrong_on_benign)
        )
    return scores


def _grace_days(settings: Settings) -> int:
    """The longest ``*_lookback_days`` of the active pack: how long after a window closes a rule reviews it."""
    from regwatch.rules import load_pack

    parameters = load_pack(settings.pack_dir).parameters
    return max([int(p.value) for name, p in parameters.items() if name.endswith("_lookback_days")] or [0])


# --------------------------------------------------------------------------- laundering patterns

#: AML rules that report lines or list matches, not laundering behaviour: they never count
#: as a pattern's detection (large-value reports, a missing FX rate, watch-list screening).
NOT_DETECTION = frozenset(
    {
        "large_cash",
        "large_entity_transfer",
        "large_individual_domestic_transfer",
        "large_individual_cross_border_transfer",
        "missing_fx_rate",
        "watchlist_customer_match",
        "watchlist_counterparty_match",
    }
)
_TOKEN = re.compile(r"[A-Za-z0-9_]+")


def is_detection_rule(rule_id: str) -> bool:
    """An AML typology or graph rule: ``<pack>.aml.<slug>`` other than the reporting and screening rules."""
    parts = rule_id.split(".")
    return len(parts) == 3 and parts[1] == "aml" and parts[2] not in NOT_DETECTION


@dataclass(frozen=True)
class Attempt:
    """One planted laundering attempt (``patterns.csv``) or benign look-alike (``benign.csv``)."""

    attempt_id: str
    pattern: str  # for a look-alike: the pattern it imitates
    customers: frozenset[str]
    first_date: date
    last_date: date
    kind: str = ""  # a look-alike's kind (payroll, merchant, family_circle)


@dataclass(frozen=True)
class PatternScore:
    pattern: str
    planted: int
    found: int
    benign: int  # look-alikes of this pattern planted
    benign_flagged: int

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        flagged = self.found + self.benign_flagged
        return self.found / flagged if flagged else 1.0


@dataclass(frozen=True)
class DetectionScore:
    """A detection rule's entity keys over the run: on a laundering case, or false positives."""

    rule_id: str
    keys: int
    hits: int
    benign: int  # of the false positives, keys on a planted benign look-alike

    @property
    def precision(self) -> float:
        return self.hits / self.keys if self.keys else 1.0


@dataclass(frozen=True)
class PatternEvaluation:
    patterns: tuple[PatternScore, ...]
    rules: tuple[DetectionScore, ...]
    grace_days: int


def read_attempts(truth_dir: Path) -> tuple[list[Attempt], list[Attempt]]:
    """The planted attempts and benign look-alikes; empty when the truth predates them."""
    attempts: list[Attempt] = []
    benign: list[Attempt] = []
    for name, target in (("patterns.csv", attempts), ("benign.csv", benign)):
        path = truth_dir / name
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                target.append(
                    Attempt(
                        row.get("attempt_id") or row["benign_id"],
                        row.get("pattern") or row["imitates"],
                        frozenset(row["customer_ids"].split(";")),
                        date.fromisoformat(row["first_date"]),
                        date.fromisoformat(row["last_date"]),
                        row.get("lookalike", ""),
                    )
                )
    return attempts, benign


def _touches(attempt: Attempt, business_date: date, tokens: set[str], grace: int) -> bool:
    return attempt.first_date <= business_date <= attempt.last_date + timedelta(
        days=grace
    ) and not attempt.customers.isdisjoint(tokens)


@dataclass(frozen=True)
class _Verdicts:
    """Per (detection rule, entity key): on a laundering case, on a benign look-alike; the
    attempts found and look-alikes flagged."""

    key_hit: dict[tuple[str, str], bool]
    key_benign: dict[tuple[str, str], bool]
    found: set[str]
    flagged: set[str]


def _key_verdicts(
    rows: list[tuple[str, str, date, str]],
    truth_dir: Path,
    attempts: list[Attempt],
    benign: list[Attempt],
    grace: int,
) -> _Verdicts:
    """The one place that decides whether a detection rule's key is on laundering (both tables read it)."""
    planted_cases: set[tuple[str, str]] = set()
    case_customers: set[str] = set()  # customers of the planted typology cases (keys, cycle paths)
    path = truth_dir / "planted.csv"
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                if r["kind"] == "ordinary_traffic":
                    continue
                planted_cases.add((r["rule_id"], r["entity_key"]))
                if is_detection_rule(r["rule_id"]):
                    case_customers |= set(_TOKEN.findall(f"{r['entity_key']} {r['detail']}"))
    near = truth_dir / "near_misses.csv"
    if near.is_file():  # a 13-hop cycle is a near miss of the cycle rule, still a layering chain
        with near.open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                if is_detection_rule(r["rule_id"]) and r["case_id"].startswith("NM"):
                    case_customers |= set(_TOKEN.findall(f"{r['entity_key']} {r['detail']}"))
    found: set[str] = set()
    flagged: set[str] = set()
    key_hit: dict[tuple[str, str], bool] = {}
    key_benign: dict[tuple[str, str], bool] = {}
    for rule_id, entity_key, business_date, evidence in rows:
        if not is_detection_rule(rule_id):
            continue
        tokens = set(_TOKEN.findall(f"{entity_key} {evidence}"))
        # A planted case of this rule, or a graph rule on a planted case's customer (a 12-hop
        # cycle is a layering chain too).
        hit = (rule_id, entity_key) in planted_cases or entity_key.split("|")[0] in case_customers
        for attempt in attempts:
            if _touches(attempt, business_date, tokens, grace):
                found.add(attempt.attempt_id)
                hit = True
        on_benign = False
        for lookalike in benign:
            if _touches(lookalike, business_date, tokens, grace):
                flagged.add(lookalike.attempt_id)
                on_benign = True
        key = (rule_id, entity_key)
        key_hit[key] = key_hit.get(key, False) or hit
        key_benign[key] = key_benign.get(key, False) or on_benign
    return _Verdicts(key_hit, key_benign, found, flagged)


def evaluate_patterns(settings: Settings, truth_dir: Path) -> PatternEvaluation | None:
    """Per pattern: attempts planted and found, look-alikes flagged; per detection rule: precision.

    Definitions (docs: README, "rules evaluate"):

    - an exception *touches* an attempt (or look-alike) when one of its customer ids appears
      in the exception's entity key or evidence (customer_id, a path, a list of parties) and
      the exception's business date lies in the attempt's span: from its first transaction's
      date to its last one's plus the grace, the longest ``*_lookback_days`` parameter of the
      active pack (a rule keeps reviewing a window that long after it closed);
    - an attempt is *found* when an exception of any detection rule (:func:`is_detection_rule`)
      touches it; a look-alike is *flagged* likewise;
    - a pattern's recall is found / planted; its precision is found / (found + look-alikes of
      that pattern flagged);
    - a detection rule's precision is over its distinct entity keys of every run date: a key
      is a hit when one of its exceptions touches an attempt, when it is a planted case of
      ``planted.csv`` other than ``ordinary_traffic``, or when its customer is one of a planted
      detection case or near miss (a graph rule on a planted 12- or 13-hop cycle); every other key (ordinary
      traffic, a benign look-alike) is a false positive.
    """
    attempts, benign = read_attempts(truth_dir)
    if not attempts:
        return None
    grace = _grace_days(settings)
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT rule_id, entity_key, business_date, evidence FROM results.exceptions "
            "ORDER BY rule_id, entity_key, business_date"
        ).fetchall()
    verdicts = _key_verdicts(rows, truth_dir, attempts, benign, grace)
    key_hit, key_benign, found, flagged = (
        verdicts.key_hit,
        verdicts.key_benign,
        verdicts.found,
        verdicts.flagged,
    )
    patterns = []
    for pattern in sorted({a.pattern for a in attempts}, key=_pattern_order):
        mine = [a for a in attempts if a.pattern == pattern]
        lookalikes = [b for b in benign if b.pattern == pattern]
        patterns.append(
            PatternScore(
                pattern,
                len(mine),
                sum(a.attempt_id in found for a in mine),
                len(lookalikes),
                sum(b.attempt_id in flagged for b in lookalikes),
            )
        )
    rule_ids = sorted({rule for rule, _ in key_hit})
    detection = [
        DetectionScore(
            rule,
            sum(1 for r, _ in key_hit if r == rule),
            sum(1 for (r, _), hit in key_hit.items() if r == rule and hit),
            sum(1 for (r, k), hit in key_hit.items() if r == rule and not hit and key_benign[(r, k)]),
        )
        for rule in rule_ids
    ]
    return PatternEvaluation(tuple(patterns), tuple(detection), grace)


def _pattern_order(pattern: str) -> tuple[int, str]:
    known = PATTERNS  # AMLworld's eight, in the order of Altman et al.
    return (known.index(pattern) if pattern in known else len(known), pattern)


def pattern_lines(result: PatternEvaluation | None) -> list[str]:
    """What ``regwatch rules evaluate`` prints of the laundering patterns and detection rules."""
    if result is None:
        return ["laundering patterns: no patterns.csv in the truth (generated before issue 14)"]
    lines = [
        f"laundering patterns (AMLworld): an attempt is found when a detection rule's exception names one "
        f"of its customers between its first date and its last date + {result.grace_days} days",
        f"{'pattern':<16} {'planted':>8} {'found':>6} {'benign':>7} {'flagged':>8} {'precision':>9} {'recall':>7}",
    ]
    for p in result.patterns:
        lines.append(
            f"{p.pattern:<16} {p.planted:>8} {p.found:>6} {p.benign:>7} {p.benign_flagged:>8} "
            f"{p.precision:>9.3f} {p.recall:>7.3f}"
        )
    planted = sum(p.planted for p in result.patterns)
    found = sum(p.found for p in result.patterns)
    lines.append(
        f"{'all patterns':<16} {planted:>8} {found:>6} {'':>7} {'':>8} {'':>9} {found / planted if planted else 1.0:>7.3f}"
    )
    return lines


def rule_lines(scores: list[RuleScore]) -> list[str]:
    """What ``regwatch rules evaluate`` prints per rule: one row and one precision each. The
    last column says what the precision is scored against: ``truth`` (the rule's own planted
    rows) or ``laundering`` (a detection rule: its keys on planted laundering, the verdict the
    pattern table uses); recall is over the rule's own planted rows, ``-`` without any."""
    lines = [
        f"{'rule':<50} {'planted':>8} {'found':>6} {'hits':>5} {'benign':>7} {'precision':>9} {'recall':>7} scored"
    ]
    for score in scores:
        recall = "-" if score.recall is None else f"{score.recall:.3f}"
        benign = str(score.benign) if score.is_detection else "-"
        basis = "laundering" if score.is_detection else "truth"
        lines.append(
            f"{score.rule_id:<50} {score.planted:>8} {score.found:>6} {score.hits:>5} {benign:>7} "
            f"{score.precision:>9.3f} {recall:>7} {basis}"
        )
    return lines


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
