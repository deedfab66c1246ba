"""CSV files meant to be opened in a spreadsheet: every report's CSV goes through here.

Excel, WPS and LibreOffice run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and
after a tab or carriage return) as a formula: a customer named
``=HYPERLINK("http://...",...)`` in the large-value CSV becomes a live link or a command.
OWASP's CSV-injection guidance: prefix such a cell with a single quote, so the
spreadsheet shows it as text, and quote every field (the csv module escapes the quotes
and separators inside). Only text is neutralised: a number (``-12.00``, ``+5``, ``1e3``)
is no formula and stays as it is, so amounts keep their sign for whoever sums them. The
JSON outputs keep the original text.

Not for pipeline inputs or machine state (the demo's landing files, the decisions-file
row echo in :mod:`regwatch.alerts`, DuckDB's COPY of carried state): those are read back
by regwatch, never opened by a person in a spreadsheet, and must keep their bytes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def safe_cell(value: Any) -> Any:
    """``value``, or a text that a spreadsheet would run as a formula prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 CSV (``\\n`` line ends, minimal quoting) with every text cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8")
