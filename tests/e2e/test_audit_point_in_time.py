"""Acceptance: 30 business days, loans restated on day 31, and day 10 still reproduces byte for byte.

Every one of the 31 days is ingested through the pipeline; the full pipeline (dbt, GX,
reports, ledger) runs on day 10 and on day 31, the later sealed run (set
``REGWATCH_AUDIT_FULL=1`` to run it on all 31, as the issue states it: about 8 s a day on
an idle 2-core machine; day 30 was run in full too until the suite had to fit 5 minutes:
nothing asserted reads it, day 31 is the later run the rerun of day 10 must look past).
Day 31 brings restated versions of loans first delivered by day 10, and day 1 is
delivered again with other files. ``audit rerun`` of day 10's sealed run must still
give the filed bytes; a fresh run of day 10 now differs, and ``audit diff`` names the
restated file and rows.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch import audit, pipeline
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.demo import business_days, generate
from regwatch.ledger import manifests
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_text()))
    return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue())


def _raise_fee(row: dict[str, str]) -> dict[str, str]:
    fee = (Decimal(row["principal"]) * Decimal("0.30")).quantize(Decimal("0.01"))
    return {**row, "upfront_fee": str(fee)}


def test_day_10_reproduces_after_30_days_and_restatements(tmp_path: Path) -> None:
    started = time.perf_counter()
    landing = tmp_path / "landing"
    days = business_days(date(2025, 6, 2), date(2025, 7, 14))
    assert len(days) == 31
    generate(landing, days[0], days[-1], loans=200, accounts=100, seed=21)
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=landing
    )
    full = os.environ.get("REGWATCH_AUDIT_FULL") == "1"
    day10, day31, redelivered = days[9], days[30], days[0]
    for day in days[:30]:
        if full or day == day10:
            pipeline.run_day(day, settings)
        else:
            pipeline.ingest(day, settings)
    sealed10 = manifests.find(settings, business_date=day10)
    filed = {o["path"]: (settings.var_dir / o["path"]).read_bytes() for o in sealed10.body["outputs"]}

    # Day 31 restates five loans first delivered by day 10 (new versions, later updated_at) ...
    early = [row for day in days[:10] for row in _rows(landing / day.isoformat() / "loans.csv")[1]]
    targets = [r for r in early if r["status"] == "active" and r["upfront_fee"] == "0.00"][:5]
    assert len(targets) == 5
    header, rows31 = _rows(landing / day31.isoformat() / "loans.csv")
    rows31 += [{**_raise_fee(r), "updated_at": f"{day31} 09:00:00"} for r in targets]
    _write(landing / day31.isoformat() / "loans.csv", header, rows31)
    # ... and day 1 (the opening book) is delivered again with three loans restated in place.
    header5, rows5 = _rows(landing / redelivered.isoformat() / "loans.csv")
    restated5 = [i for i, r in enumerate(rows5) if r["status"] == "active" and r["upfront_fee"] == "0.00"][:3]
    assert len(restated5) == 3
    for i in restated5:
        rows5[i] = _raise_fee(rows5[i])
    _write(landing / redelivered.isoformat() / "loans.csv", header5, rows5)
    pipeline.ingest(redelivered, settings)
    pipeline.run_day(day31, settings)
    # The landing folder no longer matters: the rerun reads the archive only.
    (landing / redelivered.isoformat() / "loans.csv").unlink()

    env = {
        "REGWATCH_HOME": str(REPO_ROOT),
        "REGWATCH_VAR": str(settings.var_dir),
        "REGWATCH_LANDING": str(landing),
    }
    result = CliRunner().invoke(
        main, ["audit", "rerun", "--business-date", str(day10), "--run", sealed10.run_id], env=env
    )
    assert result.exit_code == 0, result.output
    assert "REPRODUCED byte for byte" in result.output
    assert {o["path"]: (settings.var_dir / o["path"]).read_bytes() for o in sealed10.body["outputs"]} == filed
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("ledger ok:")

    # Run with today's knowledge, day 10 sees the re-delivered day 1: diff names file and rows.
    pipeline.run_day(day10, settings)
    now10 = manifests.read(manifests.manifests(settings)[-1])
    assert now10.run_id != sealed10.run_id  # the run id covers every load the run reads
    differences = audit.diff(settings, sealed10.run_id, now10.run_id)
    assert [r.file_name for r in differences.restatements] == ["loans.csv"]
    assert differences.restatements[0].business_date == redelivered.isoformat()
    assert len(differences.restatements[0].rows_changed) == 3
    assert differences.changes and not differences.unexplained
    restated_ids = {rows5[i]["loan_id"] for i in restated5}
    assert {c.entity_key for c in differences.changes} <= restated_ids
    print(
        f"\n30-day audit acceptance ({'full' if full else 'ingest + 2 full days'}): "
        f"{time.perf_counter() - started:.0f} s"
    )
