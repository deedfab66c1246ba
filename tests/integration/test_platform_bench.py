"""bench/platform_bench.py at a tiny scale, so the benchmark never rots.

Every step of a day in its own process with its CPU seconds, wall time and peak RSS,
the floor of ingest, transform and validate measured, a one-date history (its per-date
loop, the last-over-first ratio and its table line: each date of a history is six more
processes importing dbt and GX, 25-30 CPU-s here; two dates were run until issue 16);
bulk loans (built to break no rule) raise no exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import platform_bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_tiny_platform_through_every_step_with_its_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The machinery, not the scale: a tiny platform, and no PDF (WeasyPrint was half of each
    # day's render_reports here, three times over); the summary says so.
    monkeypatch.setenv("REGWATCH_NO_PDF", "1")
    summary = platform_bench.main(
        [
            *("--loans", "100", "--accounts", "100", "--transactions", "1000"),
            *("--base-loans", "100", "--base-accounts", "150"),
            *("--history-days", "1", "--history-transactions", "500", "--history-loans", "50"),
            *("--work", str(tmp_path), "--json", str(tmp_path / "out.json")),
        ]
    )
    day = summary["day"]
    assert list(day["steps"]) == list(platform_bench.STEP_NAMES)
    for step in day["steps"].values():
        assert step["cpu_seconds"] > 0 and step["wall_seconds"] > 0 and step["peak_rss_mib"] > 50
        # the whole process tree (bench/process_tree.py): the step's own wait4 usage and its orphans'
        left = [*step.get("orphans", []), *step.get("outlived", [])]
        orphans = sum(o["cpu_seconds"] for o in left)
        assert step["cpu_seconds"] == pytest.approx(step["step_process_cpu_seconds"] + orphans, abs=0.05)
        assert len(step["load_average"]["start"]) == 3
    assert set(day["floors"]) == {"ingest", "transform", "validate"}
    ingest, floor = day["steps"]["ingest"], day["floors"]["ingest"]
    assert ingest["rows_read"] == floor["rows_loaded"] + floor["rejects"] or floor["rejects"] > 0
    assert day["floors"]["transform"]["nodes"]["sql"] > 20
    assert day["floors"]["validate"]["failing_rows"] > 0
    assert day["steps"]["validate"]["exceptions"]["total"] > 0
    assert day["steps"]["validate"]["exceptions"]["on_bulk_loans"] == 0
    (history,) = summary["history"]["days"]
    assert list(history["steps"]) == list(platform_bench.STEP_NAMES)
    assert history["cpu_seconds"] == pytest.approx(sum(history["steps"].values()), abs=0.2)
    assert history["cpu_seconds"] > 0 and summary["history"]["last_over_first_cpu"] == 1.0
    # the transaction side (issue 17's 120 CPU-s): non-loan files, the AML and screening marts' lineage
    assert set(ingest["file_cpu_seconds"]) >= {"transactions", "accounts", "loans"}
    assert 0 < ingest["transaction_side_cpu_seconds"] < ingest["cpu_seconds"]
    transform = day["steps"]["transform"]
    aml = {uid.split(".")[-1] for uid, _ in transform["transaction_side_slowest"]}
    assert transform["transaction_side_nodes"] > 20 and not aml & {"int_loan_aprs_computed", "fct_loan_apr"}
    side = platform_bench.transaction_side(day)
    assert side is not None and side["total"] > 0 and side["floor"] > 0
    text = platform_bench.table(summary)
    assert "| transform |" in text and "History: 1 business dates" in text
    assert "Transaction side (issue 17" in text
    assert (tmp_path / "out.json").is_file()
    assert summary["pdf_rendered"] is False and "without their PDF" in text
    assert not list(tmp_path.rglob("*.pdf"))
