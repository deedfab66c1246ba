"""Acceptance (issue 13, observation 5): a lost warehouse is refused, rebuilt, and equal to a clean run.

Today ``rm var/warehouse.duckdb`` then a run of the next date computes from that day's
files alone, seals it into the chain, and ``audit verify`` says the ledger is ok. Now:
three dates sealed, the warehouse deleted, the run of the fourth date refuses (exit 1,
one line naming the mismatch and ``regwatch rebuild``); ``regwatch rebuild`` replays
the archive and proves each sealed run; the fourth date then gives exactly the run id
and report bytes of a clean run of the same four days (a copy of ``var/`` taken after
the third day, run on undisturbed: the same bytes as four days run from scratch, since
a run depends only on its inputs, pack and code).

No PDF is rendered (the sealed platform's days have none, and the fourth day follows them):
that a run gives the PDF's bytes again is asserted where the PDF is the subject,
tests/e2e/test_daily_report.py::test_rerun_gives_identical_report_bytes (issue 16: WeasyPrint
was a third of each of this test's two runs of the fourth day).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from regwatch.cli import main
from regwatch.config import Settings
from regwatch.ledger import manifests
from tests.conftest import REPO_ROOT, SEALED_NEXT, SealedPlatform
from tests.helpers import private_copy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

D4 = SEALED_NEXT


def test_a_lost_warehouse_is_refused_then_rebuilt_equal_to_a_clean_run(
    sealed_platform: SealedPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = sealed_platform.landing  # read only here: the runs read it, the rebuild reads the archive
    monkeypatch.setenv("REGWATCH_LANDING", str(landing))
    monkeypatch.delenv("REGWATCH_DISPOSITIONS", raising=False)
    monkeypatch.setenv("REGWATCH_NO_PDF", "1")  # see the module docstring

    def regwatch(var: Path, *args: str) -> Result:
        monkeypatch.setenv("REGWATCH_VAR", str(var))
        return CliRunner().invoke(main, list(args))

    # Three days sealed (the session's sealed platform: tests/conftest.py, without their PDF,
    # which the rebuild replays so); a copy of var/ goes on to the fourth day undisturbed (the
    # clean run).
    var = private_copy(sealed_platform.var, tmp_path / "var")
    clean = private_copy(sealed_platform.var, tmp_path / "clean")
    result = regwatch(clean, "run", "--business-date", str(D4))
    assert result.exit_code == 0, result.output

    (var / "warehouse.duckdb").unlink()
    result = regwatch(var, "run", "--business-date", str(D4))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("regwatch: error: the warehouse does not match the ledger: ")
    assert "warehouse.duckdb is missing, but the ledger holds 3 sealed runs" in lines[0]
    assert "`regwatch rebuild`" in lines[0]
    assert not (var / "warehouse.duckdb").exists()
    assert len(manifests.manifests(Settings(REPO_ROOT, var, landing))) == 3  # nothing sealed

    started = time.perf_counter()
    result = regwatch(var, "rebuild")
    rebuild_seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "3 sealed runs reproduced (same run ids, every output identical)" in result.output
    assert result.output.count("reproduced: run id and") == 3
    assert not (var / "rebuild" / "work").exists()

    started = time.perf_counter()
    result = regwatch(var, "run", "--business-date", str(D4))
    run_seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output

    sealed = manifests.find(Settings(REPO_ROOT, var, landing), business_date=D4)
    reference = manifests.find(Settings(REPO_ROOT, clean, landing), business_date=D4)
    assert sealed.run_id == reference.run_id
    assert [o["path"] for o in sealed.body["outputs"]] == [o["path"] for o in reference.body["outputs"]]
    for item in reference.body["outputs"]:
        assert (var / item["path"]).read_bytes() == (clean / item["path"]).read_bytes(), item["path"]
    assert sealed.body["pdf_rendered"] is False and reference.body["pdf_rendered"] is False

    result = regwatch(var, "audit", "verify")
    assert result.exit_code == 0, result.output
    print(
        f"\nrebuild of 3 sealed days: {rebuild_seconds:.1f} s; run of the 4th day after it: {run_seconds:.1f} s"
    )
