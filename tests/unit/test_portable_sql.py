"""The dbt project's SQL is portable: no DuckDB-only construct outside a ``duckdb__`` macro.

DuckDB is the embedded default, not the only engine (CONVENTIONS.md "Portable SQL";
issue 19: the same project on Spark through dbt-spark). Types are spelled through dbt's
cross-database macros (``dbt.type_string()``: Spark refuses ``varchar`` without a size,
DATATYPE_MISSING_SIZE), and what one engine spells its own way (a series of integers,
the day of the week, a null-on-failure cast) sits behind a project macro with one
``<adapter>__`` implementation per engine. This test reads every model, macro and
singular test with the ``duckdb__`` macros and the comments taken out, and fails on any
construct that only DuckDB accepts, naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"

# DuckDB-only SQL (each with why it fails elsewhere, Spark 4 the first other engine).
DUCKDB_ONLY = {
    r"\bvarchar\b": "varchar: Spark needs a size (use dbt.type_string())",
    r"\bisodow\b": "isodow: DuckDB/Postgres only (next_weekday dispatches)",
    r"\bfrom\s+range\s*\(": "range() table function: DuckDB only (integers_up_to dispatches)",
    r"\bgenerate_series\s*\(": "generate_series(): not in Spark (integers_up_to dispatches)",
    r"\bstring_agg\s*\(": "string_agg: use dbt.listagg (spark__listagg keeps the ORDER BY)",
    r"::": ":: cast: Postgres/DuckDB shorthand, use cast(x as type)",
    r"\bgroup\s+by\s+all\b": "group by all: DuckDB only",
    r"\border\s+by\s+all\b": "order by all: DuckDB only",
    r"\bexclude\s*\(": "select * exclude (...): DuckDB only",
    r"\bunion\s+(all\s+)?by\s+name\b": "union by name: DuckDB only",
    r"\blist_\w+\s*\(": "list_* functions: DuckDB only",
    r"\bstruct_pack\s*\(": "struct_pack: DuckDB only",
    r"\bstrftime\s*\(": "strftime: DuckDB only (Spark: date_format)",
    r"\bstrptime\s*\(": "strptime: DuckDB only (Spark: to_date/to_timestamp)",
    r"\bepoch\w*\s*\(": "epoch(): DuckDB only",
    r"\bhugeint\b": "hugeint: DuckDB only",
    r"\barg_(max|min)\s*\(": "arg_max/arg_min: DuckDB spelling (Spark: max_by/min_by)",
    r"\bilike\b": "ilike: not standard SQL",
    r"incremental_strategy\s*=\s*['\"]delete\+insert": "delete+insert: dbt-spark refuses it (use by_key_strategy())",
}

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_DUCKDB_MACRO = re.compile(r"\{%-?\s*macro\s+duckdb__.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
_SQL_COMMENT = re.compile(r"--[^\n]*")


def _sql_files() -> list[Path]:
    return sorted(
        path for folder in ("models", "macros", "tests") for path in (DBT_PROJECT / folder).rglob("*.sql")
    )


def _portable_part(text: str) -> str:
    """The SQL every engine runs: comments and ``duckdb__`` macro bodies blanked (line numbers kept)."""

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    for pattern in (_JINJA_COMMENT, _DUCKDB_MACRO, _SQL_COMMENT):
        text = pattern.sub(blank, text)
    return text


def _findings(text: str) -> list[tuple[int, str]]:
    portable = _portable_part(text)
    found = []
    for pattern, why in DUCKDB_ONLY.items():
        for match in re.finditer(pattern, portable, flags=re.IGNORECASE):
            found.append((portable.count("\n", 0, match.start()) + 1, why))
    return sorted(found)


def test_no_duckdb_only_sql_outside_duckdb_macros() -> None:
    files = _sql_files()
    assert len(files) > 50, "the project's SQL files were not found"
    findings = [
        f"{path.relative_to(DBT_PROJECT)}:{line}: {why}"
        for path in files
        for line, why in _findings(path.read_text(encoding="utf-8"))
    ]
    assert findings == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select cast(x as varchar) as y", ["varchar"]),
        ("select x::date", [":: cast"]),
        ("select n from range(1, 10)", ["range() table function"]),
        ("select * exclude (a) from t", ["select * exclude"]),
        ("{% macro duckdb__f() %}select cast(x as varchar){% endmacro %}", []),
        ("{#- cast(x as varchar) in a comment -#} select 1", []),
        ("select 1 -- cast(x as varchar)", []),
        ("select cast(x as {{ dbt.type_string() }})", []),
        ("{% macro spark__f() %}select cast(x as varchar){% endmacro %}", ["varchar"]),
    ],
)
def test_the_check_sees_what_only_duckdb_accepts(sql: str, expected: list[str]) -> None:
    found = [why for _, why in _findings(sql)]
    assert len(found) == len(expected)
    for why, start in zip(found, expected, strict=True):
        assert why.startswith(start)


def _nested_expressions(text: str) -> list[int]:
    """Lines of a ``{{ ... }}`` or ``{% ... %}`` holding another ``{{``: Jinja never renders it."""
    lines = []
    for match in re.finditer(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text, flags=re.DOTALL):
        if "{{" in (match.group(1) or match.group(2) or ""):
            lines.append(text.count("\n", 0, match.start()) + 1)
    return lines


def test_no_macro_call_inside_a_jinja_string() -> None:
    # e.g. dbt.listagg("cast(x as {{ dbt.type_string() }})", ...) reaches the engine as
    # the literal text "{{ dbt.type_string() }}": concatenate with ~ instead.
    nested = [
        f"{path.relative_to(DBT_PROJECT)}:{line}"
        for path in _sql_files()
        for line in _nested_expressions(_JINJA_COMMENT.sub("", path.read_text(encoding="utf-8")))
    ]
    assert nested == []
    assert _nested_expressions('{{ f("cast(x as {{ dbt.type_string() }})") }}') == [1]


def test_yaml_types_are_portable() -> None:
    # Contracts and seed column types: DuckDB reads `string` as VARCHAR; Spark has no
    # `varchar` without a size.
    found = [
        f"{path.relative_to(DBT_PROJECT)}:{number}"
        for path in sorted(DBT_PROJECT.rglob("*.yml"))
        if "target" not in path.relative_to(DBT_PROJECT).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r":\s*varchar\b", line, flags=re.IGNORECASE)
    ]
    assert found == []


def test_incremental_strategies_are_portable() -> None:
    # dbt-spark refuses delete+insert for Parquet tables ("Invalid incremental strategy"),
    # even on a full refresh: a model merged by key spells the choice per adapter
    # (macros/by_key_strategy.sql; inline in YAML, where no macro runs).
    found = [
        f"{path.relative_to(DBT_PROJECT)}:{number}"
        for path in sorted(DBT_PROJECT.rglob("*.yml"))
        if "target" not in path.relative_to(DBT_PROJECT).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"incremental_strategy:\s*['\"]?delete\+insert", line)
    ]
    assert found == []
