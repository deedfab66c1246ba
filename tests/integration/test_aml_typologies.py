"""The typology feature models and rules on hand-made rows: both sides of every threshold and window edge.

One warehouse, built as of D = 2025-06-13 (a Friday) with the cn pack's parameters:
structuring window 06-09..06-13, fan windows of 7 days (06-07..06-13 the latest), dormant window 06-09..06-13,
rapid in-out window 24 h, cycles returning within 5 days, FATF lists of 13 June 2025.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from regwatch.config import Settings
from regwatch.rules import RulePack
from regwatch.validate import run_rules
from tests.helpers import Row, built_marts, fired, query, raw_account, reading

pytestmark = pytest.mark.integration

D = date(2025, 6, 13)
LOAD0, LOAD1 = date(2025, 6, 2), D  # history loaded on 06-02 (and a few later loads), the day itself
#: The marts this file reads: only their lineage is built and only the rules reading them run.
MARTS = (
    "fct_customer_cash_structuring",
    "fct_customer_fan_in_windows",
    "fct_customer_fan_out_windows",
    "fct_customer_rapid_in_out",
    "fct_account_dormant_reactivations",
    "fct_high_risk_jurisdiction_transactions",
    "fct_customer_transfer_cycles",
    "fct_customer_large_value_days",
)


def _txn(
    txn_id: str,
    account_id: str,
    at: str,
    direction: str,
    amount: str,
    channel: str = "transfer",
    counterparty: str | None = None,
    country: str | None = None,
) -> Row:
    cp_account = None if channel == "cash" else counterparty
    return (
        txn_id,
        account_id,
        at,
        direction,
        Decimal(amount),
        "CNY",
        channel,
        cp_account,
        None if channel == "cash" else f"Name of {counterparty}",
        None if channel == "cash" else (country or "CN"),
        None,
    )


def _fan(prefix: str, account: str, direction: str, days: list[str], amount: str, distinct: int) -> list[Row]:
    return [
        _txn(
            f"{prefix}{i}",
            account,
            f"{day} 1{i % 10}:00:00",
            direction,
            amount,
            counterparty=f"62{prefix}{i % distinct:04d}",
        )
        for i, day in enumerate(days)
    ]


def _rows() -> dict[date, dict[str, list[Row]]]:
    active = "S1 S2 S3 S4 R1 R2 R3 R4 F1 F2 F3 F4 O1 O2 D3 H1 Y1 Y2 Y3 Z1 Z2 W1 W2 N1 N2 M1 M2 P1 P2 P3 P4 P5"
    accounts = [raw_account(f"A{c}", f"C{c}") for c in active.split()]
    # AD1 dormant, reactivated (a new version, active) on 06-10 inside the window; AD2 and AD4 dormant
    accounts += [raw_account(f"AD{n}", f"CD{n}", "dormant") for n in (1, 2, 4)]
    history = [
        # structuring: 45,000.00 is the band floor (inclusive); one leg per day
        _txn("S1a", "AS1", "2025-06-09 10:00:00", "credit", "45000.00", "cash"),
        _txn("S1b", "AS1", "2025-06-11 10:00:00", "credit", "49999.99", "cash"),
        # S2: a leg a cent under the band
        _txn("S2a", "AS2", "2025-06-09 10:00:00", "credit", "44999.99", "cash"),
        _txn("S2b", "AS2", "2025-06-10 10:00:00", "credit", "49000.00", "cash"),
        # S3: the first leg one day before the window
        _txn("S3a", "AS3", "2025-06-08 10:00:00", "credit", "48000.00", "cash"),
        _txn("S3b", "AS3", "2025-06-10 10:00:00", "credit", "48000.00", "cash"),
        # dormant AD4: a transaction in the idle span before the window, so not idle
        _txn("D4a", "AD4", "2025-05-30 10:00:00", "credit", "100.00"),
        # cycles: Z returns after 6 days (passes), W after exactly 5 (fires)
        _txn("Z1a", "AZ1", "2025-06-05 10:00:00", "debit", "20000.00", counterparty="AZ2"),
        _txn("W1a", "AW1", "2025-06-08 10:00:00", "debit", "20000.00", counterparty="AW2"),
        # high-risk: loaded before D, so not D's
        _txn("H0", "AH1", "2025-06-12 09:00:00", "debit", "5000.00", "cross_border", "9900001", "IR"),
    ]
    day = [
        _txn("S1c", "AS1", "2025-06-13 10:00:00", "credit", "47000.00", "cash"),
        _txn("S2c", "AS2", "2025-06-12 10:00:00", "credit", "48000.00", "cash"),
        _txn("S3c", "AS3", "2025-06-12 10:00:00", "credit", "48000.00", "cash"),
        # S4: three near-line legs on one day: the large-value rule's case, not structuring
        _txn("S4a", "AS4", "2025-06-12 09:00:00", "debit", "46000.00", "cash"),
        _txn("S4b", "AS4", "2025-06-12 11:00:00", "debit", "46000.00", "cash"),
        _txn("S4c", "AS4", "2025-06-12 13:00:00", "debit", "46000.00", "cash"),
        # rapid in-out: 80 % out, the last outflow exactly 24 h after the inflow (fires)
        _txn("R1in", "AR1", "2025-06-12 10:00:00", "credit", "60000.00", counterparty="62R1"),
        _txn("R1o1", "AR1", "2025-06-12 15:00:00", "debit", "30000.00", counterparty="62R1x"),
        _txn("R1o2", "AR1", "2025-06-13 10:00:00", "debit", "18000.00", counterparty="62R1y"),
        # R2: the second outflow a second after the window (50 %: passes)
        _txn("R2in", "AR2", "2025-06-12 10:00:00", "credit", "60000.00", counterparty="62R2"),
        _txn("R2o1", "AR2", "2025-06-12 15:00:00", "debit", "30000.00", counterparty="62R2x"),
        _txn("R2o2", "AR2", "2025-06-13 10:00:01", "debit", "18000.00", counterparty="62R2y"),
        # R3: inflow a cent under the floor, all of it out (not reviewed)
        _txn("R3in", "AR3", "2025-06-12 10:00:00", "credit", "49999.99", counterparty="62R3"),
        _txn("R3o1", "AR3", "2025-06-12 11:00:00", "debit", "49999.99", counterparty="62R3x"),
        # R4: 79 % out (passes); a transfer to its own second account does not count as leaving
        _txn("R4in", "AR4", "2025-06-12 10:00:00", "credit", "100000.00", counterparty="62R4"),
        _txn("R4o1", "AR4", "2025-06-12 11:00:00", "debit", "79000.00", counterparty="62R4x"),
        # dormant: AD1 moves exactly 50,000 (fires), AD2 a cent less (passes), AD4 was not idle
        _txn("D1a", "AD1", "2025-06-10 10:00:00", "credit", "30000.00", counterparty="62D1"),
        _txn("D1b", "AD1", "2025-06-11 10:00:00", "debit", "20000.00", counterparty="62D1x"),
        _txn("D2a", "AD2", "2025-06-10 10:00:00", "credit", "29999.99", counterparty="62D2"),
        _txn("D2b", "AD2", "2025-06-11 10:00:00", "debit", "20000.00", counterparty="62D2x"),
        _txn("D4b", "AD4", "2025-06-11 10:00:00", "credit", "90000.00", counterparty="62D4"),
        # high-risk (FATF lists of 13 June 2025): Croatia left the grey list, Bolivia joined it
        _txn("H1", "AH1", "2025-06-12 09:00:00", "debit", "5000.00", "cross_border", "9900002", "HR"),
        _txn("H2", "AH1", "2025-06-13 09:00:00", "debit", "5000.00", "cross_border", "9900003", "HR"),
        _txn("H3", "AH1", "2025-06-12 09:00:00", "debit", "5000.00", "cross_border", "9900004", "BO"),
        _txn("H4", "AH1", "2025-06-13 09:00:00", "credit", "5000.00", "cross_border", "9900005", "BO"),
        _txn("H5", "AH1", "2025-06-13 09:30:00", "credit", "5000.00", "cross_border", "9900006", "KP"),
        _txn("H6", "AH1", "2025-06-13 09:40:00", "credit", "5000.00", "cross_border", "9900007", "US"),
        # cycles: Y1 > Y2 > Y3 > Y1 in 3 days (fires); Z and W close theirs
        _txn("Y1a", "AY1", "2025-06-09 10:00:00", "debit", "20000.00", counterparty="AY2"),
        _txn("Y2a", "AY2", "2025-06-10 10:00:00", "debit", "19000.00", counterparty="AY3"),
        _txn("Y3a", "AY3", "2025-06-12 10:00:00", "debit", "18000.00", counterparty="AY1"),
        _txn("Z2a", "AZ2", "2025-06-11 10:00:00", "debit", "20000.00", counterparty="AZ1"),
        _txn("W2a", "AW2", "2025-06-13 10:00:00", "debit", "20000.00", counterparty="AW1"),
        # N: a hop under the CNY 10,000 floor; M: the return before the way out (no cycle from M1)
        _txn("N1a", "AN1", "2025-06-10 10:00:00", "debit", "20000.00", counterparty="AN2"),
        _txn("N2a", "AN2", "2025-06-11 10:00:00", "debit", "9999.99", counterparty="AN1"),
        _txn("M2a", "AM2", "2025-06-10 10:00:00", "debit", "20000.00", counterparty="AM1"),
        _txn("M1a", "AM1", "2025-06-10 10:00:00", "debit", "20000.00", counterparty="AM2"),
        # P: five hops (within cycle_max_hops = 12)
        _txn("P1a", "AP1", "2025-06-09 10:00:00", "debit", "20000.00", counterparty="AP2"),
        _txn("P2a", "AP2", "2025-06-10 10:00:00", "debit", "20000.00", counterparty="AP3"),
        _txn("P3a", "AP3", "2025-06-11 10:00:00", "debit", "20000.00", counterparty="AP4"),
        _txn("P4a", "AP4", "2025-06-12 10:00:00", "debit", "20000.00", counterparty="AP5"),
        _txn("P5a", "AP5", "2025-06-13 10:00:00", "debit", "20000.00", counterparty="AP1"),
    ]
    window = ["2025-06-11", "2025-06-12", "2025-06-13"]
    # fan-in: 10 distinct payers, CNY 50,000 (fires); F2 nine distinct; F3 one payer before
    # the window; F4 ten payers but a cent under the amount floor in total
    day += _fan("F1p", "AF1", "credit", [window[i % 3] for i in range(10)], "5000.00", 10)
    day += _fan("F2p", "AF2", "credit", [window[i % 3] for i in range(10)], "6000.00", 9)
    day += _fan("F3p", "AF3", "credit", ["2025-06-10"] + [window[i % 3] for i in range(9)], "6000.00", 10)
    day += [
        *_fan("F4p", "AF4", "credit", [window[i % 3] for i in range(10)], "4999.99", 10)[:9],
        _txn("F4p9", "AF4", "2025-06-13 19:00:00", "credit", "5000.00", counterparty="62F4p0009"),
    ]
    day += _fan("O1p", "AO1", "debit", [window[i % 3] for i in range(12)], "5000.00", 12)
    day += _fan("O2p", "AO2", "debit", [window[i % 3] for i in range(12)], "5000.00", 9)
    reactivated = raw_account("AD1", "CD1", "active", "2025-06-10 10:00:00")
    return {
        LOAD0: {"accounts": accounts, "transactions": history},
        date(2025, 6, 10): {"accounts": [reactivated], "transactions": []},
        LOAD1: {"accounts": [], "transactions": day},
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cn_pack: RulePack) -> Settings:
    return built_marts(tmp_path_factory.mktemp("typologies"), D, cn_pack, MARTS, _rows())


@pytest.fixture(scope="module")
def exceptions(built: Settings, cn_pack: RulePack) -> pd.DataFrame:
    return run_rules(built.warehouse_path, reading(cn_pack, *MARTS), D, "RUN")


def test_structuring_counts_near_line_legs_over_several_days(
    built: Settings, exceptions: pd.DataFrame
) -> None:
    rows = query(
        built,
        "SELECT entity_key, near_line_transaction_count, near_line_day_count, near_line_amount_cny, "
        "near_line_transaction_ids FROM marts.fct_customer_cash_structuring ORDER BY 1",
    )
    assert rows == [
        ("CS1|credit", 3, 3, Decimal("141999.99"), "S1a,S1b,S1c"),
        ("CS2|credit", 2, 2, Decimal("97000.00"), "S2b,S2c"),  # 44,999.99 is under the band
        ("CS3|credit", 2, 2, Decimal("96000.00"), "S3b,S3c"),  # 06-08 is outside the window
    ]  # CS4: three legs on one day are the large-value rule's case
    assert fired(exceptions, "structuring") == {"CS1|credit"}
    assert "cn.aml.large_cash" in set(exceptions.rule_id)  # ... and that rule does see CS4


def test_rapid_in_out_ratio_and_window_edge(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in query(
            built, "SELECT entity_key, outflow_count, outflow_ratio FROM marts.fct_customer_rapid_in_out"
        )
    )
    assert rows == {
        "CR1|R1in": (2, Decimal("0.800000")),  # the second outflow exactly 24 h later counts
        "CR2|R2in": (1, Decimal("0.500000")),  # a second after the window does not
        "CR4|R4in": (1, Decimal("0.790000")),
        "CD4|D4b": (0, Decimal("0.000000")),
    }  # CR3's inflow is a cent under the floor
    assert fired(exceptions, "rapid_in_out") == {"CR1|R1in"}


def test_fan_in_and_fan_out_count_distinct_counterparties_in_the_window(
    built: Settings, exceptions: pd.DataFrame
) -> None:
    fan_in = dict(
        query(built, "SELECT entity_key, counterparty_count FROM marts.fct_customer_fan_in_windows")
    )
    # 7-day windows from 5 distinct counterparties (issue 14): F3's payer of 06-10 is inside
    assert fan_in["CF1"] == 10 and fan_in["CF2"] == 9 and fan_in["CF3"] == 10
    assert "CF4" not in fan_in  # 49,999.92 in total: under the amount floor
    assert fired(exceptions, "fan_in") == {"CF1", "CF2", "CF3"}
    fan_out = dict(
        query(built, "SELECT entity_key, counterparty_count FROM marts.fct_customer_fan_out_windows")
    )
    assert fan_out["CO1"] == 12 and fan_out["CO2"] == 9
    assert fired(exceptions, "fan_out") == {"CO1", "CO2"}


def test_dormant_accounts_as_of_the_window_start(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in query(
            built,
            "SELECT entity_key, status_at_window_start, moved_amount_cny FROM marts.fct_account_dormant_reactivations",
        )
    )
    # AD1 was reactivated (status active) on 06-10, inside the window: dormant at its start.
    assert rows == {"CD1|AD1": ("dormant", Decimal("50000.00")), "CD2|AD2": ("dormant", Decimal("49999.99"))}
    assert fired(exceptions, "dormant_reactivated") == {"CD1|AD1"}  # AD4 moved money in May


def test_high_risk_jurisdictions_on_the_transaction_date(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = dict(
        query(
            built,
            "SELECT transaction_id, listed_on FROM marts.fct_high_risk_jurisdiction_transactions "
            "WHERE customer_id = 'CH1'",
        )
    )
    assert rows == {
        "H1": "fatf_increased_monitoring",  # Croatia on 06-12, still listed
        "H2": None,  # Croatia on 06-13: removed that day
        "H3": None,  # Bolivia on 06-12: not yet listed
        "H4": "fatf_increased_monitoring",  # Bolivia on 06-13: added that day
        "H5": "fatf_call_for_action",
        "H6": None,
    }  # H0 was loaded before D
    assert fired(exceptions, "high_risk_jurisdiction") == {"CH1|H1", "CH1|H4", "CH1|H5"}


def test_cycles_return_to_their_origin_within_the_window(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in query(
            built,
            "SELECT entity_key, hop_count, return_days, customer_path FROM marts.fct_customer_transfer_cycles",
        )
    )
    assert rows["CY1|Y1a"] == (3, 3, "CY1 > CY2 > CY3 > CY1")
    assert rows["CZ1|Z1a"] == (2, 6, "CZ1 > CZ2 > CZ1")
    assert rows["CW1|W1a"] == (2, 5, "CW1 > CW2 > CW1")
    assert rows["CP1|P1a"] == (5, 4, "CP1 > CP2 > CP3 > CP4 > CP5 > CP1")  # cycle_max_hops is 12
    # M2 paid M1 before M1 paid M2 (same time: no order, no cycle); N's return hop is under
    # the floor.
    assert not {k for k in rows if k.split("|")[0] in {"CM1", "CM2", "CN1"}}
    assert fired(exceptions, "transfer_cycle") == {"CY1|Y1a", "CW1|W1a", "CP1|P1a"}


def test_typology_exceptions_carry_their_evidence(exceptions: pd.DataFrame) -> None:
    row = exceptions[exceptions.rule_id == "cn.aml.rapid_in_out"].iloc[0]
    evidence = json.loads(row.evidence)
    assert next(iter(evidence)) == "customer_id" and evidence["outflow_transaction_ids"] == "R1o1,R1o2"
    assert "80% of an inflow of CNY 60,000.00" in row.message
    for rule in (
        "structuring",
        "fan_in",
        "fan_out",
        "dormant_reactivated",
        "high_risk_jurisdiction",
        "transfer_cycle",
    ):
        sample = exceptions[exceptions.rule_id == f"cn.aml.{rule}"]
        assert len(sample), rule
        assert all(
            key.startswith(json.loads(ev)["customer_id"])
            for key, ev in zip(sample.entity_key, sample.evidence, strict=False)
        )
