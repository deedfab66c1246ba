"""Benchmark: `regwatch extract` of 1M transactions from PostgreSQL, full and incremental.

    nice -n 10 uv run python bench/extract_bench.py [--rows 1000000] [--changed 100000] [--json FILE]

Starts a private PostgreSQL cluster (the machine's server binaries, tests/postgres.py),
creates the demo source's tables (regwatch.extract.demo_source) and fills ``transactions``
with ``--rows`` rows committed through D1 (generated in the database: generate_series). Then,
each in a fresh process (wall and CPU seconds, peak RSS of that process):

1. **full**: the first extract of D1 delivers every row (the other tables are empty);
2. D1 is sealed (the call seal_ledger makes), then ``--changed`` rows are updated and
   ``--changed`` inserted, committed on D2;
3. **incremental**: the extract of D2 reads only the rows after D1's watermark (less the
   overlap window) and delivers exactly the 2 x ``--changed`` rows.

The load average is printed beside each figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

D1, D2 = date(2025, 6, 2), date(2025, 6, 3)
ENV = "REGWATCH_BENCH_SOURCE_URI"

_CHILD = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
t0, c0 = time.perf_counter(), time.process_time()
from regwatch.config import Settings
from regwatch.extract.run import extract_day
from regwatch.extract.sources import load_sources
import adbc_driver_postgresql.dbapi, duckdb, pyarrow
import_cpu_s = time.process_time() - c0
settings = Settings.from_env()
source = load_sources(Path(sys.argv[1]))["platform"]
result = extract_day(settings, source, date.fromisoformat(sys.argv[2]))
print(json.dumps({
    "rows": result.rows,
    "transactions": {t.file_name: t.rows for t in result.tables}["transactions"],
    "wall_s": round(time.perf_counter() - t0, 2),
    "cpu_s": round(time.process_time() - c0, 2),
    "import_cpu_s": round(import_cpu_s, 2),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "parquet_mib": round((settings.landing_for(date.fromisoformat(sys.argv[2])) / "transactions.parquet")
                         .stat().st_size / 2**20, 1),
}))
"""


def _fill(uri: str, rows: int) -> None:
    import adbc_driver_postgresql.dbapi as adbc_pg

    from regwatch.contract import CONTRACTS
    from regwatch.extract.demo_source import table_ddl

    # Committed through the day (Asia/Shanghai), one commit every 86.4 ms on average: the
    # overlap window (one hour) holds 1/24 of the day's keys, as in a live database.
    committed = "TIMESTAMPTZ '2025-06-01 16:00:00+00' + (n % 86400) * INTERVAL '1 second'"
    with adbc_pg.connect(uri) as con:
        cur = con.cursor()
        for contract in CONTRACTS.values():
            cur.execute(table_ddl(contract))
        cur.execute(
            "INSERT INTO transactions SELECT 'T' || lpad(n::text, 9, '0'), 'A' || (n % 50000), "
            "TIMESTAMP '2025-06-02 00:00:00' + (n % 86400) * INTERVAL '1 second', "
            "CASE WHEN n % 2 = 0 THEN 'credit' ELSE 'debit' END, "
            "round(((n::bigint * 7919) % 10000000) / 100.0 + 0.01, 2), 'CNY', "
            "(ARRAY['cash','transfer','card','cross_border','internal'])[1 + n % 5], "
            "'B' || (n % 9973), 'Counterparty ' || (n % 9973), 'CN', 'purpose ' || (n % 17), "
            f"{committed} FROM generate_series(1, {rows}) n"
        )
        con.commit()


def _change(uri: str, rows: int, changed: int) -> None:
    import adbc_driver_postgresql.dbapi as adbc_pg

    evening = "TIMESTAMP '2025-06-03 20:00:00' AT TIME ZONE 'Asia/Shanghai'"
    with adbc_pg.connect(uri) as con:
        cur = con.cursor()
        cur.execute(
            f"UPDATE transactions SET purpose = 'restated', committed_at = {evening} "
            f"WHERE txn_id <= 'T' || lpad('{changed}', 9, '0')"
        )
        cur.execute(
            "INSERT INTO transactions SELECT 'T' || lpad(n::text, 9, '0'), 'A' || (n % 50000), "
            "TIMESTAMP '2025-06-03 09:00:00', 'debit', 5.00, 'CNY', 'transfer', 'B9', 'Li Lei', 'CN', "
            f"'rent', {evening} FROM generate_series({rows + 1}, {rows + changed}) n"
        )
        con.commit()


def _extract(env: dict[str, str], sources: Path, day: date) -> dict[str, object]:
    load = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(sources), day.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = round(load, 2)
    result["rows_per_s"] = round(int(result["rows"]) / float(result["wall_s"]))  # type: ignore[call-overload]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100_000, help="rows updated and rows inserted")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import yaml

    from regwatch.config import Settings
    from regwatch.extract import state
    from regwatch.extract.demo_source import sources_yaml
    from tests.postgres import private_cluster

    work = Path(tempfile.mkdtemp(prefix="regwatch-extract-bench-"))
    sources = work / "sources.yml"
    sources.write_text(sources_yaml("platform", uri_env=ENV))
    var = work / "var"
    settings = Settings.from_env({}, project_root=REPO, var_dir=var)
    with private_cluster("bench") as uri:
        t = time.perf_counter()
        _fill(uri, args.rows)
        print(f"source filled: {args.rows:,} transactions in {time.perf_counter() - t:.1f} s", flush=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("REGWATCH")},
            ENV: uri,
            "REGWATCH_HOME": str(REPO),
            "REGWATCH_VAR": str(var),
        }
        full = _extract(env, sources, D1)
        print("full       ", json.dumps(full), flush=True)
        block = yaml.safe_load((settings.landing_for(D1) / "_delivery.yml").read_text())["extract"]
        state.seal(settings, block, D1, "bench-run-1")
        _change(uri, args.rows, args.changed)
        incremental = _extract(env, sources, D2)
        print("incremental", json.dumps(incremental), flush=True)
        assert incremental["transactions"] == 2 * args.changed, incremental
    results = {"rows": args.rows, "changed": args.changed, "full": full, "incremental": incremental}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
