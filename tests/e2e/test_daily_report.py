"""The compliance officer's mornings over a week of generated business days, through the CLI.

The session's e2e platform (tests/conftest.py: generated, run day by day through the CLI
with a decisions file, once per session). On top of the
generator's planted truth it plants, in the landing files, a loan priced above the
24 % comprehensive-cost level on day 2 that the platform re-prices on day 4 (an alert
that persists, then stops). Checked: the alert lifecycle (new / open / resolved /
suppressed and back), the report's sections, that no ID number or phone number of the
inputs appears unmasked in any output (HTML and CSV of every day, the PDF of the last
day, the only one rendered), that a rerun gives the same bytes, and the report as a
person sees it: the HTML in headless Chromium and the PDF's first page as an image,
both kept under test-artifacts/. Tests that run or change something work on a copy.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from click.testing import CliRunner

from regwatch.alerts import alert_key
from regwatch.cli import main
from regwatch.severity import COLOURS
from tests.conftest import (
    E2E_DAYS,
    E2E_RATE,
    REPO_ROOT,
    REPRICED_BACK,
    REPRICED_LOAN,
    REPRICED_ON,
    SUPPRESSED_UNTIL,
    E2EPlatform,
    E2ERerun,
)

pytestmark = pytest.mark.e2e

DAYS = E2E_DAYS
RATE = E2E_RATE
ARTIFACTS = REPO_ROOT / "test-artifacts"
NAVY = (31, 58, 95)  # header and summary-band rule (#1f3a5f)
# critical and high bars of the alerts chart (regwatch.severity.COLOURS, also the CSS badges')
BAR_COLOURS = tuple(tuple(int(COLOURS[s][i : i + 2], 16) for i in (1, 3, 5)) for s in ("critical", "high"))


@dataclass(frozen=True)
class Demo:
    var: Path
    landing: Path
    env: dict[str, str]
    output: str
    false_positive: str  # alert key of a day-1 rate-cap alert marked false positive
    once: tuple[str, date]  # alert key and day of a large-cash alert planted once
    repriced: str  # alert key of the loan above the cap from day 2, re-priced on day 4


def _demo(platform: E2EPlatform) -> Demo:
    facts = platform.facts
    return Demo(
        platform.var,
        platform.landing,
        platform.env(),
        facts["output"],
        facts["false_positive"],
        (facts["once"], date.fromisoformat(facts["once_day"])),
        alert_key(RATE, REPRICED_LOAN),
    )


@pytest.fixture(scope="module")
def demo(e2e_platform: E2EPlatform) -> Demo:
    """The session's e2e platform (tests/conftest.py), read only: five days run by the CLI."""
    return _demo(e2e_platform)


def _next(day: str) -> date:
    """The business day after ``day``: when the analyst reads its report and decides."""
    return DAYS[DAYS.index(date.fromisoformat(day)) + 1]


def _statuses(demo: Demo, key: str) -> list[str | None]:
    with duckdb.connect(str(demo.var / "warehouse.duckdb"), read_only=True) as con:
        found = dict(
            con.execute(
                "SELECT business_date, status FROM results.alert_days WHERE alert_key = ?", [key]
            ).fetchall()
        )
    return [found.get(day) for day in DAYS]


def _html(demo: Demo, day: date) -> str:
    return (demo.var / "reports" / str(day) / "daily_exceptions.html").read_text()


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_alert_planted_once_is_new_on_its_day_then_resolved(demo: Demo) -> None:
    """A one-off large-cash day is an event: open until the analyst's decision the next day closes it."""
    key, day = demo.once
    n = DAYS.index(day)
    expected: list[str | None] = [None] * len(DAYS)
    expected[n], expected[n + 1] = "new", "resolved"
    assert _statuses(demo, key) == expected
    assert key in _section(_html(demo, day), "new")
    assert key in _section(_html(demo, DAYS[n + 1]), "resolved")


def test_alert_open_while_it_persists_and_resolved_after(demo: Demo) -> None:
    on, back = DAYS.index(REPRICED_ON), DAYS.index(REPRICED_BACK)
    assert (on, back) == (1, 3)
    assert _statuses(demo, demo.repriced) == [None, "new", "open", "resolved", None]
    assert demo.repriced in _section(_html(demo, DAYS[on]), "new")
    assert demo.repriced not in _section(_html(demo, DAYS[on + 1]), "new")
    assert demo.repriced in _section(_html(demo, DAYS[on + 1]), "alerts")
    assert demo.repriced in _section(_html(demo, REPRICED_BACK), "resolved")


