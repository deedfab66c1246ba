"""Watch-list screening, rings, proceeds and churn marts on hand-made raw rows, then the rules through GX.

Two business days. The list delivered on D1 has Karim Al-Masri; the one delivered on
D2 drops him and adds Li Na. Building D2 screens against the second list; rebuilding
D1 afterwards screens against the first again.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.demo import _resident_id
from regwatch.rules import load_pack
from regwatch.validate import run_rules
from tests.conftest import REPO_ROOT
from tests.helpers import insert_raw, lineage, query, raw_loan, reading

pytestmark = pytest.mark.integration

D1, D2 = date(2025, 6, 2), date(2025, 6, 3)
PACK = load_pack(REPO_ROOT / "checks" / "cn")
PARAMS = {name: p.value for name, p in PACK.parameters.items()}
BIRTH = date(1980, 1, 2)
#: The models this file reads: only their lineage is built (a fifth of the project's nodes)
#: and only the rules reading them run.
MODELS = (
    "fct_customer_watchlist_matches",
    "fct_counterparty_watchlist_matches",
    "fct_borrower_rings",
    "fct_loan_proceeds_outflows",
    "fct_customer_account_churn",
    "int_screening_parties_collected",
)
RULES = reading(PACK, *MODELS)


def _account(
    account: str,
    customer: str,
    name: str,
    device: str | None,
    opened: str,
    status: str = "active",
    updated: str = "",
) -> tuple[object, ...]:
    return (
        account,
        customer,
        "individual",
        name,
        _resident_id("110101", BIRTH, int(customer[1:]) % 1000 or 1),
        "13800000000",
        "CN",
        device,
        opened,
        status,
        updated or opened,
    )


def _txn(
    txn_id: str,
    account: str,
    at: str,
    direction: str,
    amount: str,
    cp_account: str | None,
    cp_name: str | None,
    purpose: str,
) -> tuple[object, ...]:
    return (
        txn_id,
        account,
        at,
        direction,
        Decimal(amount),
        "CNY",
        "transfer",
        cp_account,
        cp_name,
        "CN",
        purpose,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("screening")
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        insert_raw(
            con,
            "accounts",
            D1,
            [
                _account("A1", "C1", "OUYANG Bao-Shan", "DV-A", "2024-01-01 10:00:00"),
                _account("A2", "C2", "Wang Fang", "DV-A", "2024-01-01 10:00:00"),
                _account("A3", "C3", "Li Na", "DV-B", "2024-01-01 10:00:00"),
                _account("A4", "C4", "Zhao Lei", "DV-C", "2024-01-01 10:00:00"),
                _account("A5", "C5", "Chen Jie", "DV-D", "2024-01-01 10:00:00"),
                _account("A6", "C6", "Sun Li", "DV-E", "2024-01-01 10:00:00"),
                _account("A7", "C7", "Ma Lin", "DV-F", "2025-06-02 09:00:00"),
                _account("A8", "C7", "Ma Lin", "DV-F", "2025-06-02 09:10:00"),
            ],
        )
        insert_raw(
            con,
            "accounts",
            D2,
            [
                # C5 moves to C1 and C2's device: three borrowers on one device from D2.
                _account(
                    "A5", "C5", "Chen Jie", "DV-A", "2024-01-01 10:00:00", updated="2025-06-03 08:00:00"
                ),
                _account(
                    "A7", "C7", "Ma Lin", "DV-F", "2025-06-02 09:00:00", "closed", "2025-06-03 15:00:00"
                ),
                _account(
                    "A8", "C7", "Ma Lin", "DV-F", "2025-06-02 09:10:00", "closed", "2025-06-03 15:10:00"
                ),
            ],
        )
        insert_raw(
            con,
            "loans",
            D1,
            [raw_loan(f"L{i}", borrower=f"C{i}", principal="10000.00") for i in range(1, 6)],
        )
        insert_raw(
            con,
            "transactions",
            D1,
            [
                # 8,000.00 of L1's 10,000.00 to a third party the day it arrived: exactly 80 %.
                _txn(
                    "T1", "A1", "2025-06-02 10:00:00", "debit", "8000.00", "X1", "Zhang San", "goods payment"
                ),
                # 7,999.99 of L2's to a third party, the rest to C2's own name: under 80 %.
                _txn(
                    "T2",
                    "A2",
                    "2025-06-02 10:00:00",
                    "debit",
                    "7999.99",
                    "X2",
                    "Karim al-Masri",
                    "goods payment",
                ),
                _txn("T3", "A2", "2025-06-02 11:00:00", "debit", "2000.00", "X3", "WANG FANG", "own card"),
                # C3, C4 and the non-borrower C6 repay from one card: two borrowers, three customers.
                _txn("T4", "A3", "2025-06-02 12:00:00", "credit", "500.00", "K1", None, "loan repayment"),
                _txn("T5", "A4", "2025-06-02 12:00:00", "credit", "500.00", "K1", None, "loan repayment"),
                _txn("T6", "A6", "2025-06-02 12:00:00", "credit", "500.00", "K1", None, "loan repayment"),
            ],
        )
        insert_raw(
            con,
            "transactions",
            D2,
            [
                # L3's proceeds, 9,000.00, moved on 49 h after its disbursement date began: too late.
                _txn(
                    "T7", "A3", "2025-06-04 01:00:00", "debit", "9000.00", "X4", "Abu Yusuf", "goods payment"
                ),
            ],
        )
        for day, entries in (
            (
                D1,
                [
                    ("WL-1", "Ouyang Baoshan", None, BIRTH),
                    ("WL-2", "Karim Al-Masri", "Abu Yusuf;K. Masri", None),
                ],
            ),
            (D2, [("WL-1", "Ouyang Baoshan", None, BIRTH), ("WL-4", "Li Na", None, date(1990, 1, 1))]),
        ):
            insert_raw(con, "watchlist", day, [(i, n, a, b, "CN", "Test list") for i, n, a, b in entries])
    transform.build(D2, settings, pack_parameters=PARAMS, select=lineage(*MODELS))
    return settings


def test_the_list_of_the_day_is_the_latest_delivery_whole(built: Settings) -> None:
    rows = query(
        built, "SELECT list_id, delivered_business_date FROM staging.stg_platform__watchlist ORDER BY 1"
    )
    assert rows == [("WL-1", D2), ("WL-4", D2)]  # WL-2 is not on the D2 list


def test_customers_screened_against_the_list_of_the_day(built: Settings) -> None:
    rows = query(
        built,
        "SELECT entity_key, matched_name, name_score, dob_agreement, match_rank, list_delivered_date "
        "FROM marts.fct_customer_watchlist_matches ORDER BY 1",
    )
    assert rows == [
        ("C1|WL-1", "Ouyang Baoshan", Decimal("100.00"), "match", 1, D2),
        ("C3|WL-4", "Li Na", Decimal("100.00"), "mismatch", 1, D2),
    ]


def test_counterparties_of_the_day_and_not_the_customer_herself(built: Settings) -> None:
    # D2's only counterparty, "Abu Yusuf", is an alias of WL-2, which the D2 list dropped.
    assert query(built, "SELECT count(*) FROM marts.fct_counterparty_watchlist_matches") == [(0,)]
    parties = query(
        built,
        "SELECT party_role, party_key, screened_name FROM intermediate.int_screening_parties_collected "
        "WHERE party_role = 'counterparty'",
    )
    assert parties == [("counterparty", "C3|cp:X4", "Abu Yusuf")]


def test_rings_are_connected_components_counting_borrowers(built: Settings) -> None:
    rows = query(
        built,
        "SELECT entity_key, ring_borrower_count, ring_customer_count, shared_device_ids, shared_repayment_accounts "
        "FROM marts.fct_borrower_rings ORDER BY 1",
    )
    assert rows == [
        ("C1|ring:C1", 3, 3, "DV-A", None),
        ("C2|ring:C1", 3, 3, "DV-A", None),
        ("C3|ring:C3", 2, 3, None, "K1"),
        ("C4|ring:C3", 2, 3, None, "K1"),
        ("C5|ring:C1", 3, 3, "DV-A", None),
    ]


def test_proceeds_window_and_third_parties(built: Settings) -> None:
    rows = query(
        built,
        "SELECT loan_id, moved_to_third_parties_cny, moved_share, transaction_ids "
        "FROM marts.fct_loan_proceeds_outflows ORDER BY 1",
    )
    # D2 is inside every D1 loan's 48-hour window (2025-06-02 00:00 to 06-04 00:00).
    assert rows == [
        ("L1", Decimal("8000.00"), 0.8, "T1"),
        ("L2", Decimal("7999.99"), 0.799999, "T2"),
        ("L3", Decimal("0.00"), 0.0, None),
        ("L4", Decimal("0.00"), 0.0, None),
        ("L5", Decimal("0.00"), 0.0, None),
    ]


def test_account_churn_counts_openings_and_closings_in_the_window(built: Settings) -> None:
    rows = query(
        built,
        "SELECT entity_key, accounts_opened, accounts_closed, churn_event_count, account_ids "
        "FROM marts.fct_customer_account_churn",
    )
    # C5's new version (a device change) is no event; C7 opened two accounts and closed both.
    assert rows == [("C7|account_churn", 2, 2, 4, "A7,A8")]


def test_rules_fire_at_their_thresholds(built: Settings) -> None:
    found = run_rules(built.warehouse_path, RULES, D2, "RUN")
    mine = found[found.rule_id.str.startswith("cn.aml.") & (found.rule_id != "cn.aml.large_cash")]
    assert sorted(zip(mine.rule_id, mine.entity_key, strict=True)) == [
        ("cn.aml.account_churn", "C7|account_churn"),
        ("cn.aml.borrower_ring", "C1|ring:C1"),
        ("cn.aml.borrower_ring", "C2|ring:C1"),
        ("cn.aml.borrower_ring", "C5|ring:C1"),
        ("cn.aml.loan_proceeds_moved_on", "C1|L1"),
        ("cn.aml.watchlist_customer_match", "C1|WL-1"),
        ("cn.aml.watchlist_customer_match", "C3|WL-4"),
    ]
    hit = json.loads(mine[mine.entity_key == "C1|WL-1"].evidence.iloc[0])
    assert next(iter(hit)) == "customer_id"
    assert hit["listed_name"] == "Ouyang Baoshan" and hit["screened_name"] == "OUYANG Bao-Shan"
    assert hit["name_score"] == "100.00" and hit["dob_agreement"] == "match"
    assert hit["list_delivered_date"] == "2025-06-03"


def test_a_rerun_of_an_old_date_screens_against_the_old_list(built: Settings, tmp_path: Path) -> None:
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing"
    )
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(built.warehouse_path, settings.warehouse_path)
    transform.build(D1, settings, pack_parameters=PARAMS, select=lineage(*MODELS))
    customers = query(
        settings, "SELECT entity_key, list_delivered_date FROM marts.fct_customer_watchlist_matches"
    )
    assert customers == [("C1|WL-1", D1)]  # Li Na was listed only on D2
    counterparties = query(
        settings, "SELECT entity_key, matched_name, name_score FROM marts.fct_counterparty_watchlist_matches"
    )
    assert counterparties == [("C2|cp:X2|WL-2", "Karim Al-Masri", Decimal("100.00"))]
    # On D1, C5 had not yet moved to the shared device: no ring of three.
    assert query(settings, "SELECT max(ring_borrower_count) FROM marts.fct_borrower_rings") == [(2,)]
    found = run_rules(settings.warehouse_path, RULES, D1, "RUN")
    assert "C2|cp:X2|WL-2" in set(found.entity_key) and "C3|WL-4" not in set(found.entity_key)
