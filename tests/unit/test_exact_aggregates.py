"""Sums and averages in the dbt project are exact: none adds up DOUBLE values.

A sum of DOUBLEs depends on the order its rows are added in, and DuckDB and Spark
aggregate in parallel, so that order changes from run to run. The filing's principal-weighted
real APR summed ``cast(principal as double) * real_apr`` and its last digits differed
between a full and an incremental build of the same date (6468613.16014517 vs
6468613.16014518 for 2025Q2 as of 2025-06-05). Same inputs must give byte-identical
outputs (DESIGN.md, "Reproducible"), so a per-row DOUBLE is fixed to a DECIMAL before it
is summed; DECIMAL sums are exact in any order.

The check reads every model and macro (comments taken out) and fails on a ``sum(`` or
``avg(`` whose argument casts to a floating type or does arithmetic with a column the
contracts declare DOUBLE (``data_type: double``), naming the file and line.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"

_AGGREGATE = re.compile(r"\b(sum|avg)\s*\(", re.IGNORECASE)
_FLOAT_CAST = re.compile(r"\bas\s+(double|float|real)\b", re.IGNORECASE)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_SQL_COMMENT = re.compile(r"--[^\n]*")


def _double_columns() -> frozenset[str]:
    """The columns the model contracts declare DOUBLE (APRs, shares, annualised rates)."""
    names = set()
    for path in (DBT_PROJECT / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            for column in model.get("columns", []):
                if str(column.get("data_type", "")).lower() in {"double", "float", "real"}:
                    names.add(column["name"])
    return frozenset(names)


def _argument(text: str, start: int) -> str:
    """The text between the parenthesis opened just before ``start`` and its match."""
    depth = 1
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[start:end]
    return text[start:]


def _inexact_aggregates(sql: str, double_columns: frozenset[str]) -> list[int]:
    """Line numbers of the sums and averages over a DOUBLE in ``sql``."""

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    text = _SQL_COMMENT.sub(blank, _JINJA_COMMENT.sub(blank, sql))
    column = r"(?:\w+\.)?(?:" + "|".join(sorted(double_columns)) + r")\b"
    arithmetic = re.compile(rf"[*/+-]\s*{column}|\b{column}\s*[*/+-]|^\s*{column}\s*$", re.IGNORECASE)
    lines = []
    for match in _AGGREGATE.finditer(text):
        argument = _argument(text, match.end())
        if _FLOAT_CAST.search(argument) or arithmetic.search(argument):
            lines.append(text.count("\n", 0, match.start()) + 1)
    return lines


def test_no_sum_or_average_over_a_double() -> None:
    double_columns = _double_columns()
    assert "real_apr" in double_columns, "the contracts' DOUBLE columns were not found"
    files = sorted(path for folder in ("models", "macros") for path in (DBT_PROJECT / folder).rglob("*.sql"))
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path in files
        for line in _inexact_aggregates(path.read_text(encoding="utf-8"), double_columns)
    ]
    assert not found, f"sum/avg over a DOUBLE (order-dependent last digits): {found}"


@pytest.mark.parametrize(
    ("sql", "inexact"),
    [
        ("select sum(cast(principal as double) * real_apr) from p", True),
        ("select avg(positions.real_apr) from p", True),
        ("select sum(p.principal * p.real_apr) from p", True),
        ("select sum(cast(x as DOUBLE)) from p", True),
        ("select sum(case when real_apr > cap then 1 else 0 end) from p", False),
        ("select sum(apr_weighted_principal) from p", False),
        ("select sum(principal) -- a comment: sum(cast(x as double))\nfrom p", False),
    ],
)
def test_the_check_sees_a_sum_over_a_double(sql: str, inexact: bool) -> None:
    assert bool(_inexact_aggregates(sql, frozenset({"real_apr"}))) is inexact