def test_false_positive_suppresses_until_its_date_then_returns(demo: Demo) -> None:
    """Decided on day 2 until day 3 (inclusive): suppressed on both, back on day 4."""
    until = DAYS.index(SUPPRESSED_UNTIL)
    assert until == 2
    assert _statuses(demo, demo.false_positive) == ["new", "suppressed", "suppressed", "open", "open"]
    during = _html(demo, SUPPRESSED_UNTIL)
    assert demo.false_positive in _section(during, "suppressed")
    assert demo.false_positive not in _section(during, "alerts")
    back = _section(_html(demo, DAYS[until + 1]), "new")
    assert "Back after a suppression expired" in back and demo.false_positive in back
    listed = CliRunner().invoke(
        main,
        ["alerts", "list", "--business-date", str(SUPPRESSED_UNTIL), "--status", "suppressed"],
        env=demo.env,
    )
    assert listed.exit_code == 0, listed.output
    assert f"{demo.false_positive}  suppressed" in listed.output
    assert f"until {SUPPRESSED_UNTIL}" in listed.output
    # the decision stays in the alert's history after it expired
    card = _section(_html(demo, DAYS[-1]), "alerts")
    assert demo.false_positive in card and "fee waived in the contract amendment" in card


def test_invalid_decision_rows_are_reported(demo: Demo) -> None:
    decisions = _section(_html(demo, DAYS[-1]), "decisions")
    assert "unknown decision &#39;ignore&#39;" in decisions or "unknown decision 'ignore'" in decisions
    assert "1 row of the decisions file cannot be applied" in decisions
    assert "alerts" in demo.output and f"{DAYS[-1]}: alerts " in demo.output
    assert "1 invalid decision rows" in demo.output


def test_no_id_or_phone_number_unmasked_in_any_output(demo: Demo) -> None:
    from pypdf import PdfReader

    secrets: set[str] = {"13800138000"}  # the phone number written into a decision's note
    for day in DAYS:
        with (demo.landing / str(day) / "accounts.csv").open(newline="", errors="replace") as handle:
            for row in csv.DictReader(handle):
                for column in ("id_number", "phone"):
                    value = (row.get(column) or "").strip()
                    if len(value) >= 7:
                        secrets.add(value)
    assert len(secrets) > 100
    outputs = sorted((demo.var / "reports").rglob("*.*"))
    daily = [p for p in outputs if p.name.startswith("daily_exceptions.")]
    assert {p.suffix for p in daily} == {".html", ".pdf", ".csv"} and len(daily) == 2 * len(DAYS) + 1
    assert [p.parent.name for p in daily if p.suffix == ".pdf"] == [str(DAYS[-1])]
    pattern = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
    for path in outputs:
        if path.suffix == ".pdf":
            # Lines are joined: a long number the layout wrapped (a hash, a bank account)
            # reads as one token again, and so does a wrapped ID number or phone.
            text = "".join(
                "".join((page.extract_text() or "").splitlines()) for page in PdfReader(path).pages
            )
        else:
            text = path.read_text(errors="replace")
        assert text.strip(), path
        leaks = [s for s in secrets if s in text] + pattern.findall(text)
        assert not leaks, f"{path.name} shows unmasked PII: {leaks[:3]}"


def test_rerun_gives_identical_report_bytes(e2e_platform: E2EPlatform, tmp_path: Path) -> None:
    demo = _demo(e2e_platform.copy(tmp_path))
    folder = demo.var / "reports" / str(DAYS[-1])

    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    manifest = json.loads(sorted((demo.var / "ledger").glob(f"*_{DAYS[-1]}_*.json"))[-1].read_text())
    # four rows decided by the last day (one of them test_event_alerts' watch-list event), one invalid
    assert manifest["decisions"]["rows_in_scope"] == 4 and manifest["decisions"]["rows_invalid"] == 1
    assert len(manifest["decisions"]["sha256_in_scope"]) == 64
    before = digest()
    assert {"daily_exceptions.html", "daily_exceptions.pdf", "daily_exceptions.csv"} <= set(before)
    result = CliRunner().invoke(main, ["run", "--business-date", str(DAYS[-1])], env=demo.env)
    assert result.exit_code == 0, result.output
    assert digest() == before


