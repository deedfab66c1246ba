"""Run a rule pack through Great Expectations on the DuckDB marts; every failing row is an exception.

GX executes each rule's expectation as SQL inside DuckDB (no data is pulled into
pandas). Its result is a count plus a truncated sample, so the complete list of
failing rows comes from the SQL GX itself returns for them
(``unexpected_index_query``), and the two counts must agree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from regwatch._gx_duckdb import enable_gx_duckdb, speed_up_duckdb_reflection
from regwatch.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from regwatch.rules import Rule, RulePack
from regwatch.warehouse import duckdb_config

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


#: Failing values GX samples into each result (``partial_unexpected_list``). The complete
#: list comes from GX's unexpected-index query, so the sample is not needed; 0 keeps GX
#: from running a LIMIT query per rule for values nobody reads.
PARTIAL_UNEXPECTED_COUNT = 0


def _index_columns(rules: list[Rule]) -> list[str]:
    """Entity keys and evidence of ``rules``, once each: the columns GX's failing-row query selects."""
    return list(dict.fromkeys(column for rule in rules for column in (rule.entity_key, *rule.evidence)))


def run_rules(
    warehouse_path: Path,
    pack: RulePack,
    business_date: date,
    run_id: str,
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> pd.DataFrame:
    """Every rule of ``pack`` in force on ``business_date``: one row per failing entity."""
    return _exception_frame(
        pack,
        business_date,
        lambda rules: _run(warehouse_path, pack, rules, business_date, run_id, memory_limit),
    )


def _exception_frame(
    pack: RulePack,
    business_date: date,
    run: Callable[[tuple[Rule, ...]], list[dict[str, Any]]],
) -> pd.DataFrame:
    """The rules of ``pack`` in force on ``business_date`` run by ``run`` (an engine's GX run,
    its logging quiet): one exception frame, ordered by rule and entity."""
    rules = pack.applicable(business_date)
    rows: list[dict[str, Any]] = []
    if rules:
        with _quiet():
            rows = run(rules)
    frame = pd.DataFrame(rows, columns=list(EXCEPTION_COLUMNS))
    return frame.sort_values(["rule_id", "entity_key"], kind="stable").reset_index(drop=True)


def _require_models(models: list[str], tables: set[str]) -> None:
    """A rule's mart not built is a failed run, not a silent pass."""
    for model in models:
        if model not in tables:
            raise ValidationError(
                f"rule model {MARTS_SCHEMA}.{model} does not exist: run the transform step first"
            )


def _run(
    warehouse_path: Path,
    pack: RulePack,
    rules: tuple[Rule, ...],
    business_date: date,
    run_id: str,
    memory_limit: str,
) -> list[dict[str, Any]]:
    import great_expectations as gx
    import sqlalchemy as sa
    from great_expectations.datasource.fluent.sql_datasource import SQLDatasource, TableAsset

    enable_gx_duckdb()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    models = sorted({rule.model for rule in rules})
    # DuckDB's memory limit and spill folder, as on every connection (regwatch.warehouse).
    engine_kwargs = {"connect_args": {"config": duckdb_config(warehouse_path, memory_limit)}}
    engine = sa.create_engine(f"duckdb:///{warehouse_path}", **engine_kwargs)
    try:
        with engine.connect() as connection:
            tables = {
                r[0]
                for r in connection.execute(
                    sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                    {"s": MARTS_SCHEMA},
                )
            }
    finally:
        engine.dispose()
    _require_models(models, tables)
    # Every rule model is a table asset of one data source, declared together: the context
    # saves its configuration once, not twice per model (asset, then batch definition).
    source = context.data_sources.add_sql(
        datasource=SQLDatasource(
            name="warehouse",
            # Not read-only: DuckDB refuses a second connection to the same file in one
            # process with a different configuration, and the caller writes right after.
            connection_string=f"duckdb:///{warehouse_path}",
            kwargs=engine_kwargs,
            assets=[TableAsset(name=m, table_name=m, schema_name=MARTS_SCHEMA) for m in models],
        )
    )
    rows: list[dict[str, Any]] = []
    try:
        execution_engine = source.get_execution_engine()
        speed_up_duckdb_reflection(execution_engine.engine.dialect)
        for model in models:
            group = [rule for rule in rules if rule.model == model]
            asset = source.get_asset(model)
            batch = asset.get_batch(asset.build_batch_request())
            for rule, result in _validate_model(gx, batch, pack, group):
                rows.extend(_exceptions(execution_engine, sa, pack, rule, result, business_date, run_id))
    finally:
        _close(source)
    return rows


def run_rules_on_spark(
    spark: Any,
    pack: RulePack,
    business_date: date,
    run_id: str,
    column_types: dict[str, dict[str, str]],
) -> pd.DataFrame:
    """:func:`run_rules` on the Spark engine: GX's Spark data source over the marts Spark built.

    The same rule pack, the same suites (one per model) and the same exception rows as on
    DuckDB. Each mart is read as a Spark DataFrame with its contract's column types (what
    DuckDB stores: Spark widens decimal products), and GX computes each expectation in
    Spark. GX's Spark engine lists every failing row itself (result format COMPLETE with
    the entity key and evidence columns: ``unexpected_index_list`` is not cut short on
    Spark), so no query of GX's is run again; its count and its list must agree.
    ``column_types``: ``schema.table`` -> column -> type (:func:`regwatch.spark.contract_types`).
    """
    return _exception_frame(
        pack,
        business_date,
        lambda rules: _run_spark(spark, pack, rules, business_date, run_id, column_types),
    )


def _run_spark(
    spark: Any,
    pack: RulePack,
    rules: tuple[Rule, ...],
    business_date: date,
    run_id: str,
    column_types: dict[str, dict[str, str]],
) -> list[dict[str, Any]]:
    import great_expectations as gx

    from regwatch.spark import contracted_frame

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    tables = {t.name for t in spark.catalog.listTables(MARTS_SCHEMA)}
    models = sorted({rule.model for rule in rules})
    _require_models(models, tables)
    source = context.data_sources.add_spark(name="spark")
    rows: list[dict[str, Any]] = []
    for model in models:
        relation = f"{MARTS_SCHEMA}.{model}"
        frame = contracted_frame(spark, relation, column_types.get(relation, {}))
        asset = source.add_dataframe_asset(name=model)
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": frame}
        )
        group = [rule for rule in rules if rule.model == model]
        for rule, result in _validate_model(gx, batch, pack, group, complete=True):
            if result.exception_info.get("raised_exception"):
                raise ValidationError(
                    f"{rule.id}: GX failed: {result.exception_info.get('exception_message')}"
                )
            expected = int(result.result.get("unexpected_count") or 0)
            failing = list(result.result.get("unexpected_index_list") or []) if expected else []
            rows.extend(_exception_rows(pack, rule, failing, expected, business_date, run_id))
    return rows


