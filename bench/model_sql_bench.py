"""Benchmark: the compiled SQL of a few dbt models, before and after a change, on one warehouse.

    nice -n 10 .venv/bin/python bench/model_sql_bench.py --work var/bench/platform/day-10000-1000000 \\
        --before var/bench/before/run_results.json fct_customer_large_value_days int_customer_fan_windows_slid

For iterating on a model's SQL at a scale where the whole day takes too long (issue 17): the
warehouse a day's transform built (``--work``: ``platform_bench.py``'s work folder) holds
every model's inputs, so one model's compiled SQL can be run on its own. This

1. compiles the named models from the working tree (``dbt compile --full-refresh``, the same
   vars and environment as :func:`regwatch.transform.build`, into a scratch target folder);
2. runs each model's SQL, the compiled code of ``--before`` (a ``run_results.json`` of an
   earlier build, e.g. the day's own transform) and the working tree's, each as a temporary
   table in one DuckDB connection (``memory_limit`` as the transform's), best of
   ``--repeat``, CPU seconds of this process (DuckDB's threads included) and wall;
3. checks the two tables are the same: column names and types, and the rows (``EXCEPT
   ALL`` both ways: a bag, so duplicates count).

Nothing is committed: the connection rolls back. Exit code 1 when a table differs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compile_models(work: Path, day: date, models: list[str], target: Path) -> dict[str, str]:
    """The working tree's compiled SQL of ``models`` (a full refresh, as of ``day``)."""
    from dbt.cli.main import dbtRunner

    from regwatch import warehouse
    from regwatch.config import Settings
    from regwatch.rules import load_pack

    settings = Settings(project_root=REPO, var_dir=work / "var", landing_dir=work / "landing")
    pack = load_pack(settings.pack_dir)
    dbt_vars = json.dumps(
        {
            "apr_convention": pack.apr_convention,
            "reporting_currency": pack.currency,
            "pack": dict(sorted({name: p.value for name, p in pack.parameters.items()}.items())),
        },
        default=str,
    )
    os.environ.update(
        {
            "REGWATCH_WAREHOUSE": str(settings.warehouse_path),
            "REGWATCH_BUSINESS_DATE": day.isoformat(),
            "REGWATCH_BUILT_THROUGH": "",
            **{
                f"REGWATCH_DUCKDB_{k.upper()}": v
                for k, v in warehouse.duckdb_config(settings.warehouse_path).items()
            },
        }
    )
    result = dbtRunner().invoke(
        [
            "compile",
            "--full-refresh",
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_project_dir),
            "--target-path",
            str(target),
            "--vars",
            dbt_vars,
            "--select",
            *models,
            "--quiet",
        ]
    )
    if not result.success:
        raise SystemExit(f"dbt compile failed: {result.exception}")
    from regwatch.transform import _close_dbt_duckdb

    _close_dbt_duckdb()
    return _compiled(target / "run_results.json", models)


def _compiled(run_results: Path, models: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for r in json.loads(run_results.read_text())["results"]:
        name = r["unique_id"].split(".")[-1]
        if r["unique_id"].startswith("model.") and name in models and r.get("compiled_code"):
            found[name] = r["compiled_code"]
    return found


def _time(con: Any, table: str, sql: str, repeat: int) -> tuple[float, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        con.execute(f"DROP TABLE IF EXISTS {table}")
        cpu, wall = _cpu(), time.perf_counter()
        con.execute(f"CREATE TEMP TABLE {table} AS {sql}")
        best_cpu = min(best_cpu, _cpu() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return round(best_cpu, 2), round(best_wall, 2)


def compare(con: Any, before: str, after: str) -> dict[str, Any]:
    """Columns (name, type) and rows of two tables; ``same`` when both agree."""

    def columns(table: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]

    cb, ca = columns(before), columns(after)
    out: dict[str, Any] = {"rows": con.execute(f"SELECT count(*) FROM {after}").fetchone()[0]}
    if cb != ca:
        out |= {"same": False, "columns_before": cb, "columns_after": ca}
        return out
    only_before = con.execute(
        f"SELECT count(*) FROM (SELECT * FROM {before} EXCEPT ALL SELECT * FROM {after})"
    ).fetchone()[0]
    only_after = con.execute(
        f"SELECT count(*) FROM (SELECT * FROM {after} EXCEPT ALL SELECT * FROM {before})"
    ).fetchone()[0]
    out |= {
        "same": only_before == 0 and only_after == 0,
        "only_before": only_before,
        "only_after": only_after,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--work", type=Path, required=True, help="platform_bench.py's day folder")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--before", type=Path, help="run_results.json holding the old compiled SQL")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--memory", default="3GB")
    parser.add_argument("--no-after", action="store_true", help="time the --before SQL only")
    args = parser.parse_args(argv)

    import duckdb

    before = _compiled(args.before, args.models) if args.before else {}
    if args.no_after:
        after: dict[str, str] = {}
    else:
        with tempfile.TemporaryDirectory() as scratch:
            after = compile_models(args.work, args.date, args.models, Path(scratch))
    con = duckdb.connect(str(args.work / "var" / "warehouse.duckdb"))
    con.execute(f"SET memory_limit = '{args.memory}'")
    con.execute("BEGIN")
    failed = False
    try:
        for model in args.models:
            row: dict[str, Any] = {"model": model}
            if model in before:
                row["before_cpu_s"], row["before_wall_s"] = _time(con, "_before", before[model], args.repeat)
            if model in after:
                row["after_cpu_s"], row["after_wall_s"] = _time(con, "_after", after[model], args.repeat)
            if model in before and model in after:
                row |= compare(con, "_before", "_after")
                failed |= not row["same"]
            row["load"] = [round(x, 1) for x in os.getloadavg()]
            print(json.dumps(row), flush=True)
            con.execute("DROP TABLE IF EXISTS _before")
            con.execute("DROP TABLE IF EXISTS _after")
    finally:
        con.execute("ROLLBACK")
        con.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
