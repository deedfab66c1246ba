"""Benchmark: watch-list screening of many parties against a list, old scorer vs this one.

    uv run python bench/screening_bench.py --parties 100000 --names 10000 --entries 8000
    uv run python bench/screening_bench.py --old-ref 5e70780   # also time screening.py of that commit

A synthetic, seeded set: ``--names`` distinct party names (Chinese names in pinyin,
Arabic, Russian and Latin names, firms), repeated over ``--parties`` parties (a
customer's accounts, a counterparty paid often), and a list of ``--entries`` entries
drawn from the same name pools (a fifth Chinese names; a third with an alias). Times, in CPU seconds of one
process: :func:`regwatch.screening.screen` (Party objects, the per-party reference),
:func:`regwatch.screening.screen_frame` (the parties table in pandas, as the dbt model
called it until issue 17) and the dbt models' path now (:func:`regwatch.screening.name_hits`
on the distinct names, as ``int_watchlist_names_scored`` stores them, then
``int_watchlist_matches_scored``'s own SQL joining, agreeing and ranking in DuckDB), and
checks that all three return the same candidates in the same order. Parties and entries
carry birth dates and countries drawn from small pools, so the agreements break ties.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from regwatch.demo import base

REPO = Path(__file__).resolve().parent.parent

# The demo's Chinese name pools (the first 22 surnames and 21 syllables of the generator's).
_CN_SURNAMES = base.SURNAMES[:22]
_CN_SYLLABLES = base.SYLLABLES[:21]
_AR_GIVEN = [
    "Muhammad",
    "Ahmad",
    "Ali",
    "Hasan",
    "Husayn",
    "Umar",
    "Yusuf",
    "Khalid",
    "Ibrahim",
    "Abd-al-Rahman",
    "Mahmud",
    "Said",
    "Tariq",
    "Karim",
]
_AR_FAMILY = [
    "Masri",
    "Rashid",
    "Haqqani",
    "Qaradawi",
    "Batarfi",
    "Zawahiri",
    "Nasrallah",
    "Rahimi",
    "Shami",
    "Baghdadi",
    "Tikriti",
    "Hashimi",
]
_RU_GIVEN = ["Viktor", "Sergey", "Dmitri", "Ivan", "Pavel", "Olga", "Irina", "Anna", "Nikolai", "Alexei"]
_RU_FAMILY = [
    "Orlov",
    "Petrov",
    "Ivanov",
    "Sokolov",
    "Volkov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Lebedev",
    "Morozov",
]
_FIRMS = [
    "Golden Crescent Trading",
    "Huaxin Logistics",
    "Al Noor Exchange",
    "Baltic Shipping",
    "Ruifeng Textile",
]
_FORMS = ("LLC", "Co. Ltd.", "FZE", "Ltd", "Group")


def _name(rng: np.random.Generator, chinese_share: int) -> str:
    kind = rng.integers(0, 10)
    if kind < chinese_share:
        given = "".join(s.capitalize() if i == 0 else s for i, s in enumerate(rng.choice(_CN_SYLLABLES, 2)))
        return f"{rng.choice(_CN_SURNAMES)} {given}"
    if kind < chinese_share + (10 - chinese_share) // 2:
        nasab = f" bin {rng.choice(_AR_GIVEN)}" if rng.integers(0, 2) else ""
        return f"{rng.choice(_AR_GIVEN)} {rng.choice(_AR_GIVEN)}{nasab} {rng.choice(_AR_FAMILY)}"
    if kind < 9:
        patronymic = f" {rng.choice(_RU_GIVEN)}ovich" if rng.integers(0, 2) else ""
        return f"{rng.choice(_RU_GIVEN)}{patronymic} {rng.choice(_RU_FAMILY)}"
    return f"{rng.choice(_FIRMS)} {rng.choice(_CN_SURNAMES)} {rng.choice(_FORMS)}"


def _distinct(rng: np.random.Generator, n: int, chinese_share: int) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(_name(rng, chinese_share), None)
    return list(seen)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=8_000)
    parser.add_argument("--floor", type=float, default=80.0)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--old-ref", help="Also time src/regwatch/screening.py of this git commit (screen() only)."
    )
    args = parser.parse_args()

    import pandas as pd

    from regwatch import screening

    rng = np.random.default_rng(args.seed)
    names = _distinct(rng, args.names, 7)  # a Chinese platform's parties
    listed = _distinct(np.random.default_rng(args.seed + 1), args.entries + args.entries // 3 + 1, 2)
    days = [date(1970, 3, 1), date(1981, 5, 5), None]
    countries = ["CN", "cn ", "SY", "", None]
    attributes = np.random.default_rng(args.seed + 2)
    entries = [
        screening.ListEntry(
            f"WL-{i:05d}",
            listed[i],
            (listed[args.entries + i // 3],) if i % 3 == 0 else (),
            days[int(attributes.integers(0, 3))],
            countries[int(attributes.integers(0, 5))],
        )
        for i in range(args.entries)
    ]
    picks = rng.integers(0, len(names), args.parties)
    parties = [
        screening.Party(
            f"P{i:07d}",
            names[k],
            days[int(attributes.integers(0, 3))],
            countries[int(attributes.integers(0, 5))],
        )
        for i, k in enumerate(picks.tolist())
    ]
    table = pd.DataFrame(
        {
            "screened_name": [p.name for p in parties],
            "date_of_birth": [p.date_of_birth for p in parties],
            "country": [p.country for p in parties],
        }
    )
    print(
        f"{args.parties:,} parties, {len(set(names)):,} distinct names, {len(entries):,} entries, floor {args.floor}"
    )

    if args.old_ref:
        source = subprocess.run(
            ["git", "show", f"{args.old_ref}:src/regwatch/screening.py"],
            cwd=REPO,
            check=True,
            capture_output=True,
        ).stdout
        old_path = Path("/tmp") / f"screening_{args.old_ref}.py"
        old_path.write_bytes(source)
        old = _load(old_path, "screening_old")
        old_entries = [old.ListEntry(e.list_id, e.name, e.aliases) for e in entries]
        old_parties = [old.Party(p.key, p.name) for p in parties]
        start = time.process_time()
        found = old.screen(old_parties, old_entries, args.floor)
        print(
            f"old screen() at {args.old_ref}: {time.process_time() - start:7.2f} CPU-s, {len(found):,} candidates"
        )

    start = time.process_time()
    matches = screening.screen(parties, entries, args.floor)
    print(
        f"new screen():                 {time.process_time() - start:7.2f} CPU-s, {len(matches):,} candidates"
    )
    start = time.process_time()
    frame = screening.screen_frame(table, entries, args.floor)
    print(
        f"new screen_frame():           {time.process_time() - start:7.2f} CPU-s, {len(frame):,} candidates"
    )
    same = [(int(m.party_key[1:]), m.list_id, m.name_score, m.rank) for m in matches] == list(
        zip(frame["party_row"], frame["list_id"], frame["name_score"], frame["match_rank"], strict=True)
    )
    print(f"screen() and screen_frame() agree: {same}")
    start = time.process_time()
    rows = matches_by_sql(parties, entries, args.floor)
    print(f"dbt path (name_hits + SQL):   {time.process_time() - start:7.2f} CPU-s, {len(rows):,} candidates")
    expected = sorted((match_row(m) for m in matches), key=lambda m: (m[0], m[7]))
    agree = rows == expected
    print(f"screen() and the dbt path agree: {agree}")
    if not (same and agree):
        raise SystemExit(1)


def match_row(match: Any) -> tuple[Any, ...]:
    """A ``screen()`` match as the row :func:`matches_by_sql` returns (its columns, in order)."""
    return (
        match.party_key,
        match.list_id,
        match.matched_name,
        match.is_alias,
        match.name_score,
        match.dob_agreement,
        match.country_agreement,
        match.rank,
    )


def matches_by_sql(parties: list[Any], entries: list[Any], floor: float) -> list[tuple[Any, ...]]:
    """The dbt models' path on ``parties``: distinct names scored once (``name_hits``, as
    int_watchlist_names_scored stores them), then int_watchlist_matches_scored's own SQL
    (rendered with its refs pointing at these tables) joining, agreeing and ranking in DuckDB.
    Also the oracle of tests/unit/test_screening.py (against the per-party ``screen()``)."""
    import duckdb
    import jinja2
    import pandas as pd

    from regwatch.screening import name_hits

    model = (
        REPO / "dbt_project" / "models" / "intermediate" / "screening" / "int_watchlist_matches_scored.sql"
    )
    sql = (
        jinja2.Environment(undefined=jinja2.StrictUndefined)
        .from_string(model.read_text())
        .render(ref=lambda n: n)
    )
    party_table = pd.DataFrame(
        {
            "party_role": "customer",
            "customer_id": [p.key for p in parties],
            "customer_type": "individual",
            "party_key": [p.key for p in parties],
            "screened_name": [p.name for p in parties],
            "date_of_birth": pd.Series([p.date_of_birth for p in parties], dtype=object),
            "country": pd.Series([p.country for p in parties], dtype=object),
            "counterparty_account": None,
            "transaction_count": None,
            "transaction_ids": None,
            "first_transaction_at": None,
        }
    )
    listed = pd.DataFrame(
        {
            "list_id": [e.list_id for e in entries],
            "name": [e.name for e in entries],
            "aliases": [";".join(e.aliases) for e in entries],
            "date_of_birth": pd.Series([e.date_of_birth for e in entries], dtype=object),
            "country": pd.Series([e.country for e in entries], dtype=object),
            "list_name": [e.list_name for e in entries],
            "delivered_business_date": date(2025, 6, 2),
        }
    )
    con = duckdb.connect()
    con.register("_parties", party_table)
    con.register("_listed", listed)
    con.execute(
        "CREATE TABLE int_screening_parties_collected AS SELECT * REPLACE "
        "(cast(date_of_birth AS date) AS date_of_birth, cast(country AS varchar) AS country) FROM _parties"
    )
    con.execute(
        "CREATE TABLE stg_platform__watchlist AS SELECT * REPLACE "
        "(cast(date_of_birth AS date) AS date_of_birth, cast(country AS varchar) AS country) FROM _listed"
    )
    names = sorted(
        n
        for (n,) in con.execute(
            "SELECT DISTINCT screened_name FROM int_screening_parties_collected"
        ).fetchall()
    )
    hits = name_hits(names, entries, floor)
    con.register("_hits", hits)
    con.execute("CREATE TABLE int_watchlist_names_scored AS SELECT * FROM _hits")
    rows = con.execute(
        "SELECT party_key, list_id, matched_name, is_alias, name_score, dob_agreement, country_agreement, "
        f"match_rank FROM ({sql}) ORDER BY party_key, match_rank"
    ).fetchall()
    con.close()
    return rows


if __name__ == "__main__":
    main()
