"""Benchmark: the daily report's render step at 2,000 alerts (issue 15 point 8).

    uv run python bench/report_bench.py                 # 2,000 alerts, renders once
    uv run python bench/report_bench.py --alerts 5000 --repeat 2

Builds a synthetic, seeded warehouse in a temporary folder: three business days of
rule exceptions from the ``cn`` pack's own rules (their titles, severities and legal
bases), with a realistic mix: rate-cap breaches with their cash flows (critical),
large-value and typology AML alerts with the transactions they name in
``raw.transactions`` (high, gathered per customer-day), watch-list counterparty hits
(critical), missing FX rates, dormant accounts and disclosure gaps (medium); on the
last day about 8 % are new, 5 % stopped firing (the conditions among them resolve, the
events stay open until decided), 3 % are suppressed by an analyst's decision and the rest
are still open, some for three days. The loads, a quarantine and the decisions
file's log are there too, as in a real run.

The render step (:func:`regwatch.reporting.daily.render_daily`: HTML, PDF, CSV) then runs in a
fresh process, as the pipeline's ``render_reports`` task does, and the bench prints its
wall and CPU seconds, the child's peak RSS (``ru_maxrss``), the PDF's pages (pypdf) and
the sizes of the three files; with ``--repeat`` it checks the bytes are identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAYS = (date(2025, 6, 10), date(2025, 6, 11), date(2025, 6, 12))
RUNS = {d: f"{d:%Y%m%d}-{hashlib.sha256(str(d).encode()).hexdigest()[:12]}" for d in DAYS}

#: rule id -> share of the alerts (the rest of the pack's rules fire rarely)
MIX = {
    "cn.rate_caps.real_apr_above_comprehensive_cap": 0.22,
    "cn.rate_caps.real_apr_above_void_line": 0.04,
    "cn.rate_caps.overdue_charges_above_cap": 0.08,
    "cn.aml.large_cash": 0.18,
    "cn.aml.large_individual_domestic_transfer": 0.08,
    "cn.aml.large_individual_cross_border_transfer": 0.04,
    "cn.aml.missing_fx_rate": 0.06,
    "cn.aml.structuring": 0.05,
    "cn.aml.high_risk_jurisdiction": 0.07,
    "cn.aml.dormant_reactivated": 0.05,
    "cn.aml.watchlist_counterparty_match": 0.03,
    "cn.aml.watchlist_customer_match": 0.01,
    "cn.disclosures.individual_borrower_limit": 0.09,
}


def _exception(
    rng: random.Random, rule_id: str, n: int, day: date
) -> tuple[str, str, dict[str, object], list[str]]:
    """(entity key, message, evidence, transaction ids) of alert ``n`` of ``rule_id``."""
    customer = f"C{n % 1400:06d}"
    d = day.isoformat()
    if rule_id.startswith("cn.rate_caps."):
        principal = rng.choice((3000, 5000, 8000, 10000, 20000))
        months = rng.choice((3, 6, 12))
        apr = round(0.24 + rng.random() * 0.2, 6)
        flows = [f"2025-0{1 + n % 4}-15 +{principal:.2f}"] + [
            f"2025-{1 + n % 4 + k + 1:02d}-15 -{principal * (1 + apr / 2) / months:.2f}"
            for k in range(months)
        ]
        evidence: dict[str, object] = {
            "loan_id": f"L{n:08d}",
            "borrower_id": customer,
            "principal": f"{principal:.2f}",
            "nominal_rate": "0.180000",
            "real_apr": f"{apr:.6f}",
            "comprehensive_cap_rate": "0.24",
            "void_line_rate": "0.36",
            "overdue_charges": f"{rng.random() * 900:.2f}",
            "cash_flows": "; ".join(flows),
        }
        message = f"Real APR {apr:.2%} (nominal 18.00%) is above the 24% comprehensive-cost level"
        return f"L{n:08d}", message, evidence, []
    txns = [f"T{n:07d}{k}" for k in range(rng.randint(1, 6))]
    if rule_id.startswith("cn.aml.large"):
        cny, usd = (
            (f"{50000 + rng.random() * 2e5:,.2f}", "0.00")
            if n % 7
            else ("0.00", f"{10000 + rng.random() * 4e4:,.2f}")
        )
        evidence = {
            "customer_id": customer,
            "transaction_date": d,
            "direction": "credit",
            "cny_amount": cny.replace(",", ""),
            "foreign_amount_usd": usd.replace(",", ""),
            "transaction_ids": ",".join(txns),
            "report_deadline": str(day + timedelta(days=5)),
        }
        message = (
            f"Cash credit on {d}: CNY {cny} and USD {usd} (foreign legs) in {len(txns)} transaction(s) reach the "
            f"CNY 50,000 / USD 10,000 large-value line (CNY); report by {day + timedelta(days=5)}"
        )
        return f"{customer}|cash|credit|{n}", message, evidence, txns
    if rule_id == "cn.aml.high_risk_jurisdiction":
        listed = rng.choice(("fatf_increased_monitoring", "fatf_call_for_action"))
        evidence = {
            "customer_id": customer,
            "transaction_id": txns[0],
            "counterparty_country": "HR",
            "listed_on": listed,
        }
        message = f"debit of CNY 12,000.00 on {d} 10:00:00 with Acme Trading Co in HR, listed on {listed}"
        return f"{customer}|{txns[0]}", message, evidence, txns[:1]
    if rule_id.startswith("cn.aml.watchlist"):
        evidence = {
            "customer_id": customer,
            "list_id": f"WL-{n % 40:04d}",
            "list_name": "UN Security Council Consolidated List",
            "name_score": "0.93",
            "transaction_ids": ",".join(txns),
        }
        message = (
            f'Counterparty "Ouyang Baoshan Trading" of {len(txns)} transaction(s) of customer {customer} matches '
            f'UN Security Council Consolidated List entry WL-{n % 40:04d} "Ouyang Baoshan" (matched "Ouyang Baoshan", '
            "score 0.93; country agrees) in the list delivered on 2025-06-01"
        )
        return f"{customer}|WL-{n % 40:04d}|{n}", message, evidence, txns
    if rule_id == "cn.aml.missing_fx_rate":
        evidence = {"customer_id": customer, "currencies": "CHF", "unconverted_transaction_ids": txns[0]}
        message = f"No FX rate on {d} for {txns[0]} (CHF): cash credit totals are a lower bound (USD 0.00 converted)"
        return f"{customer}|fx|{n}", message, evidence, []
    if rule_id.startswith("cn.aml."):
        evidence = {
            "customer_id": customer,
            "transaction_count": len(txns),
            "transaction_ids": ",".join(txns),
        }
        message = (
            f"{len(txns)} transaction(s) of customer {customer} between {DAYS[0]} and {d} match the indicator"
        )
        return f"{customer}|{n}", message, evidence, txns
    customer = f"B{n:06d}"
    evidence = {
        "borrower_id": customer,
        "outstanding_cny": f"{200000 + rng.random() * 1e5:.2f}",
        "limit_cny": "200000.00",
    }
    message = f"Borrower {customer} owes CNY {evidence['outstanding_cny']} across platforms, above the CNY 200,000 limit"
    return f"B{n:06d}", message, evidence, []


def build(var: Path, count: int, seed: int) -> None:
    """A warehouse whose last day holds ``count`` alerts (new, open, resolved, suppressed)."""
    sys.path.insert(0, str(REPO / "src"))
    from regwatch import alerts, warehouse
    from regwatch.rules import load_pack

    rules = {r.id: r for r in load_pack(REPO / "checks" / "cn").rules}
    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    planned = []
    for n in range(count):
        rule_id = rng.choices(kinds, weights)[0]
        rule_id = rule_id if rule_id in rules else "cn.aml.large_cash"
        draw = rng.random()
        # last-day mix: 8 % new, 5 % resolved, the rest open (a third since the first day)
        days = DAYS[2:] if draw < 0.08 else DAYS[:2] if draw < 0.13 else DAYS if draw < 0.4 else DAYS[1:]
        planned.append((n, rule_id, days))
    settings_path = var / "warehouse.duckdb"
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    suppressed: list[str] = []
    with warehouse.connect(settings_path) as con:
        for day in DAYS:
            con.execute(
                "INSERT INTO results.run_log VALUES (?, ?, 'cn', '2026.12.2', ?, '0.1.0', ?)",
                [RUNS[day], day, "a" * 64, "b" * 64],
            )
            for file_name, read, quarantined in (
                ("loans", 2400, 0),
                ("transactions", 52000, 3),
                ("accounts", 1400, 1),
            ):
                con.execute(
                    "INSERT INTO results.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 'loaded', NULL, 'utf-8', ?)",
                    [
                        f"L{day:%m%d}",
                        day,
                        file_name,
                        f"{day}/{file_name}.csv",
                        "c" * 64,
                        read,
                        read - quarantined,
                        quarantined,
                        read + 1,
                    ],
                )
            con.execute(
                "INSERT INTO quarantine.rows VALUES (?, ?, ?, 'transactions', 17, 'amount', 'abc', "
                "'wrong type: expected DECIMAL(18,2)', '{}')",
                [f"L{day:%m%d}", day, f"{day}/transactions.csv"],
            )
        exceptions = []
        transactions = []
        for n, rule_id, days in planned:
            rule = rules[rule_id]
            for day in days:
                entity, message, evidence, txns = _exception(
                    random.Random(seed * 100003 + n), rule_id, n, day
                )
                exceptions.append(
                    (
                        RUNS[day],
                        day,
                        rule_id,
                        rule.severity,
                        rule.legal_basis,
                        rule.model,
                        entity,
                        message,
                        json.dumps(evidence),
                    )
                )
                for k, t in enumerate(txns):
                    transactions.append(
                        (
                            t,
                            f"A{n % 1400:06d}",
                            f"{day} {9 + k}:15:00",
                            "credit",
                            f"{9000 + 1000 * k:.2f}",
                            "CNY",
                            "cash",
                            None,
                            "Zhang Wei Trading" if k % 2 else None,
                            "CN",
                            "deposit",
                            "L",
                            day,
                            f"{day}/transactions.csv",
                            n * 10 + k,
                        )
                    )
        con.executemany("INSERT INTO results.exceptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", exceptions)
        con.execute(
            "CREATE TEMP TABLE t (txn_id VARCHAR, account_id VARCHAR, txn_at TIMESTAMP, direction VARCHAR, amount DECIMAL(18,2), "
            "currency VARCHAR, channel VARCHAR, counterparty_account VARCHAR, counterparty_name VARCHAR, "
            "counterparty_country VARCHAR, purpose VARCHAR, _load_id VARCHAR, _business_date DATE, _source_file VARCHAR, _row_number INTEGER)"
        )
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", transactions)
        con.execute("INSERT INTO raw.transactions BY NAME SELECT * FROM t")
        for day in DAYS[:2]:
            alerts.update(con, day, RUNS[day])
        # ~3 % of the open alerts suppressed by a decision that holds past the last day
        keys = [
            r[0]
            for r in con.execute(
                "SELECT alert_key FROM results.alert_days WHERE business_date = ? ORDER BY alert_key",
                [DAYS[1]],
            ).fetchall()
        ]
        suppressed = keys[:: max(len(keys) // max(count * 3 // 100, 1), 1)][: count * 3 // 100]
        for row, key in enumerate(suppressed, start=1):
            con.execute(
                "INSERT INTO results.dispositions VALUES (?, ?, ?, 'false_positive', ?, ?, 'analyst 7', 'known payroll', NULL, ?)",
                [DAYS[2], row, key, DAYS[1], DAYS[2] + timedelta(days=30), f"{key},false_positive,{DAYS[1]}"],
            )
        con.execute(
            "INSERT INTO results.disposition_log VALUES (?, 'decisions.csv', true, ?, ?, 0, ?)",
            [DAYS[2], "d" * 64, len(suppressed), "e" * 64],
        )
        alerts.update(con, DAYS[2], RUNS[DAYS[2]])
        counts = dict(
            con.execute(
                "SELECT status, count(*) FROM results.alert_days WHERE business_date = ? GROUP BY ALL",
                [DAYS[2]],
            ).fetchall()
        )
        severities = dict(
            con.execute(
                "SELECT severity, count(*) FROM results.alert_days WHERE business_date = ? GROUP BY ALL",
                [DAYS[2]],
            ).fetchall()
        )
    print(
        f"alerts on {DAYS[2]}: {sum(counts.values())} {dict(sorted(counts.items()))} {dict(sorted(severities.items()))}"
    )


def render(var: Path) -> None:
    """The render step alone (run in a child process by :func:`main`)."""
    sys.path.insert(0, str(REPO / "src"))
    from regwatch.config import Settings
    from regwatch.reporting.daily import render_daily

    settings = Settings(project_root=REPO, var_dir=var, landing_dir=var / "landing")
    render_daily(settings, DAYS[2], RUNS[DAYS[2]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--render-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="build the warehouse in this folder and keep it")
    args = parser.parse_args()
    if args.render_only:
        render(args.render_only)
        return
    from pypdf import PdfReader

    with tempfile.TemporaryDirectory(prefix="report_bench_") as temp:
        var = args.keep or Path(temp) / "var"
        build(var, args.alerts, args.seed)
        digests = set()
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--render-only", str(var)], check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            folder = var / "reports" / str(DAYS[2])
            pdf = folder / "daily_exceptions.pdf"
            pages = len(PdfReader(pdf).pages)
            sizes = {p.suffix: p.stat().st_size for p in sorted(folder.glob("daily_exceptions.*"))}
            digests.add(
                tuple(
                    hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in sorted(folder.glob("daily_exceptions.*"))
                )
            )
            print(
                f"render: {pages} PDF pages, {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {after.ru_maxrss / 1024:.0f} MB; "
                f"bytes {sizes}"
            )
        if args.repeat > 1:
            print(
                "identical bytes on every render"
                if len(digests) == 1
                else f"BYTES DIFFER: {len(digests)} versions"
            )


if __name__ == "__main__":
    main()
