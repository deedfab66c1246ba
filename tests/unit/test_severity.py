"""One severity vocabulary (issue 16): order, labels and colours defined once.

The daily report draws severities twice - as CSS badges, tiles and cards, and as the
stacked bars of its alerts chart - and a reader matches one to the other by colour.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from regwatch.config import Settings
from regwatch.reporting import daily as daily_report
from regwatch.reporting import render as report
from tests.conftest import REPO_ROOT

SEVERITIES = ("critical", "high", "medium", "low")
#: The CSS rules that colour a severity: selector pattern -> property holding the colour.
_RULES = {
    "badge": r"\.sev-{s}\s*\{{\s*background:\s*(#[0-9a-fA-F]{{6}})",
    "tile": r"\.tile\.s-{s}\s*\{{\s*border-left:\s*5px solid\s*(#[0-9a-fA-F]{{6}})",
    "card": r"\.card\.c-{s}\s*\{{\s*border-left-color:\s*(#[0-9a-fA-F]{{6}})",
}


def _rendered_styles(tmp_path: Path) -> str:
    """Every template's <style> blocks, rendered by the reports' own Jinja environment."""
    settings = Settings.from_env({"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(tmp_path / "var")})
    env = report.environment(settings)
    styles = []
    for template in sorted((REPO_ROOT / "reports").glob("*.j2")):
        for block in re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.DOTALL):
            styles.append(env.from_string(block).render())
    return "\n".join(styles)


def _chart_colours() -> dict[str, str]:
    """The colour of each severity in the daily report's chart of alerts firing (its legend)."""
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA results; CREATE TABLE results.alert_log (business_date DATE);"
        "CREATE TABLE results.alert_days (business_date DATE, status VARCHAR, severity VARCHAR)"
    )
    con.execute("INSERT INTO results.alert_log VALUES ('2025-06-02')")
    for n, severity in enumerate(SEVERITIES):
        con.execute(
            "INSERT INTO results.alert_days VALUES ('2025-06-02', ?, ?)", [("new", "open")[n % 2], severity]
        )
    svg = daily_report._trend(con, date(2025, 6, 2))["firing_chart"]
    legend = re.findall(r'<rect [^>]*fill="(#[0-9a-fA-F]{6})"/>\n<text [^>]*>([A-Za-z]+)</text>', svg)
    return {label.lower(): colour.lower() for colour, label in legend}


@pytest.mark.parametrize("what", sorted(_RULES))
def test_chart_colours_equal_the_css_colours(what: str, tmp_path: Path) -> None:
    css = _rendered_styles(tmp_path)
    chart = _chart_colours()
    assert set(chart) == set(SEVERITIES), chart
    for severity in SEVERITIES:
        found = re.findall(_RULES[what].format(s=severity), css)
        assert found, f"no CSS {what} colour for {severity}"
        assert {c.lower() for c in found} == {chart[severity]}, (what, severity, found)


def test_severity_is_defined_once() -> None:
    """No other module or template spells the severities' order, labels or colours."""
    from typing import get_args

    from regwatch import rules, severity

    assert get_args(rules.Rule.model_fields["severity"].annotation) == severity.SEVERITIES == SEVERITIES
    spelled = re.compile(
        r"""["']critical["']\s*,\s*["']high["']|WHEN 'critical'|[.-]critical\s*\{|SEVERITY_COLOURS\s*=|critical["']:\s*["']#"""
    )
    for path in sorted((REPO_ROOT / "src" / "regwatch").rglob("*.py")) + sorted(
        (REPO_ROOT / "reports").glob("*.j2")
    ):
        if path.name == "severity.py":
            continue
        assert not spelled.search(path.read_text(encoding="utf-8")), path


def test_alert_ranking_in_sql_follows_the_vocabulary() -> None:
    from regwatch import severity

    con = duckdb.connect()
    for name in (*SEVERITIES, "unheard_of"):
        rank = con.execute(f"SELECT {severity.rank_sql('?')}", [name]).fetchone()
        assert rank == (severity.RANK.get(name, severity.UNKNOWN_RANK),)
        back = con.execute(f"SELECT {severity.name_sql('?')}", [rank[0]]).fetchone()
        assert back == ((name if name in SEVERITIES else "low"),)
