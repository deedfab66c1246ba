"""Run a rule pack through Great Expectations on the DuckDB marts; every failing row is an exception.

GX executes each rule's expectation as SQL inside DuckDB (no data is pulled into
pandas). Its result is a count plus a truncated sample, so the complete list of
failing rows comes from the SQL GX itself returns for them
(``unexpected_index_query``), and the two counts must agree.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from regwatch.rules import Rule, RulePack

EXCEPTION_COLUMNS = (
    "run_id",
    "business_date",
    "rule_id",
    "severity",
    "legal_basis",
    "model",
    "entity_key",
    "message",
    "evidence",
)
MARTS_SCHEMA = "marts"


class ValidationError(RuntimeError):
    """GX and the warehouse disagree, or a rule's model is missing."""


class _DuckDBDialect(str):
    """Looks like GX's dialect enum members (a str with ``.value``) for the name "duckdb"."""

    @property
    def value(self) -> str:
        return str(self)


def enable_gx_duckdb() -> None:
    """Make GX keep one persisted SQLAlchemy connection for DuckDB, as it does for SQLite.

    Without it GX closes its pooled connection before fetching, duckdb-engine's cursor
    shares that connection, and every expectation fails with an empty result
    ("list index out of range"). Upstream: great_expectations issues #10738 and #11579,
    native DuckDB engine PR #12084. ``tests/unit/test_gx_duckdb_fix.py`` fails when GX's
    behaviour changes, so this is removed as soon as it is no longer needed.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    if "duckdb" not in engine._PERSISTED_CONNECTION_DIALECTS:
        engine._PERSISTED_CONNECTION_DIALECTS = (  # type: ignore[assignment]
            *engine._PERSISTED_CONNECTION_DIALECTS,
            _DuckDBDialect("duckdb"),
        )


@contextmanager
def _quiet() -> Iterator[None]:
    """GX logs INFO lines (some on loggers with their own level) and draws progress bars."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


def _expectation(rule: Rule, kwargs: dict[str, Any]) -> Any:
    import great_expectations as gx

    class_name = "".join(part.title() for part in rule.expectation.split("_"))
    expectation_class = getattr(gx.expectations, class_name)
    return expectation_class(**kwargs, meta={"rule_id": rule.id})


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 8)
    return value


def _message(rule: Rule, evidence: dict[str, Any], kwargs: dict[str, Any]) -> str:
    values = {k: (float(v) if isinstance(v, Decimal) else v) for k, v in evidence.items()}
    try:
        return rule.message.format(**kwargs, **values).strip()
    except (KeyError, ValueError, TypeError):
        return f"{rule.title} ({rule.column} = {evidence.get(rule.column)})"


def _failing_rows_sql(index_query: str, rule: Rule) -> str:
    """Turn GX's unexpected-index query into one that selects the evidence columns.

    GX returns ``SELECT <index columns> FROM <table> WHERE <failing condition>``; the
    condition is GX's own, so the list cannot drift from GX's count.
    """
    match = re.search(r"\bFROM\b(.*)$", index_query, flags=re.IGNORECASE | re.DOTALL)
    if match is None:
        raise ValidationError(f"{rule.id}: GX returned no usable query for the failing rows")
    columns = list(dict.fromkeys([rule.entity_key, *rule.evidence]))
    return f"SELECT {', '.join(columns)} FROM{match.group(1)}"


def run_rules(warehouse_path: Path, pack: RulePack, business_date: date, run_id: str) -> pd.DataFrame:
    """Every rule of ``pack`` in force on ``business_date``: one row per failing entity."""
    rules = pack.applicable(business_date)
    rows: list[dict[str, Any]] = []
    if rules:
        with _quiet():
            rows = _run(warehouse_path, pack, rules, business_date, run_id)
    frame = pd.DataFrame(rows, columns=list(EXCEPTION_COLUMNS))
    return frame.sort_values(["rule_id", "entity_key"], kind="stable").reset_index(drop=True)