def _validate_model(
    gx: Any, batch: Any, pack: RulePack, group: list[Rule], complete: bool = False
) -> list[tuple[Rule, Any]]:
    """Each rule of ``group`` (one model) with its GX result, from one suite run.

    One suite per model: GX reflects the table once and bundles the rules' counts into
    one aggregate query. Result format BASIC with the unexpected-index query: GX counts
    the failing rows and returns the SQL that lists them (selecting the entity keys and
    evidence named here), without also fetching a sample list and an index list per rule.
    """
    suite = gx.ExpectationSuite(
        name=group[0].model,
        expectations=[_expectation(rule, rule.resolved_kwargs(pack.parameters)) for rule in group],
    )
    result_format: dict[str, Any] = {
        "result_format": "BASIC",
        "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
        "unexpected_index_column_names": _index_columns(group),
        "return_unexpected_index_query": True,
    }
    if complete:  # the Spark engine: every failing row in the result itself (run_rules_on_spark)
        result_format = {
            "result_format": "COMPLETE",
            "unexpected_index_column_names": _index_columns(group),
            "return_unexpected_index_query": False,
        }
    validation = batch.validate(suite, result_format=result_format)
    by_id = {str(result.expectation_config.meta["rule_id"]): result for result in validation.results}
    missing = [rule.id for rule in group if rule.id not in by_id]
    if missing:
        raise ValidationError(f"{missing[0]}: GX returned no result")
    return [(rule, by_id[rule.id]) for rule in group]


def _exceptions(
    execution_engine: Any, sa: Any, pack: RulePack, rule: Rule, result: Any, business_date: date, run_id: str
) -> list[dict[str, Any]]:
    """The exception rows of one rule: every failing row, listed by GX's own query."""
    if result.exception_info.get("raised_exception"):
        raise ValidationError(f"{rule.id}: GX failed: {result.exception_info.get('exception_message')}")
    expected = int(result.result.get("unexpected_count") or 0)
    failing: list[dict[str, Any]] = []
    if expected:
        query = result.result.get("unexpected_index_query")
        if not query:
            raise ValidationError(f"{rule.id}: GX returned no query for the failing rows")
        # GX's query verbatim (its condition, selecting the entity key and evidence), run on
        # GX's own persisted connection.
        result_rows = execution_engine.execute_query(sa.text(str(query)))
        columns = list(result_rows.keys())  # once: a Row's own mapping rebuilds its keys per row
        failing = [dict(zip(columns, values, strict=True)) for values in result_rows.fetchall()]
    return _exception_rows(pack, rule, failing, expected, business_date, run_id)


def _exception_rows(
    pack: RulePack,
    rule: Rule,
    failing: list[dict[str, Any]],
    expected: int,
    business_date: date,
    run_id: str,
) -> list[dict[str, Any]]:
    """One exception row per failing row (entity key, message, evidence in the rule's order)."""
    kwargs = rule.resolved_kwargs(pack.parameters)
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
