"""Benchmark: watch-list screening of many parties against a list, old scorer vs this one.

    uv run python bench/screening_bench.py --parties 100000 --names 10000 --entries 8000
    uv run python bench/screening_bench.py --old-ref 5e70780   # also time screening.py of that commit

A synthetic, seeded set: ``--names`` distinct party names (Chinese names in pinyin,
Arabic, Russian and Latin names, firms), repeated over ``--parties`` parties (a
customer's accounts, a counterparty paid often), and a list of ``--entries`` entries
drawn from the same name pools (a fifth Chinese names; a third with an alias). Times, in CPU seconds of one
process: :func:`regwatch.screening.screen` (Party objects, as the dbt model used to
call it) and :func:`regwatch.screening.screen_frame` (the parties table, as it calls it
now), and checks that both return the same candidates in the same order.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

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
    entries = [
        screening.ListEntry(f"WL-{i:05d}", listed[i], (listed[args.entries + i // 3],) if i % 3 == 0 else ())
        for i in range(args.entries)
    ]
    picks = rng.integers(0, len(names), args.parties)
    parties = [screening.Party(f"P{i}", names[k]) for i, k in enumerate(picks.tolist())]
    table = pd.DataFrame({"screened_name": [p.name for p in parties], "date_of_birth": None, "country": None})
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
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
