"""The rule pack's thresholds, as the generator plants around them: read from ``_pack.yml``, never copied.

Every planted case sits on a known side of a rule's line (well above it, exactly on it, one
cent under it), so the generator needs the very numbers the rules compare against. They
are read here, once per platform, from the pack the truth is written for (``checks/cn``
by default): recalibrate the pack and the planted cases follow, with nothing to keep equal.
Thresholds of the generator's own making (how far ordinary traffic stays from a line) are
not policy and stay beside the code that draws the traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from regwatch.rules import load_pack


def _cents(value: Any) -> int:
    return int(Decimal(str(value)) * 100)


@dataclass(frozen=True)
class Calibration:
    """The values of a pack's parameters (name -> value), with the typed views the planters use."""

    parameters: dict[str, Any]

    def large_value_line(self, category: str) -> tuple[int, int]:
        """The (CNY, USD) line of a large-value category (PBOC Order [2016] No. 3 art. 5 (1)-(4):
        ``cash``, ``entity_transfer``, ``individual_domestic_transfer``,
        ``individual_cross_border_transfer``), in cents, inclusive."""
        return (
            _cents(self.parameters[f"large_{category}_threshold_cny"]),
            _cents(self.parameters[f"large_{category}_threshold_usd"]),
        )

    # Screening, rings, proceeds, churn (cn.aml.watchlist_*, borrower_ring, loan_proceeds_moved_on,
    # account_churn).
    @property
    def watchlist_min_score(self) -> float:
        return float(self.parameters["watchlist_match_min_score"])

    @property
    def ring_repayment_purpose(self) -> str:
        return str(self.parameters["ring_repayment_purpose"])

    @property
    def proceeds_window_hours(self) -> int:
        return int(self.parameters["proceeds_window_hours"])

    @property
    def proceeds_min_share(self) -> float:
        return float(self.parameters["proceeds_min_share"])

    @property
    def churn_window_days(self) -> int:
        return int(self.parameters["churn_window_days"])

    @property
    def churn_min_events(self) -> int:
        return int(self.parameters["churn_min_events"])

    # Disclosure limits (Interim Measures 2016 art. 17; the pack's concentration policy).
    @property
    def individual_limit(self) -> Decimal:
        return Decimal(str(self.parameters["borrower_limit_individual_cny"]))

    @property
    def entity_limit(self) -> Decimal:
        return Decimal(str(self.parameters["borrower_limit_entity_cny"]))

    @property
    def top10_share_max(self) -> Decimal:
        return Decimal(str(self.parameters["top10_borrower_share_max"]))

    @property
    def single_share_max(self) -> Decimal:
        return Decimal(str(self.parameters["single_borrower_share_max"]))


def load(pack_dir: Path) -> Calibration:
    """The calibration of the pack in ``pack_dir`` (parsed and validated by :func:`regwatch.rules.load_pack`)."""
    return Calibration({name: p.value for name, p in load_pack(pack_dir).parameters.items()})
