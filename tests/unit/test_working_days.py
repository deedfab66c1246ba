"""The Chinese working-day calendar seed against the State Council holiday notices it cites."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from tests.conftest import REPO_ROOT

SEED = REPO_ROOT / "dbt_project" / "seeds" / "reference" / "cn_working_days.csv"
# Days off and make-up working days as each notice states them (first day, last day).
NOTICES = {
    2024: (
        [("2024-01-01", "2024-01-01"), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
         ("2024-05-01", "2024-05-05"), ("2024-06-10", "2024-06-10"), ("2024-09-15", "2024-09-17"),
         ("2024-10-01", "2024-10-07")],
        ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29",
         "2024-10-12"],
    ),
    2025: (
        [("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
         ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08")],
        ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    ),
    2026: (
        [("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
         ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
         ("2026-10-01", "2026-10-07")],
        ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
    ),
}  # fmt: skip


def _seed() -> dict[date, dict[str, str]]:
    with SEED.open(newline="", encoding="utf-8") as handle:
        return {date.fromisoformat(r["calendar_date"]): r for r in csv.DictReader(handle)}


def test_every_day_of_2024_to_2026_once_and_as_the_notices_say() -> None:
    seed = _seed()
    day, expected_days = date(2024, 1, 1), 0
    while day <= date(2026, 12, 31):
        off_ranges, make_up = NOTICES[day.year]
        off = any(date.fromisoformat(a) <= day <= date.fromisoformat(b) for a, b in off_ranges)
        working = day.isoformat() in make_up or (day.weekday() < 5 and not off)
        assert (seed[day]["is_working_day"] == "true") == working, day
        assert str(day.year) in seed[day]["notice"] and seed[day]["notice_date"] < day.isoformat()[:4], day
        day += timedelta(days=1)
        expected_days += 1
    assert len(seed) == expected_days


def test_make_up_days_are_weekends_and_the_yearly_counts_match_the_published_ones() -> None:
    seed = _seed()
    for row_date, row in seed.items():
        if row["day_type"] == "make_up_working_day":
            assert row_date.weekday() >= 5 and row["is_working_day"] == "true"
        if row["day_type"] == "public_holiday":
            assert row["is_working_day"] == "false" and row["holiday_name"]
    counts = {
        y: sum(1 for d, r in seed.items() if d.year == y and r["is_working_day"] == "true") for y in NOTICES
    }
    assert counts == {2024: 251, 2025: 248, 2026: 248}
