"""Benchmark: the vectorised APR engine on 1,000,000 loans against a per-loan loop.

    make bench            # or: uv run python bench/apr_bench.py --loans 1000000

Generates loans like the platforms regwatch watches (equal installment, equal
principal, interest-first, flat add-on with monthly fees and upfront deductions,
bullet; monthly, fortnightly and weekly schedules; odd first periods), times
:func:`regwatch.apr.annual_rates` over all of them, times the per-loan loop
(the scalar :func:`regwatch.apr.annual_rate`, and pyxirr for the EU convention) on
a sample and extrapolates, and checks that both agree to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date, timedelta

import numpy as np

from regwatch.apr import annual_rate, annual_rates

EPOCH = date(1970, 1, 1)


def generate(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flows (loan number, day since 1970-01-01, signed amount) of ``n`` loans, sorted by loan and date."""
    rng = np.random.default_rng(seed)
    terms = rng.choice(
        np.array([1, 3, 6, 9, 12, 18, 24, 36]), n, p=[0.08, 0.12, 0.2, 0.1, 0.25, 0.1, 0.1, 0.05]
    )
    principal = np.round(rng.lognormal(np.log(20_000), 0.8, n), -2).clip(500, 500_000)
    rate = rng.uniform(0.04, 0.24, n)
    step = rng.choice(np.array([0, 1, 2]), n, p=[0.85, 0.1, 0.05])  # month, 2 weeks, week
    start = (date(2024, 1, 1) - EPOCH).days + rng.integers(0, 600, n)
    odd = rng.integers(0, 20, n) * (rng.random(n) < 0.3)
    upfront = np.round(principal * rng.uniform(0, 0.05, n) * (rng.random(n) < 0.3), 2)
    fee = np.round(principal * rng.uniform(0, 0.006, n) * (rng.random(n) < 0.4), 2)
    per_year = np.select([step == 0, step == 1], [12.0, 26.0], 52.0)
    i = rate / per_year
    annuity = np.round(principal * i / (1 - (1 + i) ** -terms.astype(float)), 2)
    width = int(terms.max())
    k = np.arange(1, width + 1)[None, :]
    live = k <= terms[:, None]
    payment = np.where(live, annuity[:, None] + fee[:, None], 0.0)
    first = start + 30 + odd
    first_d = first.astype("datetime64[D]")
    first_month = first_d.astype("datetime64[M]")
    day_of_month = np.minimum((first_d - first_month).astype(np.int64), 27)
    months = first_month[:, None] + (k - 1)
    month_days = months.astype("datetime64[D]").astype(np.int64) + day_of_month[:, None]
    week_days = first[:, None] + (k - 1) * np.where(step == 1, 14, 7)[:, None]
    due = np.where((step == 0)[:, None], month_days, week_days)
    n_flows = terms + 1
    loan = np.repeat(np.arange(n), n_flows)
    rows, cols = np.nonzero(live)
    day = np.empty(len(loan), np.int64)
    amount = np.empty(len(loan))
    offsets = np.cumsum(n_flows) - n_flows
    day[offsets] = start
    amount[offsets] = principal - upfront
    day[offsets[rows] + cols + 1] = due[rows, cols]
    amount[offsets[rows] + cols + 1] = -payment[rows, cols]
    return loan, day, amount


def scalar(
    loan: np.ndarray, day: np.ndarray, amount: np.ndarray, which: np.ndarray, method: str
) -> np.ndarray:
    out = np.empty(len(which))
    bounds = np.searchsorted(loan, np.stack([which, which + 1]))
    for n, (lo, hi) in enumerate(zip(*bounds.tolist(), strict=True)):
        dates = [EPOCH + timedelta(days=int(d)) for d in day[lo:hi]]
        values = amount[lo:hi].tolist()
        advances = [(d, v) for d, v in zip(dates, values, strict=True) if v > 0]
        payments = [(d, -v) for d, v in zip(dates, values, strict=True) if v < 0]
        out[n] = annual_rate(advances, payments, method)
    return out


def pyxirr_loop(loan: np.ndarray, day: np.ndarray, amount: np.ndarray, which: np.ndarray) -> np.ndarray:
    import pyxirr

    out = np.empty(len(which))
    bounds = np.searchsorted(loan, np.stack([which, which + 1]))
    for n, (lo, hi) in enumerate(zip(*bounds.tolist(), strict=True)):
        dates = [EPOCH + timedelta(days=int(d)) for d in day[lo:hi]]
        out[n] = pyxirr.xirr(dates, amount[lo:hi].tolist())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="loans timed in the per-loan loop")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    loan, day, amount = generate(args.loans)
    made = time.perf_counter() - t0
    print(f"{args.loans:,} loans, {len(amount):,} cash flows generated in {made:.1f} s")
    sample = np.random.default_rng(1).choice(args.loans, min(args.sample, args.loans), replace=False)
    sample.sort()
    results = {}
    for method in ("cn_irr", "us_reg_z", "eu_aprc"):
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            batch = annual_rates(loan, day, amount, method)
            timings.append(time.perf_counter() - t0)
        best, median = min(timings), statistics.median(timings)
        t0 = time.perf_counter()
        ref = scalar(loan, day, amount, sample, method)
        loop = (time.perf_counter() - t0) / len(sample) * args.loans
        diff = float(np.nanmax(np.abs(batch.annual_rate[sample] - ref)))
        row = {
            "vectorised_s": round(best, 3),
            "vectorised_median_s": round(median, 3),
            "scalar_loop_s": round(loop, 1),
            "speedup": round(loop / best),
            "max_abs_diff": diff,
            "errors": int((batch.error > 0).sum()),
        }
        if method == "eu_aprc":
            try:
                t0 = time.perf_counter()
                ref_x = pyxirr_loop(loan, day, amount, sample)
                row["pyxirr_loop_s"] = round((time.perf_counter() - t0) / len(sample) * args.loans, 1)
                row["pyxirr_speedup"] = round(row["pyxirr_loop_s"] / best)
                row["pyxirr_max_abs_diff"] = float(np.nanmax(np.abs(batch.annual_rate[sample] - ref_x)))
            except ImportError:
                pass
        results[method] = row
        print(method, json.dumps(row))
    print(
        json.dumps(
            {
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                "loans": args.loans,
                "flows": len(amount),
                **results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
