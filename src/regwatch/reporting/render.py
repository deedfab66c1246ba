"""Render the reports with one Jinja environment; same warehouse content, same bytes.

Everything shown goes through :mod:`regwatch.reporting.masking` unless the settings unmask
PII for an authorised run. Files are written atomically (:func:`regwatch.files.write_atomic`):
a report is either the previous complete one or the new complete one.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2

from regwatch.config import Settings
from regwatch.severity import LEVELS as SEVERITY_LEVELS


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
    # One severity vocabulary (regwatch.severity): the templates' badge, tile and card
    # colours are rendered from the table the charts draw with.
    env.globals["severity_levels"] = SEVERITY_LEVELS
    return env


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
