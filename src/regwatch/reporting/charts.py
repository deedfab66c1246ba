"""Small, dependency-free SVG charts for the reports (pure: data in, SVG text out).

Every report embeds its charts inline, so an HTML report stays one self-contained
file and WeasyPrint draws the same vectors into the PDF. The output depends only on
the data (fixed sizes, fixed number formatting, no ids drawn from a clock or a
counter), so a rerun gives byte-identical reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

#: Colour-blind-safe palette (Okabe-Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One named series of values, aligned with the chart's categories (None: no value)."""

    name: str
    values: Sequence[float | None]
    colour: str | None = None


@dataclass(frozen=True)
class Marker:
    """A labelled reference line: a threshold on the value axis, or a cap on a category axis."""

    value: float
    label: str
    colour: str = "#B2182B"


def _num(value: float) -> str:
    """Coordinates with two decimals and no negative zero: stable text for stable bytes."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _nice_max(value: float) -> float:
    """The next "round" number at or above ``value`` (1, 2, 2.5, 5 x 10^k) for the axis top."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * 10.0**exponent
        if top >= value * (1 - 1e-12):
            return top
    return 10.0 ** (exponent + 1)


def _frame(width: int, height: int, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
        f'<text x="8" y="16" {_FONT} font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def _value_axis(
    parts: list[str],
    top: float,
    left: int,
    right: int,
    y_of: Callable[[float], float],
    fmt: Callable[[float], str],
) -> None:
    for i in range(5):
        value = top * i / 4
        y = y_of(value)
        parts.append(f'<line x1="{left}" y1="{_num(y)}" x2="{right}" y2="{_num(y)}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 4}" y="{_num(y + 4)}" {_FONT} font-size="10" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )


def _category_labels(parts: list[str], labels: Sequence[str], x_of: Callable[[int], float], y: float) -> None:
    every = max(1, math.ceil(len(labels) / 10))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{_num(x_of(i))}" y="{_num(y)}" {_FONT} font-size="10" text-anchor="middle">'
                f"{escape(label)}</text>"
            )


def _legend(parts: list[str], names: Sequence[tuple[str, str]], x: int, y: int) -> None:
    for name, colour in names:
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" {_FONT} font-size="10">{escape(name)}</text>')
        x += 24 + 7 * len(name)


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    value_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
    markers: Sequence[Marker] = (),
    width: int = 640,
    height: int = 240,
) -> str:
    """Values over ordered categories (e.g. business dates), one polyline per series."""
    left, right, top_pad, bottom = 64, width - 16, 28, height - 40
    values = [v for s in series for v in s.values if v is not None] + [m.value for m in markers]
    top = _nice_max(max(values, default=0.0))
    span = max(1, len(categories) - 1)

    def x_of(i: int) -> float:
        return left + (right - left) * (i / span if len(categories) > 1 else 0.5)

    def y_of(v: float) -> float:
        return bottom - (bottom - top_pad) * (v / top)

    description = "; ".join(
        f"{s.name}: " + ", ".join(value_format(v) if v is not None else "-" for v in s.values) for s in series
    )
    parts = _frame(width, height, title, description)
    _value_axis(parts, top, left, right, y_of, value_format)
    for marker in markers:
        y = y_of(marker.value)
        parts.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{right}" y2="{_num(y)}" stroke="{marker.colour}" '
            'stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{right}" y="{_num(y - 3)}" {_FONT} font-size="10" text-anchor="end" '
            f'fill="{marker.colour}">{escape(marker.label)}</text>'
        )
    legend = []
    for n, s in enumerate(series):
        colour = s.colour or PALETTE[n % len(PALETTE)]
        legend.append((s.name, colour))
        points = [(x_of(i), y_of(v)) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{colour}"/>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#666"/>')
    _category_labels(parts, categories, x_of, bottom + 14)
    _legend(parts, legend, left, height - 8)
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    value_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
    category_markers: Sequence[Marker] = (),
    width: int = 640,
    height: int = 240,
) -> str:
    """Bars per category (stacked or side by side); ``category_markers`` draw vertical lines
    at a fractional category position (e.g. a rate cap on an APR histogram)."""
    left, right, top_pad, bottom = 64, width - 16, 28, height - 40
    n = max(1, len(categories))
    if stacked:
        totals = [sum((s.values[i] or 0.0) for s in series) for i in range(len(categories))]
    else:
        totals = [max(((s.values[i] or 0.0) for s in series), default=0.0) for i in range(len(categories))]
    top = _nice_max(max(totals, default=0.0))
    slot = (right - left) / n
    bar = slot * (0.8 if stacked else 0.8 / max(1, len(series)))

    def x_of(i: int) -> float:
        return left + slot * (i + 0.5)

    def y_of(v: float) -> float:
        return bottom - (bottom - top_pad) * (v / top)

    description = "; ".join(
        f"{s.name}: "
        + ", ".join(f"{c} {value_format(v or 0.0)}" for c, v in zip(categories, s.values, strict=True))
        for s in series
    )
    parts = _frame(width, height, title, description)
    _value_axis(parts, top, left, right, y_of, value_format)
    legend = []
    base = [0.0] * len(categories)
    for k, s in enumerate(series):
        colour = s.colour or PALETTE[k % len(PALETTE)]
        legend.append((s.name, colour))
        for i, value in enumerate(s.values):
            if not value:
                continue
            if stacked:
                x = x_of(i) - bar / 2
                y0, y1 = y_of(base[i] + value), y_of(base[i])
                base[i] += value
            else:
                x = left + slot * i + slot * 0.1 + bar * k
                y0, y1 = y_of(value), y_of(0.0)
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y0)}" width="{_num(bar)}" height="{_num(y1 - y0)}" '
                f'fill="{colour}"/>'
            )
    for marker in category_markers:
        x = left + slot * marker.value
        parts.append(
            f'<line x1="{_num(x)}" y1="{top_pad}" x2="{_num(x)}" y2="{bottom}" stroke="{marker.colour}" '
            'stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{_num(x + 3)}" y="{top_pad + 10}" {_FONT} font-size="10" fill="{marker.colour}">'
            f"{escape(marker.label)}</text>"
        )
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#666"/>')
    _category_labels(parts, categories, x_of, bottom + 14)
    if len(series) > 1 or (series and series[0].name):
        _legend(parts, legend, left, height - 8)
    parts.append("</svg>")
    return "\n".join(parts)