def _run(
    warehouse_path: Path, pack: RulePack, rules: tuple[Rule, ...], business_date: date, run_id: str
) -> list[dict[str, Any]]:
    import great_expectations as gx
    import sqlalchemy as sa

    enable_gx_duckdb()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    source = context.data_sources.add_sql(
        name="warehouse",
        # Not read-only: DuckDB refuses a second connection to the same file in one
        # process with a different configuration, and the caller writes right after.
        connection_string=f"duckdb:///{warehouse_path}",
    )
    rows: list[dict[str, Any]] = []
    try:
        engine = source.get_engine()
        with engine.connect() as connection:
            tables = {
                r[0]
                for r in connection.execute(
                    sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                    {"s": MARTS_SCHEMA},
                )
            }
        for model in sorted({rule.model for rule in rules}):
            if model not in tables:
                raise ValidationError(
                    f"rule model {MARTS_SCHEMA}.{model} does not exist: run the transform step first"
                )
            asset = source.add_table_asset(name=model, table_name=model, schema_name=MARTS_SCHEMA)
            batch = asset.add_batch_definition_whole_table(f"{model}_all").get_batch()
            # The rules of one model and entity key go through GX as one suite: GX then
            # reflects the table once and bundles the metrics, instead of once per rule.
            for entity_key in sorted({r.entity_key for r in rules if r.model == model}):
                group = [r for r in rules if r.model == model and r.entity_key == entity_key]
                for rule, result in _validate_group(gx, batch, pack, group):
                    rows.extend(_exceptions(engine, sa, pack, rule, result, business_date, run_id))
    finally:
        _close(source)
    return rows


def _validate_group(gx: Any, batch: Any, pack: RulePack, group: list[Rule]) -> list[tuple[Rule, Any]]:
    """Each rule of ``group`` (one model, one entity key) with its GX result, from one suite run."""
    suite = gx.ExpectationSuite(
        name=f"{group[0].model}:{group[0].entity_key}",
        expectations=[_expectation(rule, rule.resolved_kwargs(pack.parameters)) for rule in group],
    )
    validation = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [group[0].entity_key],
            "return_unexpected_index_query": True,
        },
    )
    by_id = {str(result.expectation_config.meta["rule_id"]): result for result in validation.results}
    missing = [rule.id for rule in group if rule.id not in by_id]
    if missing:
        raise ValidationError(f"{missing[0]}: GX returned no result")
    return [(rule, by_id[rule.id]) for rule in group]


def _exceptions(
    engine: Any, sa: Any, pack: RulePack, rule: Rule, result: Any, business_date: date, run_id: str
) -> list[dict[str, Any]]:
    """The exception rows of one rule: every failing row, listed by GX's own query."""
    if result.exception_info.get("raised_exception"):
        raise ValidationError(f"{rule.id}: GX failed: {result.exception_info.get('exception_message')}")
    kwargs = rule.resolved_kwargs(pack.parameters)
    expected = int(result.result.get("unexpected_count") or 0)
    failing: list[dict[str, Any]] = []
    if expected:
        query = _failing_rows_sql(str(result.result["unexpected_index_query"]), rule)
        with engine.connect() as connection:
            failing = [dict(r._mapping) for r in connection.execute(sa.text(query))]
    if len(failing) != expected:
        raise ValidationError(
            f"{rule.id}: GX counts {expected} failing rows but its query returns {len(failing)}"
        )
    rows: list[dict[str, Any]] = []
    for record in failing:
        evidence = {column: _json_value(record[column]) for column in rule.evidence}
        rows.append(
            {
                "run_id": run_id,
                "business_date": business_date,
                "rule_id": rule.id,
                "severity": rule.severity,
                "legal_basis": " ".join(rule.legal_basis.split()),
                "model": rule.model,
                "entity_key": str(record[rule.entity_key]),
                "message": " ".join(_message(rule, record, kwargs).split()),
                "evidence": json.dumps(evidence, ensure_ascii=False),  # in the rule's evidence order
            }
        )
    return rows


def _close(source: Any) -> None:
    """Close GX's persisted connection and dispose of every engine: DuckDB has one writer."""
    execution_engine = source.get_execution_engine()
    if execution_engine._connection is not None:
        execution_engine._connection.close()
        execution_engine._connection = None
    execution_engine.engine.dispose()
    source.get_engine().dispose()
