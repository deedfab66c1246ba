"""One severity vocabulary: the order, labels and colours every part of regwatch uses.

A rule's ``severity`` (checks/*/*.yml, typed by :data:`Severity`), the alerts' ranking in
SQL (a customer-day takes its worst rule's severity), the daily report's order, tiles and
cards, the chart's stacked bars and the CSS badges all derive from :data:`LEVELS`, so a
reader matches a badge to a bar by its colour. A leaf module: it imports nothing of regwatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]


@dataclass(frozen=True)
class Level:
    """One severity: its name in rules and tables, its label in reports, its colour (badge
    background with white text, tile and card border, chart bar)."""

    name: Severity
    label: str
    colour: str


#: Most severe first: the order of every list, count and chart of severities.
LEVELS: tuple[Level, ...] = (
    Level("critical", "Critical", "#b42318"),
    Level("high", "High", "#dc6803"),
    Level("medium", "Medium", "#ca8504"),
    Level("low", "Low", "#667085"),
)
#: The names in order; tests/unit/test_severity.py keeps them equal to :data:`Severity`.
SEVERITIES: tuple[Severity, ...] = tuple(level.name for level in LEVELS)
RANK: dict[str, int] = {level.name: n for n, level in enumerate(LEVELS)}
LABELS: dict[str, str] = {level.name: level.label for level in LEVELS}
COLOURS: dict[str, str] = {level.name: level.colour for level in LEVELS}
#: The severities a report puts first (actions due, alerts printed in full): critical and high.
URGENT_SEVERITIES: tuple[Severity, ...] = SEVERITIES[:2]
#: The rank of a severity unknown to the vocabulary: after every known one.
UNKNOWN_RANK = len(LEVELS)


def rank_sql(column: str = "severity") -> str:
    """SQL: the rank of ``column`` (0 = critical; unknown values last)."""
    whens = " ".join(f"WHEN '{level.name}' THEN {n}" for n, level in enumerate(LEVELS))
    return f"CASE {column} {whens} ELSE {UNKNOWN_RANK} END"


def name_sql(rank: str) -> str:
    """SQL: the severity of a rank computed by :func:`rank_sql` (an unknown rank: the least severe)."""
    whens = " ".join(f"WHEN {n} THEN '{level.name}'" for n, level in enumerate(LEVELS[:-1]))
    return f"CASE {rank} {whens} ELSE '{LEVELS[-1].name}' END"
