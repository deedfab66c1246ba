"""The daily report (deterministic, masked, reconciled) and the ledger chain (tamper-evident)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path

import pytest

from regwatch import alerts, warehouse
from regwatch.config import Settings
from regwatch.ledger import manifests
from regwatch.reporting.daily import render_daily

DAY = date(2025, 6, 2)
RUN = "20250602-abcdef123456"


@pytest.fixture
def filled(settings: Settings) -> Settings:
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute(
            "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.11.0', ?, '0.1.0', ?)",
            [RUN, DAY, "a" * 64, "b" * 64],
        )
        con.execute(
            "INSERT INTO results.load_log VALUES ('L', ?, 'loans', '2025-06-02/loans.csv', ?, 3, 2, 1, NULL, 'loaded_with_quarantine', NULL, 'utf-8', 3)",
            [DAY, "c" * 64],
        )
        # An unbalanced file can only come from a bug; the report must say so loudly.
        con.execute(
            "INSERT INTO results.load_log VALUES ('L', ?, 'accounts', '2025-06-02/accounts.csv', ?, 9, 7, 1, NULL, 'loaded_with_quarantine', NULL, 'utf-8', 9)",
            [DAY, "d" * 64],
        )
        con.execute(
            "INSERT INTO quarantine.rows VALUES ('L', ?, '2025-06-02/accounts.csv', 'accounts', 7, 'phone', "
            "'13812345678', 'wrong type', '{\"id_number\": \"110101199003074477\"}')",
            [DAY],
        )
        evidence = json.dumps({"customer_id": "C1", "phone": "13912345678", "note": "ID 11010119900307447X"})
        for key in ("C2|2025-06-02|credit", "C1|2025-06-02|credit"):
            con.execute(
                "INSERT INTO results.exceptions VALUES (?, ?, 'cn.aml.large_cash', 'high', 'PBOC Order [2016] No. 3',"
                " 'fct_customer_cash_days', ?, 'Cash credit of CNY 50,000.00', ?)",
                [RUN, DAY, key, evidence],
            )
        alerts.update(con, DAY, RUN)
    return settings


def test_render_is_deterministic_masked_and_reconciled(filled: Settings) -> None:
    html_path, pdf_path, csv_path = render_daily(filled, DAY, RUN)
    first = (html_path.read_bytes(), csv_path.read_bytes(), pdf_path.read_bytes())
    render_daily(filled, DAY, RUN)
    assert (html_path.read_bytes(), csv_path.read_bytes(), pdf_path.read_bytes()) == first
    html, text = first[0].decode(), first[1].decode()
    for output in (html, text):
        assert not re.search(r"1[3-9][0-9]{9}", output)
        assert not re.search(r"[0-9]{17}[0-9X]", output)
    assert "139****5678" in html and "110101********447X" in text
    assert "2025-06-02/loans.csv" in html and "NOT balanced" in html
    assert html.count('<td class="ok">✓</td>') == 1 and html.count('<td class="bad">✗</td>') == 1
    assert text.index("C1|2025-06-02|credit") < text.index("C2|2025-06-02|credit")


def test_unmasked_for_authorised_runs(filled: Settings) -> None:
    # the HTML is what this reads: no PDF (test_render_is_deterministic_masked_and_reconciled reads it)
    settings = Settings(
        filled.project_root, filled.var_dir, filled.landing_dir, unmask_pii=True, render_pdf=False
    )
    html_path = render_daily(settings, DAY, RUN)[0]
    assert "13912345678" in html_path.read_text()


def _seal(settings: Settings, day: date, outputs: list[Path], root: Path | None = None) -> Path:
    return manifests.seal(
        settings,
        business_date=day,
        run_id=f"{day:%Y%m%d}-x",
        pack_name="cn",
        pack_version="1",
        pack_sha256="p",
        code_version="c",
        inputs=[],
        outputs=outputs,
        outputs_root=root,
        tool_versions={"duckdb": "2"},
    )


def test_ledger_chain_verifies_and_names_the_altered_file(settings: Settings) -> None:
    staging = settings.var_dir / "staging"
    for number in range(3):
        out = staging / f"2025-06-0{number + 2}" / "daily_exceptions.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"report {number}")
        _seal(settings, date(2025, 6, number + 2), [out], staging)
    result = manifests.verify(settings)
    assert result.ok and result.manifests == 3 and result.outputs == 3
    published = settings.published_reports_dir / "2025-06-03" / "daily_exceptions.html"
    assert published.read_text() == "report 1"  # published from the archive after sealing
    published.write_text("report 1 edited")
    assert manifests.verify(settings).problems == (
        "published reports/2025-06-03/daily_exceptions.html was altered "
        "(sha256 differs from 000002_2025-06-03_20250603-x.json)",
    )
    published.write_text("report 1")
    first = manifests.manifests(settings)[0]
    first.write_text(first.read_text().replace('"sequence": 1', '"sequence": 1 '))
    problems = manifests.verify(settings).problems
    assert problems == (
        "000001_2025-06-02_20250602-x.json: was altered (not in the canonical form it was sealed in)",
        "000002_2025-06-03_20250603-x.json: previous manifest 000001_2025-06-02_20250602-x.json was altered (sha256 differs)",
    )


def test_ledger_is_append_only(settings: Settings) -> None:
    out = settings.reports_dir / "r.html"
    out.parent.mkdir(parents=True)
    out.write_text("r")
    path = _seal(settings, DAY, [out])
    path.rename(path.with_name("000002" + path.name[6:]))  # the next seal would pick sequence 3
    manifest = _seal(settings, DAY, [out])
    assert manifest.name.startswith("000003_")


def _nulled(settings: Settings) -> None:
    with warehouse.connect(settings.warehouse_path) as con:
        for row, column, value in (
            (9, "dob", "1970-13-45"),
            (4, "country", "Atlantis"),
            (9, "country", "??"),
        ):
            con.execute(
                "INSERT INTO quarantine.nulled_values VALUES ('L', ?, '2025-06-02/watch_list.csv', 'watch_list', "
                "?, ?, ?, 'optional value nulled, entry kept for screening: wrong type', '{}')",
                [DAY, row, column, value],
            )


def test_watch_list_values_nulled_by_ingest_are_an_amber_line(filled: Settings) -> None:
    """A listed entry's bad optional value is nulled and the entry screened: the report says so per file."""
    filled = dataclasses.replace(filled, render_pdf=False)  # the HTML is what this reads
    html_path = render_daily(filled, DAY, RUN)[0]
    before = html_path.read_text()
    assert "nulled" not in before
    _nulled(filled)
    html = render_daily(filled, DAY, RUN)[0].read_text()
    section = html.split('<section id="data-quality">', 1)[1]
    line = re.search(r'<p class="warn"[^>]*>(.*?)</p>', section, re.S)
    assert line is not None, "no amber line for the nulled values"
    assert re.sub(r"<[^>]+>", "", line.group(1)) == (
        "2025-06-02/watch_list.csv: 3 optional values nulled in 2 entries (rows 4, 9); "
        "the entries were kept and screened"
    )
    for value in ("1970-13-45", "Atlantis", "dob", "country"):
        assert value in section
