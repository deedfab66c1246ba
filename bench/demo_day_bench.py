"""Benchmark: one demo business day through every step, CPU seconds and wall per step.

    uv run python bench/demo_day_bench.py                 # days 1-2 untimed, day 3 timed
    uv run python bench/demo_day_bench.py --work /tmp/d --days 3 --repeat-day

Generates the demo platform (``regwatch generate`` with the demo's dates and sizes) into
a work folder, runs the first ``--days - 1`` business dates untimed (``regwatch run``),
then runs the next one in a fresh process as ``regwatch run --business-date D`` does:
every step of :func:`regwatch.pipeline.run_day`, each timed in CPU seconds of the
process (user + system, dbt runs in-process) and wall seconds, with the load average
before and after (the machine is shared: CPU seconds are the figure to compare). The
import of the package and its first step is counted in the first step, as it is in a
real ``regwatch run``. ``--repeat-day`` runs the timed date a second time in another
fresh process (a rerun of the same date: the steady state of partial parsing and seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, os, resource, sys, time
from datetime import date

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime

t0_cpu, t0_wall = cpu(), time.perf_counter()
from regwatch.config import Settings
from regwatch import pipeline
day = date.fromisoformat(sys.argv[1])
settings = Settings.from_env()
rows = []
last_cpu, last_wall = t0_cpu, t0_wall
import_cpu, import_wall = cpu() - t0_cpu, time.perf_counter() - t0_wall
for step in pipeline.STEPS:
    load = os.getloadavg()[0]
    c, w = cpu(), time.perf_counter()
    step(day, settings)
    rows.append({"step": step.__name__, "cpu_s": round(cpu() - c, 2), "wall_s": round(time.perf_counter() - w, 2),
                 "load": round(load, 2)})
rows.insert(0, {"step": "import", "cpu_s": round(import_cpu, 2), "wall_s": round(import_wall, 2),
                "load": rows[0]["load"]})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"rows": rows, "total_cpu_s": round(cpu() - t0_cpu, 2),
                  "total_wall_s": round(time.perf_counter() - t0_wall, 2), "peak_rss_gib": round(peak, 2)}))
"""


def _regwatch(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).parent / "regwatch"), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _timed_day(day: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, day], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _print(title: str, result: dict[str, object]) -> None:
    print(f"\n{title}")
    print(f"{'step':<16} {'CPU-s':>7} {'wall s':>7} {'load':>5}")
    for row in result["rows"]:  # type: ignore[attr-defined]
        print(f"{row['step']:<16} {row['cpu_s']:>7.2f} {row['wall_s']:>7.2f} {row['load']:>5.2f}")
    print(f"{'total':<16} {result['total_cpu_s']:>7.2f} {result['total_wall_s']:>7.2f}"
          f"   peak RSS {result['peak_rss_gib']} GiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--days", type=int, default=3, help="the timed day is this business day of the demo")
    parser.add_argument("--repeat-day", action="store_true", help="time a rerun of the same date too")
    args = parser.parse_args()
    from regwatch.cli import DEMO_END, DEMO_START
    from regwatch.demo import business_days

    work = args.work or Path(tempfile.mkdtemp(prefix="regwatch-demo-day-"))
    env = {**os.environ, "REGWATCH_HOME": str(REPO), "REGWATCH_VAR": str(work / "var")}
    landing = work / "var" / "landing"
    days = business_days(DEMO_START, DEMO_END)[: args.days]
    if not landing.exists():
        _regwatch(
            "generate", "--start", str(DEMO_START), "--end", str(DEMO_END), "--out", str(landing), env=env
        )
    started = time.perf_counter()
    if len(days) > 1:
        _regwatch("run", "--from", str(days[0]), "--to", str(days[-2]), env=env)
    print(f"days {days[0]}..{days[-2]} untimed: {time.perf_counter() - started:.1f} s wall")
    _print(f"regwatch run --business-date {days[-1]} (fresh process)", _timed_day(str(days[-1]), env))
    if args.repeat_day:
        _print("the same date again (fresh process)", _timed_day(str(days[-1]), env))


if __name__ == "__main__":
    main()
