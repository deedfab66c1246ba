"""The generator reads the pack's thresholds (regwatch.demo.calibration), it keeps no copy of them."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from regwatch.demo import calibration, generate
from tests.conftest import REPO_ROOT

CN = REPO_ROOT / "checks" / "cn"


def _values(pack_dir: Path) -> dict[str, object]:
    data = yaml.safe_load((pack_dir / "_pack.yml").read_text(encoding="utf-8"))
    return {name: spec["value"] for name, spec in data["parameters"].items()}


def test_every_threshold_is_the_packs_value() -> None:
    raw = _values(CN)
    cal = calibration.load(CN)
    assert cal.parameters == raw
    assert cal.watchlist_min_score == raw["watchlist_match_min_score"]
    assert cal.ring_repayment_purpose == raw["ring_repayment_purpose"]
    assert cal.proceeds_window_hours == raw["proceeds_window_hours"]
    assert cal.proceeds_min_share == raw["proceeds_min_share"]
    assert cal.churn_window_days == raw["churn_window_days"]
    assert cal.churn_min_events == raw["churn_min_events"]
    assert cal.individual_limit == Decimal(str(raw["borrower_limit_individual_cny"]))
    assert cal.entity_limit == Decimal(str(raw["borrower_limit_entity_cny"]))
    assert cal.top10_share_max == Decimal(str(raw["top10_borrower_share_max"]))
    assert cal.single_share_max == Decimal(str(raw["single_borrower_share_max"]))
    assert cal.large_value_line("cash") == (
        int(Decimal(str(raw["large_cash_threshold_cny"])) * 100),
        int(Decimal(str(raw["large_cash_threshold_usd"])) * 100),
    )


def test_a_recalibrated_pack_moves_the_planted_cases(tmp_path: Path) -> None:
    """Raise the cash line to CNY 60,000 in a copy of the pack: the case planted exactly on the
    line is planted on the new line, and the cases one cent under it sit one cent under that."""
    pack = tmp_path / "cn"
    shutil.copytree(CN, pack)
    text = (pack / "_pack.yml").read_text(encoding="utf-8")
    assert text.count("  large_cash_threshold_cny:\n    value: 50000\n") == 1
    (pack / "_pack.yml").write_text(
        text.replace(
            "  large_cash_threshold_cny:\n    value: 50000\n",
            "  large_cash_threshold_cny:\n    value: 60000\n",
        ),
        encoding="utf-8",
    )
    out = tmp_path / "landing"
    generate(
        out,
        date(2025, 6, 2),
        date(2025, 6, 6),
        loans=60,
        accounts=150,
        seed=3,
        reference_dir=REPO_ROOT / "dbt_project" / "seeds" / "reference",
        pack_dir=pack,
    )

    def cash(name: str) -> dict[str, str]:
        with (out / "_truth" / name).open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["rule_id"] == "cn.aml.large_cash"]
        return {r["kind"]: r["detail"] for r in rows}

    assert "cny=60000.00;" in cash("planted.csv")["exact_threshold"]
    assert "cny=59999.99;" in cash("near_misses.csv")["single_below"]