def test_audit_rerun_reads_the_decisions_file_as_it_was(
    e2e_platform: E2EPlatform, e2e_rerun: E2ERerun, tmp_path: Path
) -> None:
    """Reproducing a day with a suppression after the analysts rewrote their decisions file.

    The rerun is the session's (tests/conftest.py ``e2e_rerun``: every decision withdrawn, then
    ``regwatch audit rerun`` of SUPPRESSED_UNTIL; test_event_alerts reads the same replay)."""
    demo = _demo(e2e_platform.copy(tmp_path))
    decisions = Path(demo.env["REGWATCH_DISPOSITIONS"])
    original = decisions.read_bytes()
    manifest = json.loads(sorted((demo.var / "ledger").glob(f"*_{SUPPRESSED_UNTIL}_*.json"))[-1].read_text())
    archived = demo.var / "archive" / "sha256" / manifest["decisions"]["file_sha256"][:2]
    archived /= manifest["decisions"]["file_sha256"][2:]
    assert archived.read_bytes() == original
    withdrawn = e2e_rerun.platform.decisions.read_text()
    assert withdrawn == original.decode().splitlines()[0] + "\n"  # every decision withdrawn
    assert e2e_rerun.exit_code == 0, e2e_rerun.output
    assert f"rerunning {SUPPRESSED_UNTIL} from the archive" in e2e_rerun.output
    assert "REPRODUCED byte for byte" in e2e_rerun.output
    kept = archived.read_bytes()
    try:
        archived.write_bytes(kept.replace(b"false_positive", b"escalated_____"))
        verify = CliRunner().invoke(main, ["audit", "verify"], env=demo.env)
        assert verify.exit_code == 1
        assert "decisions file dispositions.csv" in verify.stderr.splitlines()[0]
    finally:
        archived.write_bytes(kept)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (make system-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _matches(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 6) -> np.ndarray:
    return np.all(np.abs(pixels[:, :, :3].astype(int) - np.array(colour)) <= tolerance, axis=2)


def _assert_band_and_chart(image_path: Path) -> None:
    """The summary band (the navy header, then the band's navy rule) and a chart's bars below it."""
    from PIL import Image

    pixels = np.asarray(Image.open(image_path).convert("RGB"))
    height, width, _ = pixels.shape
    navy_rows = np.flatnonzero(_matches(pixels, NAVY).mean(axis=1) > 0.5)
    assert len(navy_rows) > 20, f"{image_path.name}: no header"
    header_end = navy_rows[np.argmax(np.diff(navy_rows) > 1)] if np.any(np.diff(navy_rows) > 1) else None
    assert header_end is not None, f"{image_path.name}: no summary band below the header"
    band_rule = navy_rows[navy_rows > header_end + 1][0]
    bars = np.zeros((height, width), dtype=bool)
    for colour in BAR_COLOURS:
        bars |= _matches(pixels, colour)
    # A bar is wide; the severity tiles' 5px borders share its colour (one vocabulary): keep
    # only pixels ending a horizontal run of 12 or more (a bar of a 10-day chart is ~37 px).
    coloured = bars.copy()
    for shift in range(1, 12):
        bars[:, shift:] &= coloured[:, :-shift]
    bars[:, :11] = False
    bar_rows = np.flatnonzero(bars.any(axis=1))
    assert bars[band_rule:].sum() > 300, f"{image_path.name}: no chart bars below the summary band"
    assert bar_rows[bar_rows > band_rule][0] < band_rule + height * 0.6, (
        f"{image_path.name}: chart too far down"
    )


def test_html_as_a_browser_shows_it(demo: Demo, tmp_path: Path) -> None:
    chromium = _tool("chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "daily_report_html.png"
    shot.unlink(missing_ok=True)
    html = demo.var / "reports" / str(DAYS[-1]) / "daily_exceptions.html"
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    _assert_band_and_chart(shot)


def test_pdf_first_page_as_an_image(demo: Demo) -> None:
    pdftoppm = _tool("pdftoppm")
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / "daily_report_pdf_page1"
    target = prefix.with_suffix(".png")
    target.unlink(missing_ok=True)
    pdf = demo.var / "reports" / str(DAYS[-1]) / "daily_exceptions.pdf"
    done = subprocess.run(
        [pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and target.is_file(), done.stderr[-2000:]
    _assert_band_and_chart(target)
