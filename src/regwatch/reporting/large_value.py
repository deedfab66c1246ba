"""The large-value transaction report (PBOC Order [2016] No. 3 art. 5): CSV + JSON per business date.

The dbt models ``reporting.rpt_large_value_transactions`` (one row per reportable
customer-day) and ``reporting.rpt_large_value_transaction_items`` (its transactions)
hold the content; this module only writes it out: ``var/reports/<D>/
large_value_transactions.csv`` (one row per customer-day) and ``.json`` (each
customer-day with its transactions), validated against
``reports/schemas/large_value_transactions.schema.json``. Same warehouse content,
same bytes: rows are ordered by key, money is a decimal string, nothing carries
the time of rendering. ID numbers and phones are masked unless the settings unmask PII.

A pack files the report only when it sets ``large_value_report_working_days`` (the
``cn`` pack does; ``us`` files currency transaction reports instead, which this is not).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.files import write_atomic
from regwatch.ingest import delivery
from regwatch.reporting.csv_cells import csv_bytes
from regwatch.reporting.masking import mask_record
from regwatch.reporting.render import ReportError

REPORT_NAME = "large_value_transactions"
SCHEMA_PATH = Path("schemas") / f"{REPORT_NAME}.schema.json"
DEADLINE_PARAMETER = "large_value_report_working_days"
LEGAL_BASIS = (
    "PBOC Order [2016] No. 3, Administrative Measures for Financial Institutions' Reporting of "
    "Large-value and Suspicious Transactions (amended 2018) art. 5; Yin Fa [2018] No. 230"
)
READING = (
    "Per customer (all its accounts), per day, single or cumulative, inclusive (>=); receipts and "
    "payments cumulated separately; CNY legs against the CNY line, foreign-currency legs at their USD "
    "equivalent (CNY cross rate of the day) against the USD line, never added together."
)
CSV_COLUMNS = (
    "business_date",
    "run_id",
    "report_key",
    "customer_id",
    "customer_type",
    "full_name",
    "id_number",
    "country",
    "transaction_date",
    "report_deadline",
    "lines_reached",
    "transaction_count",
    "amount_cny",
    "transaction_ids",
    "has_missing_fx_rate",
    "unconverted_transaction_ids",
)
_DAY_COLUMNS = CSV_COLUMNS[2:]
_ITEM_COLUMNS = (
    "transaction_id",
    "account_id",
    "transaction_at",
    "large_value_category",
    "direction",
    "reportable_line",
    "channel",
    "amount",
    "currency",
    "amount_cny",
    "amount_usd",
    "counterparty_account",
    "counterparty_name",
    "counterparty_country",
    "purpose",
)


def _plain(value: Any) -> Any:
    """JSON-friendly and stable: money as a 2-place string, dates ISO, timestamps to the second."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _fetch(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def delivery_block(verdict: delivery.DeliveryVerdict | None) -> dict[str, Any]:
    """The date's delivery verdict: a run accepted degraded is marked (null: no verdict stored)."""
    if verdict is None:
        return {"verdict": None, "accepted_reason": None, "files_not_complete": []}
    return {
        "verdict": verdict.status,
        "accepted_reason": verdict.accepted_reason,
        "files_not_complete": [
            {"file": f.label, "status": f.status, "reason": f.reason} for f in verdict.blocking
        ],
    }


def large_value_content(settings: Settings, business_date: date, run_id: str) -> dict[str, Any]:
    """The report of ``business_date`` as a JSON-ready dict (masked unless PII is unmasked)."""
    from regwatch.rules import load_pack

    pack = load_pack(settings.pack_dir)
    days = pack.parameters[DEADLINE_PARAMETER].value
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        try:
            customer_days = _fetch(
                con,
                f"SELECT {', '.join(_DAY_COLUMNS)} FROM reporting.rpt_large_value_transactions "
                "WHERE business_date = ? ORDER BY report_key",
                [business_date],
            )
            items = _fetch(
                con,
                f"SELECT report_key, {', '.join(_ITEM_COLUMNS)} FROM reporting.rpt_large_value_transaction_items "
                "WHERE business_date = ? ORDER BY report_key, transaction_at, transaction_id",
                [business_date],
            )
        except Exception as error:  # duckdb.CatalogException and friends: the models are missing
            raise ReportError(
                f"large-value report for {business_date}: {str(error).splitlines()[0]} (run the transform step first)"
            ) from error
        verdict = delivery.read(con, business_date)
    mask = (lambda record: dict(record)) if settings.unmask_pii else mask_record
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        key = item.pop("report_key")
        by_key.setdefault(key, []).append(mask(item))
    days_out = []
    for day in customer_days:
        transactions = by_key.pop(day["report_key"], [])
        if len(transactions) != day["transaction_count"]:
            raise ReportError(
                f"large-value report for {business_date}: {day['report_key']} lists "
                f"{day['transaction_count']} transactions but {len(transactions)} items"
            )
        days_out.append({**mask(day), "transactions": transactions})
    if by_key:
        raise ReportError(
            f"large-value report for {business_date}: items without a customer-day: {sorted(by_key)}"
        )
    return {
        "report": REPORT_NAME,
        "business_date": business_date.isoformat(),
        "run_id": run_id,
        "pack": pack.name,
        "pack_version": pack.version,
        "legal_basis": LEGAL_BASIS,
        "reading": READING,
        "deadline_rule": (
            f"The {days}th working day after the transaction date (the transaction date is day 0, "
            "Civil Code art. 201); null where the calendar does not cover the dates."
        ),
        "calendar": "seed cn_working_days: State Council General Office holiday notices for 2024-2026",
        "pii_masked": not settings.unmask_pii,
        "delivery": delivery_block(verdict),
        "customer_day_count": len(days_out),
        "transaction_count": sum(len(d["transactions"]) for d in days_out),
        "customer_days": days_out,
    }


def validate_content(settings: Settings, content: dict[str, Any]) -> None:
    """Raise :class:`ReportError` naming the first place ``content`` breaks the shipped JSON Schema."""
    import jsonschema

    schema = json.loads((settings.templates_dir / SCHEMA_PATH).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(content), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise ReportError(f"{REPORT_NAME}.json breaks its schema at {where}: {first.message}")


def _csv(content: dict[str, Any]) -> bytes:
    rows = []
    for day in content["customer_days"]:
        row = {"business_date": content["business_date"], "run_id": content["run_id"], **day}
        rows.append(
            [
                "" if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool) else row[c]
                for c in CSV_COLUMNS
            ]
        )
    return csv_bytes(CSV_COLUMNS, rows)


def render_large_value(settings: Settings, business_date: date, run_id: str) -> list[Path]:
    """``var/reports/<D>/large_value_transactions.csv`` and ``.json``; none for a pack without the report."""
    from regwatch.rules import load_pack

    if DEADLINE_PARAMETER not in load_pack(settings.pack_dir).parameters:
        return []
    content = large_value_content(settings, business_date, run_id)
    validate_content(settings, content)
    folder = settings.reports_dir / business_date.isoformat()
    json_path = folder / f"{REPORT_NAME}.json"
    csv_path = folder / f"{REPORT_NAME}.csv"
    write_atomic(json_path, (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    write_atomic(csv_path, _csv(content))
    return [csv_path, json_path]
