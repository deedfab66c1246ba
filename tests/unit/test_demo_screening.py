"""The planted screening, ring, proceeds and churn cases: recomputed from the generated CSVs alone."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from regwatch.contract import CONTRACTS
from regwatch.demo import _BUSINESSES, _CITIES, _TRADE_NAMES, business_days, calibration, generate
from regwatch.demo import screening as ds
from regwatch.demo.base import SURNAMES, SYLLABLES
from regwatch.screening import score_matrix
from tests.conftest import REPO_ROOT
from tests.helpers import built_once

START, END = date(2025, 6, 2), date(2025, 6, 10)
CN = calibration.load(REPO_ROOT / "checks" / "cn")  # the thresholds the cases are planted against
Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The same platform as the other generator tests of seed 5: generated once per session.
    return built_once(
        tmp_path_factory,
        "landing-2025-06-02-2025-06-10-300-200-5",
        lambda out: generate(out, START, END, loans=300, accounts=200, seed=5),
    )


def _rows(out: Path, name: str) -> Rows:
    """Every row of ``name`` over all days, minus the malformed ones (as ingest loads them)."""
    bad: set[tuple[str, int]] = set()
    with (out / "_truth" / "malformed.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["file"] == name:
                bad.add((row["business_date"], int(row["row_number"])))
    rows: Rows = []
    for day in business_days(START, END):
        path = out / day.isoformat() / f"{name}.csv"
        if not path.exists():
            continue
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        reader = list(csv.reader(io.StringIO(text, newline="")))
        header = reader[0][: len(CONTRACTS[name].column_names)]
        for n, fields in enumerate(reader[1:], start=1):
            if (day.isoformat(), n) not in bad and len(fields) >= len(header):
                rows.append({**dict(zip(header, fields, strict=False)), "_day": day.isoformat()})
    return rows


def _truth(out: Path, name: str, rule: str) -> Rows:
    with (out / "_truth" / name).open(newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["rule_id"] == rule]


def test_no_ordinary_name_comes_near_the_list() -> None:
    """Every name the generator can draw for an ordinary person or firm scores at most 84 against the list."""
    names = [f"{s} {a.capitalize()}" for s in SURNAMES for a in SYLLABLES] + [
        f"{s} {a.capitalize()}{b}" for s in SURNAMES for a in SYLLABLES for b in SYLLABLES
    ]
    names += [f"{c} {t} {b} Co. Ltd." for c in _CITIES for t in _TRADE_NAMES for b in _BUSINESSES]
    listed = [n for e in (*ds._ENTRIES, ds._ADDED) for n in (e.name, *e.aliases)]
    assert score_matrix(names, listed).max() <= CN.watchlist_min_score - 6


def test_two_deliveries_the_second_drops_one_entry_and_adds_one(platform: Path) -> None:
    days = business_days(START, END)
    delivered = [d for d in days if (platform / d.isoformat() / "watchlist.csv").exists()]
    assert delivered == [days[0], days[len(days) // 2]]
    lists = []
    for d in delivered:
        with (platform / d.isoformat() / "watchlist.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == CONTRACTS["watchlist"].column_names
            lists.append({r["list_id"]: r for r in reader})
    first, second = lists
    assert set(first) - set(second) == {ds._REMOVED} and set(second) - set(first) == {ds._ADDED.list_id}
    assert first["WL-0004"]["aliases"] == "Abu Yusuf;K. Masri"


def test_listed_customers_carry_the_planted_names(platform: Path) -> None:
    names = {r["customer_id"]: r["full_name"] for r in _rows(platform, "accounts")}
    planted = _truth(platform, "planted.csv", ds.CUSTOMER_RULE)
    near = _truth(platform, "near_misses.csv", ds.CUSTOMER_RULE)
    assert len(planted) >= 10 and len(near) >= 4
    kinds = {r["kind"] for r in planted}
    assert {"word_order", "diacritics_dropped", "alias", "delisted_later", "listed_later"} <= kinds
    for row in planted + near:
        customer, _ = row["entity_key"].split("|")
        assert f"name={names[customer]};" in row["detail"]
    later = next(r for r in planted if r["kind"] == "listed_later")
    assert (
        later["business_date"] == business_days(START, END)[len(business_days(START, END)) // 2].isoformat()
    )


def _components(edges: dict[str, set[str]]) -> dict[str, str]:
    """customer -> smallest customer of its connected component (link values joining customers)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for customers in edges.values():
        first, *rest = sorted(customers)
        for other in rest:
            a, b = find(first), find(other)
            parent[max(a, b)] = min(a, b)
    return {c: find(c) for c in parent}


