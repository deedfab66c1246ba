"""Benchmark: does a day's transform cost depend on the history before it? (issue 17)

    nice -n 10 .venv/bin/python bench/incremental_bench.py --days 10 --transactions 100000

Generates ``--days`` business dates (``bench/bulk_platform.py``: ``--transactions`` a day,
a ``--loans`` loan book, ``--accounts`` accounts; cached under ``--work``), then runs
them in order twice, each time into a fresh ``var/``:

* ``incremental``: ingest, then transform, as ``regwatch run`` does (each day continues
  from the last build);
* ``scratch``: the same, but the record of the last build is cleared before each
  transform, so every day is a full refresh (dbt ``--full-refresh``): the shape of the cost
  before issue 17, when every day recomputed all history.

Each ingest and transform runs in its own process (:func:`regwatch.pipeline.locked_step`,
as an Airflow task runs it); its CPU seconds (user + system, ``os.wait4``), wall seconds
and the load average when it started are printed per day, with the transform's ``build``
(``incremental since D`` / ``full refresh: ...``). The figure that matters is the last
day's transform CPU over the first day's. Only ingest and transform run: the other steps
read the marts of one date and never the history.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))


def _settings(work: Path) -> Any:
    from regwatch.config import Settings

    return Settings(
        # a copy of the project's content folders (under --work): edits to the checkout while
        # the bench runs would change the project's sha256 and make the next day a full refresh
        project_root=work.parent / "project",
        var_dir=work / "var",
        landing_dir=work / "landing",
        render_pdf=False,
        # The bulk generator plants malformed rows on purpose; a small file can go over the limit.
        accept_degraded="incremental_bench: the bulk generator's planted malformed rows",
    )


def _child(step: str, work: Path, day: date) -> dict[str, Any]:
    from regwatch import pipeline

    result = pipeline.locked_step(step, day, _settings(work), "incremental_bench")
    return {"step": step, "build": result.summary.get("build", "")}


def _run(step: str, work: Path, day: date) -> dict[str, Any]:
    """One step in a fresh process: its own CPU seconds from ``os.wait4``."""
    command = [sys.executable, __file__, "--child", step, "--work", str(work), "--end", day.isoformat()]
    load = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{step} of {day} failed:\n{err.read().decode(errors='replace')[-4000:]}")
        result: dict[str, Any] = json.loads(out.read().decode().strip().splitlines()[-1])
    return result | {
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "load_average": [round(x, 1) for x in load],
    }


def run(work: Path, days: list[date], mode: str) -> list[dict[str, Any]]:
    from regwatch import warehouse

    shutil.rmtree(work / "var", ignore_errors=True)
    rows = []
    for day in days:
        ingest = _run("ingest", work, day)
        if mode == "scratch":
            warehouse.record_build_state(_settings(work).warehouse_path, None)
        transform = _run("transform", work, day)
        row = {
            "mode": mode,
            "date": day.isoformat(),
            "ingest_cpu": ingest["cpu_seconds"],
            "transform_cpu": transform["cpu_seconds"],
            "transform_wall": transform["wall_seconds"],
            "peak_rss_mib": transform["peak_rss_mib"],
            "load_average": transform["load_average"],
            "build": transform["build"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--modes", default="incremental,scratch")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench" / "incremental")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.work, args.end)))
        return

    import bulk_platform

    from regwatch.demo import business_days

    start = args.end
    while len(business_days(start, args.end)) < args.days:
        start = date.fromordinal(start.toordinal() - 1)
    days = business_days(start, args.end)
    work = args.work / f"{args.days}-{args.transactions}-{args.loans}-{args.accounts}"
    bulk_platform.build(
        work / "landing",
        args.end,
        start=start,
        transactions=args.transactions,
        accounts=args.accounts,
        loans=args.loans,
        history_days=1,
    )
    project = work.parent / "project"
    shutil.rmtree(project, ignore_errors=True)
    for folder in ("dbt_project", "checks", "reports"):
        shutil.copytree(REPO / folder, project / folder, ignore=shutil.ignore_patterns("target", "logs"))
    results = {mode: run(work, days, mode) for mode in args.modes.split(",")}
    for mode, rows in results.items():
        first, last = rows[0], rows[-1]
        print(
            f"{mode}: transform day 1 {first['transform_cpu']:.1f} CPU-s (load {first['load_average'][0]}), "
            f"day {len(rows)} {last['transform_cpu']:.1f} CPU-s (load {last['load_average'][0]}): "
            f"{last['transform_cpu'] / first['transform_cpu']:.2f}x"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
