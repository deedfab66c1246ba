"""The date macros regwatch passes through the environment (dbt_project/macros/date_from_env.sql).

``business_date()`` and ``built_through()`` share one macro, ``date_from_env``; these tests
render the three macro files with plain Jinja (dbt's context stubbed) so each behaviour is
checked in milliseconds: a var wins over the environment, the environment is read only
while dbt executes, an absent business date fails, an absent built-through date fails only
in an incremental build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros"


class CompilerError(Exception):
    pass


def _raise(message: str) -> None:
    raise CompilerError(message)


def _render(
    call: str,
    *,
    execute: bool = True,
    env: dict[str, str] | None = None,
    dbt_vars: dict[str, Any] | None = None,
    incremental: bool = False,
) -> str:
    source = "".join(
        (MACROS / name).read_text(encoding="utf-8")
        for name in ("date_from_env.sql", "business_date.sql", "built_through.sql")
    )
    environment = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    template = environment.from_string(source + "{{ " + call + " }}")
    read: list[str] = []

    def env_var(name: str, default: str) -> str:
        read.append(name)
        return (env or {}).get(name, default)

    def var(name: str, default: Any) -> Any:
        return (dbt_vars or {}).get(name, default)

    rendered = template.render(
        execute=execute,
        env_var=env_var,
        var=var,
        is_incremental=lambda: execute and incremental,
        exceptions={"raise_compiler_error": _raise},
    ).strip()
    if not execute:
        assert read == [], "the environment is read only while dbt executes"
    return rendered


def test_business_date_from_the_environment() -> None:
    rendered = _render("business_date()", env={"REGWATCH_BUSINESS_DATE": "2025-03-04"})
    assert rendered == "cast('2025-03-04' as date)"


def test_business_date_var_wins_over_the_environment() -> None:
    rendered = _render(
        "business_date()",
        env={"REGWATCH_BUSINESS_DATE": "2025-03-04"},
        dbt_vars={"business_date": "2025-01-02"},
    )
    assert rendered == "cast('2025-01-02' as date)"


def test_business_date_not_read_at_parse_time() -> None:
    assert _render("business_date()", execute=False, env={"REGWATCH_BUSINESS_DATE": "2025-03-04"}) == (
        "cast(null as date)"
    )


def test_business_date_absent_fails() -> None:
    with pytest.raises(CompilerError, match="the business date is required"):
        _render("business_date()")


def test_built_through_from_the_environment() -> None:
    rendered = _render("built_through()", env={"REGWATCH_BUILT_THROUGH": "2025-03-03"}, incremental=True)
    assert rendered == "cast('2025-03-03' as date)"


def test_built_through_ignores_the_business_date_var() -> None:
    rendered = _render("built_through()", dbt_vars={"business_date": "2025-01-02"})
    assert rendered == "cast(null as date)"


def test_built_through_absent_is_null_in_a_full_build() -> None:
    assert _render("built_through()") == "cast(null as date)"


def test_built_through_absent_fails_in_an_incremental_build() -> None:
    with pytest.raises(
        CompilerError, match="an incremental build needs the date of the build it continues from"
    ):
        _render("built_through()", incremental=True)