def test_rings_of_three_borrowers_are_exactly_the_planted_ones(platform: Path) -> None:
    links: dict[str, set[str]] = defaultdict(set)
    for row in _rows(platform, "accounts"):
        if row["device_id"]:
            links["device:" + row["device_id"]].add(row["customer_id"])
    owner = {r["account_id"]: r["customer_id"] for r in _rows(platform, "accounts")}
    for row in _rows(platform, "transactions"):
        repays = row["direction"] == "credit" and row["purpose"] == CN.ring_repayment_purpose
        if repays and row["account_id"] in owner and row["counterparty_account"]:
            links["card:" + row["counterparty_account"]].add(owner[row["account_id"]])
    ring_of = _components({k: v for k, v in links.items() if len(v) > 1})
    borrowers = {r["borrower_id"] for r in _rows(platform, "loans")}
    members: dict[str, set[str]] = defaultdict(set)
    for customer, ring in ring_of.items():
        if customer in borrowers:
            members[ring].add(customer)
    firing = {
        f"{c}|ring:{ring}"
        for ring, cs in members.items()
        if len(cs) >= CN.parameters["ring_min_borrowers"]
        for c in cs
    }
    planted = {r["entity_key"] for r in _truth(platform, "planted.csv", ds.RING_RULE)}
    assert planted and firing == planted
    near = {r["entity_key"] for r in _truth(platform, "near_misses.csv", ds.RING_RULE)}
    assert near and not near & firing
    # Ordinary households: pairs on one device, never three borrowers.
    assert any(len(cs) == 2 for cs in members.values())


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_proceeds_moved_on_only_where_planted(platform: Path) -> None:
    accounts = _rows(platform, "accounts")
    owner = {r["account_id"]: r["customer_id"] for r in accounts}
    name = {r["customer_id"]: r["full_name"] for r in accounts}
    own: dict[str, set[str]] = defaultdict(set)
    for r in accounts:
        own[r["customer_id"]].add(r["account_id"])
    fx = {(r["rate_date"], r["currency"]): Decimal(r["cny_per_unit"]) for r in _rows(platform, "fx_rates")}
    debits: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for r in _rows(platform, "transactions"):
        c = owner.get(r["account_id"])
        if (
            c is None
            or r["direction"] != "debit"
            or r["channel"] not in ("transfer", "internal", "cross_border")
        ):
            continue
        if (
            r["counterparty_name"].strip().lower() == name[c].strip().lower()
            or r["counterparty_account"] in own[c]
        ):
            continue
        rate = Decimal(1) if r["currency"] == "CNY" else fx.get((r["txn_at"][:10], r["currency"]))
        if rate is None:  # a planted missing rate: the mart leaves the amount out, as here
            continue
        debits[c].append((_at(r["txn_at"]), Decimal(r["amount"]) * rate))
    firing = set()
    shares = {}
    for loan in {r["loan_id"]: r for r in _rows(platform, "loans")}.values():
        start = datetime.fromisoformat(loan["disbursement_date"])
        net = Decimal(loan["principal"]) - Decimal(loan["upfront_fee"])
        moved = sum(
            (
                a
                for t, a in debits[loan["borrower_id"]]
                if start <= t < start + timedelta(hours=CN.proceeds_window_hours)
            ),
            Decimal(0),
        )
        key = f"{loan['borrower_id']}|{loan['loan_id']}"
        shares[key] = moved / net if net > 0 else Decimal(0)
        if net > 0 and moved >= net * Decimal(str(CN.proceeds_min_share)):
            firing.add(key)
    planted = {r["entity_key"] for r in _truth(platform, "planted.csv", ds.PROCEEDS_RULE)}
    near = {r["entity_key"] for r in _truth(platform, "near_misses.csv", ds.PROCEEDS_RULE)}
    assert len(planted) >= 4 and len(near) >= 2
    assert firing == planted
    assert not near & firing
    at_line = next(
        r
        for r in _truth(platform, "planted.csv", ds.PROCEEDS_RULE)
        if r["kind"] == "share_exactly_at_threshold"
    )
    assert float(shares[at_line["entity_key"]]) == pytest.approx(CN.proceeds_min_share, abs=1e-4)


