"""Render the reports with one Jinja environment; same warehouse content, same bytes.

Everything shown goes through :mod:`regwatch.masking` unless the settings unmask
PII for an authorised run. Files are written atomically (temp file, then rename):
a report is either the previous complete one or the new complete one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.masking import mask_record, mask_text

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
QUARANTINE_SAMPLE = 50


class ReportError(RuntimeError):
    """A report cannot be rendered (nothing run for the date, a template error)."""


def environment(settings: Settings) -> jinja2.Environment:
    """The one Jinja environment of every report: strict, autoescaped, stable output."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: "" if v is None else f"{Decimal(str(v)):,.2f}"
    env.filters["count"] = lambda v: f"{int(v):,}"
    env.filters["percent"] = lambda v, places=2: "" if v is None else f"{float(v):.{places}%}"
    return env


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class _SourceDateEpoch:
    """Pin the font-subset timestamps WeasyPrint's font tools stamp into a PDF.

    fontTools writes "now" into each embedded font's ``head.modified`` unless
    ``SOURCE_DATE_EPOCH`` is set (the reproducible-builds convention), which alone
    makes two renderings of the same HTML differ. The epoch used is the report's own
    date, so the PDF says when its data is from, never when it was drawn.
    """

    def __init__(self, epoch: int) -> None:
        self.epoch = str(epoch)
        self.previous: str | None = None

    def __enter__(self) -> None:
        self.previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = self.epoch

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = self.previous


def html_to_pdf(html: str, as_of: date, base_url: Path | None = None) -> bytes:
    """The PDF of a rendered HTML report, byte-identical for the same HTML and date.

    WeasyPrint draws the same HTML and inline SVG charts the browser shows; print
    layout comes from the template's ``@page`` CSS. ``as_of`` (the business date or
    the period end) fixes every date WeasyPrint's font tools would otherwise take
    from the clock.
    """
    import logging

    import weasyprint

    epoch = int(datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC).timestamp())
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with _SourceDateEpoch(epoch):
        document = weasyprint.HTML(string=html, base_url=str(base_url) if base_url else None)
        pdf: bytes = document.write_pdf()
    return pdf


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _masker(settings: Settings) -> Any:
    if settings.unmask_pii:
        return lambda record: dict(record)
    return mask_record


def daily_context(settings: Settings, business_date: date, run_id: str) -> dict[str, Any]:
    mask = _masker(settings)
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        runs = _rows(
            con,
            "SELECT * FROM results.run_log WHERE business_date = ? AND run_id = ?",
            [business_date, run_id],
        )
        if not runs:
            raise ReportError(f"no run {run_id} recorded for {business_date}")
        loads = _rows(
            con,
            "SELECT file_name, source_file, sha256, rows_read, rows_loaded, rows_quarantined, notes "
            "FROM results.load_log WHERE business_date = ? ORDER BY file_name",
            [business_date],
        )
        reasons = _rows(
            con,
            "SELECT file_name, reason, count(*) AS row_count FROM quarantine.rows WHERE _business_date = ? "
            "GROUP BY ALL ORDER BY file_name, row_count DESC, reason",
            [business_date],
        )
        quarantined = _rows(
            con,
            "SELECT file_name, row_number, column_name, value, reason FROM quarantine.rows "
            "WHERE _business_date = ? ORDER BY file_name, row_number LIMIT ?",
            [business_date, QUARANTINE_SAMPLE],
        )
        exceptions = _rows(
            con,
            "SELECT rule_id, severity, legal_basis, model, entity_key, message, evidence "
            "FROM results.exceptions WHERE business_date = ? AND run_id = ?",
            [business_date, run_id],
        )
    exceptions.sort(key=lambda e: (SEVERITY_ORDER.get(e["severity"], 9), e["rule_id"], e["entity_key"]))
    rules: dict[str, dict[str, Any]] = {}
    for item in exceptions:
        item["evidence"] = mask(json.loads(item["evidence"]))
        item["entity_key"] = mask_text(item["entity_key"]) if not settings.unmask_pii else item["entity_key"]
        item["message"] = mask_text(item["message"]) if not settings.unmask_pii else item["message"]
        group = rules.setdefault(
            item["rule_id"],
            {
                "rule_id": item["rule_id"],
                "severity": item["severity"],
                "legal_basis": item["legal_basis"],
                "items": [],
            },
        )
        group["items"].append(item)
    for load in loads:
        load["balanced"] = load["rows_read"] == load["rows_loaded"] + load["rows_quarantined"]
    totals = {
        key: sum(load[key] for load in loads) for key in ("rows_read", "rows_loaded", "rows_quarantined")
    }
    return {
        "report_title": "Daily exception report",
        "business_date": business_date.isoformat(),
        "run": runs[0],
        "loads": loads,
        "totals": totals,
        "all_balanced": all(load["balanced"] for load in loads),
        "quarantine_reasons": reasons,
        "quarantined": [mask(q) for q in quarantined],
        "quarantine_sample": QUARANTINE_SAMPLE,
        "rules": list(rules.values()),
        "exception_count": len(exceptions),
        "exceptions": exceptions,
        "pii_masked": not settings.unmask_pii,
    }


def _csv(exceptions: Iterable[dict[str, Any]], business_date: str, run_id: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["business_date", "run_id", "rule_id", "severity", "entity_key", "message", "legal_basis", "evidence"]
    )
    for e in exceptions:
        writer.writerow(
            [
                business_date,
                run_id,
                e["rule_id"],
                e["severity"],
                e["entity_key"],
                e["message"],
                e["legal_basis"],
                json.dumps(e["evidence"], ensure_ascii=False),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def render_daily(settings: Settings, business_date: date, run_id: str) -> list[Path]:
    """``var/reports/<D>/daily_exceptions.html`` and ``.csv`` for the run of ``business_date``."""
    context = daily_context(settings, business_date, run_id)
    try:
        html = environment(settings).get_template("daily_exceptions.html.j2").render(**context)
    except jinja2.TemplateError as error:
        raise ReportError(f"daily_exceptions.html.j2: {error}") from error
    folder = settings.reports_dir / business_date.isoformat()
    html_path = folder / "daily_exceptions.html"
    csv_path = folder / "daily_exceptions.csv"
    write_atomic(html_path, html.encode("utf-8"))
    write_atomic(csv_path, _csv(context["exceptions"], context["business_date"], run_id))
    return [html_path, csv_path]
