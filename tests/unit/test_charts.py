"""Charts are valid SVG, carry their data in text, and render to byte-identical PDFs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from regwatch.reporting.charts import Marker, Series, _nice_max, bar_chart, line_chart
from regwatch.reporting.render import html_to_pdf

SVG = "{http://www.w3.org/2000/svg}"


def _trend() -> str:
    return line_chart(
        "Overdue rate",
        ["2025-06-02", "2025-06-03", "2025-06-04"],
        [Series("amount overdue rate", [0.012, None, 0.031])],
        value_format=lambda v: f"{v:.1%}",
        markers=[Marker(0.03, "3% limit")],
    )


def test_line_chart_is_valid_svg_with_its_data_described() -> None:
    root = ET.fromstring(_trend())
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Overdue rate"  # type: ignore[union-attr]
    assert "1.2%" in root.find(f"{SVG}desc").text  # type: ignore[union-attr,operator]
    # two points drawn (the missing value is skipped, not drawn as zero)
    assert len(root.findall(f"{SVG}circle")) == 2


def test_bar_chart_stacks_and_draws_cap_lines() -> None:
    svg = bar_chart(
        "Real APR distribution",
        ["0-12%", "12-24%", "24-36%", ">36%"],
        [Series("loans", [5, 3, 2, 0])],
        category_markers=[Marker(1.0, "12%"), Marker(2.0, "24%")],
    )
    root = ET.fromstring(svg)
    bars = [r for r in root.findall(f"{SVG}rect") if r.get("width") != "10"]  # not the legend swatch
    assert len(bars) == 3  # the empty bucket draws nothing
    assert len([t for t in root.iter(f"{SVG}text") if t.text in {"12%", "24%"}]) == 2


def test_nice_axis_tops() -> None:
    assert [_nice_max(v) for v in (0, 0.7, 1, 3, 7.2, 240)] == [1.0, 1.0, 1.0, 5.0, 10.0, 250.0]


def test_same_chart_same_bytes_and_pdf_is_reproducible() -> None:
    assert _trend() == _trend()
    html = f"<html><head><meta charset='utf-8'><title>t</title></head><body><h1>Chart</h1>{_trend()}</body></html>"
    first = html_to_pdf(html, date(2025, 6, 30))
    assert first.startswith(b"%PDF-")
    assert html_to_pdf(html, date(2025, 6, 30)) == first