def test_account_churn_counts(platform: Path) -> None:
    versions = sorted(_rows(platform, "accounts"), key=lambda r: (r["account_id"], r["updated_at"]))
    events: dict[str, list[date]] = defaultdict(list)
    previous: dict[str, str] = {}
    for r in versions:
        if r["account_id"] not in previous:
            events[r["customer_id"]].append(date.fromisoformat(r["opened_at"][:10]))
        if r["status"] == "closed" and previous.get(r["account_id"]) != "closed":
            events[r["customer_id"]].append(date.fromisoformat(r["updated_at"][:10]))
        previous[r["account_id"]] = r["status"]
    window_start = END - timedelta(days=CN.churn_window_days - 1)
    firing = {
        f"{c}|account_churn"
        for c, ds_ in events.items()
        if sum(window_start - timedelta(days=10) <= d <= END for d in ds_) >= CN.churn_min_events
    }
    planted = {r["entity_key"] for r in _truth(platform, "planted.csv", ds.CHURN_RULE)}
    near = {r["entity_key"] for r in _truth(platform, "near_misses.csv", ds.CHURN_RULE)}
    assert planted and near
    assert firing == planted
    assert np.all([k not in firing for k in near])


def test_a_derived_proceeds_case_keeps_its_transfers_whole() -> None:
    """The demo's miss of ``C00000199|L00001791``: another case's planted transfer (CNY 3,646)
    and an ordinary rent debit (2,000) moved 5,646 of a 5,000 loan on, so a truth row was
    derived; then the malformed-row planter corrupted the rent debit (direction ``in``), ingest
    quarantined it and the mart rightly saw 3,646 (72.9 %). A derived row's transfers are now
    protected like every planted case's rows, so the truth holds on the delivered files."""
    from regwatch.demo.base import part

    columns = {c: [] for c in CONTRACTS["transactions"].column_names}

    def debit(txn_id: str, at: str, amount: str, name: str) -> None:
        row = {
            "txn_id": txn_id,
            "account_id": "A1",
            "txn_at": at,
            "direction": "debit",
            "amount": amount,
            "currency": "CNY",
            "channel": "transfer",
            "counterparty_account": f"62{txn_id}",
            "counterparty_name": name,
            "counterparty_country": "CN",
            "purpose": "rent",
        }
        for c in columns:
            columns[c].append(row[c])

    debit("TS000000010", "2025-06-10 10:43:16", "3646.00", "Omar Sharif Abdirahman")  # another case's
    debit("TX0000004410", "2025-06-11 10:01:41", "2000.00", "Feng Honglan")  # ordinary
    debit("TX0000009999", "2025-06-13 10:00:00", "900.00", "Pan Guoming")  # after the window
    transactions = part("transactions", columns, np.array([6, 7, 9]), np.array([True, False, False]))
    loans = part(
        "loans",
        {
            c: [
                {
                    "loan_id": "L1",
                    "borrower_id": "C1",
                    "disbursement_date": "2025-06-10",
                    "principal": "5000.00",
                    "upfront_fee": "0.00",
                }.get(c, "")
            ]
            for c in CONTRACTS["loans"].column_names
        },
        np.array([6]),
    )
    rows = ds._calm_ordinary_outflows(
        transactions, loans, {"A1": "C1"}, {"C1": "Guo Qiang"}, {"C1": ["A1"]}, None, [], CN
    )
    assert [(r[1], r[2], r[4]) for r in rows] == [
        (ds.PROCEEDS_RULE, "C1|L1", "another_case_moves_the_proceeds")
    ]
    assert transactions.protected.tolist() == [True, True, False]  # the rent debit is never corrupted
    assert transactions.columns["amount"][1] == "2000.00"
