"""Fan-in / fan-out on sliding windows and the relative line (issue 14, detection depth):
hand-made rows, the cn pack.

Built once as of D = 2025-06-13 (a Friday) as a weekly run would: nothing was run for the
days before, so a fan whose window ended on an earlier day (a Sunday) must still be found.
Pack: windows of 7 calendar days, 5 distinct counterparties, CNY 50,000 together, windows
ending on each of the last 7 days; an entity's salary and goods-payment legs are its
profile's expected fans. Relative line: 3-day windows against the 30 days before (5 days of
history at least), 5 transactions and CNY 30,000 at least, 5 times the baseline's count and value.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from regwatch.config import Settings
from regwatch.rules import RulePack
from regwatch.validate import run_rules
from tests.helpers import Row, built_marts, fired, query, raw_account, reading
from tests.integration.test_aml_typologies import _txn

pytestmark = pytest.mark.integration

D = date(2025, 6, 13)
#: The marts this file reads: only their lineage is built and only the rules reading them run.
MARTS = (
    "fct_customer_fan_in_windows",
    "fct_customer_fan_out_windows",
    "fct_customer_activity_spikes",
)


def _legs(
    prefix: str, account: str, direction: str, days: list[str], amount: str, purpose: str | None = None
) -> list[Row]:
    rows = []
    for i, day in enumerate(days):
        row = list(
            _txn(
                f"{prefix}{i}",
                account,
                f"{day} 1{i % 10}:00:00",
                direction,
                amount,
                counterparty=f"62{prefix}{i:04d}",
            )
        )
        row[-1] = purpose
        rows.append(tuple(row))
    return rows


def _rows() -> list[Row]:
    six_days = ["2025-06-07", "2025-06-08", "2025-06-09", "2025-06-10", "2025-06-11", "2025-06-12"]
    rows: list[Row] = []
    # A: degree 5 spread over 6 days, CNY 60,000 (AMLworld's fans: 4-7 days, degree 2-20+): fires
    rows += _legs("A", "AA", "credit", [*six_days[:5], "2025-06-12"], "12000.00")[:5]
    # B: degree 4 over 6 days: under the degree
    rows += _legs("B", "AB", "credit", six_days[:4], "20000.00")
    # C: degree 5, a cent under CNY 50,000 together
    rows += [
        *_legs("C", "AC", "credit", six_days[:4], "10000.00"),
        _txn("C9", "AC", "2025-06-12 19:00:00", "credit", "9999.99", counterparty="62C9"),
    ]
    # E: degree 6 ending on Sunday 06-08: the window ending on D holds only 2 of them, the window
    # ending on 06-08 (a day no run was made for) holds all six: fires on the weekly run of D
    rows += _legs(
        "E",
        "AE",
        "debit",
        ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-08", "2025-06-08"],
        "15000.00",
    )
    # G: degree 5 spread over 8 days: no 7-day window holds more than 4
    rows += _legs(
        "G", "AG", "debit", ["2025-06-05", "2025-06-06", "2025-06-09", "2025-06-11", "2025-06-12"], "15000.00"
    )
    # P: an entity's payroll to 8 employees (purpose salary): its expected fan-out, not counted;
    # Q: the same entity shape paying 5 parties for "consulting": counted, fires
    rows += _legs("P", "AP", "debit", ["2025-06-10"] * 8, "9000.00", "salary")
    rows += _legs("Q", "AQ", "debit", ["2025-06-10"] * 5, "11000.00", "consulting")
    # M: an individual receiving 5 "goods payment" credits: counted (only entities' are expected)
    rows += _legs("M", "AM", "credit", ["2025-06-11"] * 5, "11000.00", "goods payment")
    # Relative line. K: two small payments in the week of 06-02 (the warehouse's first date), then
    # eight transfers of CNY 5,000 on 06-11..06-13 (each far under the money lines): fires.
    burst = ["2025-06-11", "2025-06-12", "2025-06-13"] * 3
    rows += _legs("Kb", "AK", "debit", ["2025-06-03", "2025-06-05"], "1500.00")
    rows += _legs("K", "AK", "credit", burst[:8], "5000.00")
    # L: the same burst against a busy baseline (a payment every day of 06-02..06-06): 8 against 5
    rows += _legs(
        "Lb",
        "AL",
        "debit",
        ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"] * 2,
        "3000.00",
    )
    rows += _legs("L", "AL", "credit", burst[:8], "5000.00")
    # N: four transfers only; Z: no baseline activity at all (the dormant rule's case)
    rows += _legs("Nb", "AN", "debit", ["2025-06-03"], "1500.00")
    rows += _legs("N", "AN", "credit", burst[:4], "9000.00")
    rows += _legs("Z", "AZ", "credit", burst[:8], "5000.00")
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cn_pack: RulePack) -> Settings:
    accounts = [raw_account(f"A{c}", f"C{c}") for c in "ABCEGMKLNZ"]
    accounts += [
        tuple(["entity" if i == 2 else v for i, v in enumerate(raw_account(f"A{c}", f"C{c}"))]) for c in "PQ"
    ]
    loads = {date(2025, 6, 2): {"accounts": accounts}, D: {"transactions": _rows()}}
    return built_marts(tmp_path_factory.mktemp("fan_windows"), D, cn_pack, MARTS, loads)


@pytest.fixture(scope="module")
def exceptions(built: Settings, cn_pack: RulePack) -> pd.DataFrame:
    return run_rules(built.warehouse_path, reading(cn_pack, *MARTS), D, "RUN")


def test_a_fan_of_degree_five_spread_over_six_days_fires(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            "SELECT entity_key, counterparty_count, window_start_date, window_end_date FROM marts.fct_customer_fan_in_windows",
        )
    }
    assert rows["CA"] == (5, date(2025, 6, 5), date(2025, 6, 11))
    assert rows["CB"][0] == 4 and "CC" not in rows
    assert rows["CM"][0] == 5
    assert fired(exceptions, "fan_in") == {"CA", "CM"}


def test_windows_slide_over_days_no_run_was_made_for(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            "SELECT entity_key, counterparty_count, window_end_date FROM marts.fct_customer_fan_out_windows",
        )
    }
    assert rows["CE"] == (6, date(2025, 6, 8))  # a Sunday, never run
    assert rows["CG"][0] == 4  # eight days apart: no window holds all five
    assert rows["CQ"][0] == 5 and "CP" not in rows  # payroll is the entity's expected fan-out
    assert fired(exceptions, "fan_out") == {"CE", "CQ"}


def test_the_relative_line_flags_a_burst_against_the_customer_s_own_baseline(
    built: Settings, exceptions: pd.DataFrame
) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            "SELECT entity_key, window_transaction_count, window_amount_cny, baseline_observed_days, "
            "expected_transaction_count, spike_ratio FROM marts.fct_customer_activity_spikes",
        )
    }
    # K: 2 payments in the 9 observed days 06-02..06-10 -> 0.6667 expected in 3 days; 8 / 0.6667
    # and CNY 40,000 / 1,000: the lesser is 12
    assert rows["CK"][:4] == (8, Decimal("40000.00"), 9, Decimal("0.6667"))
    assert rows["CK"][4] >= 5
    assert rows["CL"][4] < 5  # ten payments in the baseline: 8 against 3.3 expected
    assert "CN" not in rows  # four transactions
    assert rows["CZ"][4] is None  # no baseline: no ratio
    assert fired(exceptions, "activity_spike") == {"CK"}
