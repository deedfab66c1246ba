"""The synthetic platform: deterministic, contract-shaped, and its ground truth is exact.

Every truth check recomputes from the generated CSVs alone (skipping the rows
listed in ``malformed.csv``), the way the pipeline will see them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regwatch.apr import annual_rate
from regwatch.contract import CONTRACTS, CURRENCIES, REQUIRED_FILES, FileContract
from regwatch.demo import business_days, calibration, generate
from regwatch.demo.loans import COURT_CAP_RULE, OVERDUE_RULE, RATE_CAP_RULE, VOID_LINE_RULE
from regwatch.demo.malformed import BAD_INPUT_CLASSES
from regwatch.demo.transactions import FIRE_KINDS, LARGE_VALUE_RULES, MISS_KINDS, MISSING_FX_RULE
from tests.conftest import REPO_ROOT
from tests.helpers import built_once

START, END = date(2025, 6, 2), date(2025, 6, 10)  # 7 business days
CN = calibration.load(REPO_ROOT / "checks" / "cn")  # the lines the truth is planted against
Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The same platform as the other generator tests of seed 5: generated once per session.
    return built_once(
        tmp_path_factory,
        "landing-2025-06-02-2025-06-10-300-200-5",
        lambda out: generate(out, START, END, loans=300, accounts=200, seed=5),
    )


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def _malformed(out: Path) -> dict[tuple[str, str], dict[int, tuple[str, str]]]:
    marks: dict[tuple[str, str], dict[int, tuple[str, str]]] = defaultdict(dict)
    with (out / "_truth" / "malformed.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            marks[(row["file"], row["business_date"])][int(row["row_number"])] = (
                row["bad_input_class"],
                row["column"],
            )
    return marks


def _good_rows(out: Path, name: str) -> Rows:
    """Every row of ``name`` over all days except the malformed ones, as dicts."""
    marks = _malformed(out)
    rows: Rows = []
    for day in business_days(START, END):
        header, data = _read(out / day.isoformat() / f"{name}.csv")
        bad = marks.get((name, day.isoformat()), {})
        rows += [dict(zip(header, r, strict=True)) for n, r in enumerate(data, start=1) if n not in bad]
    return rows


def _truth(out: Path, name: str) -> Rows:
    with (out / "_truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _latest(rows: Rows, key: str) -> dict[str, dict[str, str]]:
    latest: dict[str, dict[str, str]] = {}
    for row in rows:
        if row[key] not in latest or row["updated_at"] > latest[row[key]]["updated_at"]:
            latest[row[key]] = row
    return latest


def test_business_days_are_monday_to_friday() -> None:
    days = business_days(date(2025, 6, 6), date(2025, 6, 10))
    assert days == [date(2025, 6, 6), date(2025, 6, 9), date(2025, 6, 10)]
    assert business_days(date(2025, 6, 7), date(2025, 6, 8)) == []


def test_same_arguments_give_identical_bytes(platform: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = generate(again, START, END, loans=300, accounts=200, seed=5)

    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.csv"))
        }

    assert digest(again) == digest(platform)
    other = generate(tmp_path / "other", START, END, loans=300, accounts=200, seed=6)
    assert digest(tmp_path / "other") != digest(platform)
    # seven required files a day, plus two watch-list deliveries
    assert result.files_written == 7 * len(result.business_dates) + 2 == other.files_written


def test_every_day_has_every_file_with_contract_header(platform: Path) -> None:
    extra: list[tuple[str, str]] = []
    for day in business_days(START, END):
        for name in REQUIRED_FILES:
            raw = (platform / day.isoformat() / f"{name}.csv").read_bytes()
            assert b"\r" not in raw
            header, rows = _read(platform / day.isoformat() / f"{name}.csv")
            expected = list(CONTRACTS[name].column_names)
            if header != expected:
                assert header == [*expected, "legacy_flag"]
                extra.append((name, day.isoformat()))
            assert all(len(r) == len(header) for r in rows)
    assert len(extra) == 1
    issues = _truth(platform, "file_issues.csv")
    assert [(r["file"], r["business_date"], r["column"]) for r in issues] == [(*extra[0], "legacy_flag")]


# A reader of the contract as strict as ingest: which rows break it, and how.
_MONEY = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")
_RATE = re.compile(r"^-?[0-9]+(\.[0-9]{1,10})?$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")


def _value_problem(contract: FileContract, column: str, value: str) -> str | None:
    col = contract.column(column)
    if re.search("[\udc80-\udcff]", value):
        return "invalid_utf8"
    if not value.strip():
        return "missing_required" if col.required else None
    if col.type == "integer" and not re.fullmatch(r"-?[0-9]+", value):
        return "wrong_type"
    if col.type == "decimal" and not _MONEY.match(value):
        return "wrong_type"
    if col.type == "rate" and not _RATE.match(value):
        return "wrong_type"
    if col.type in ("date", "timestamp"):
        if col.type == "timestamp" and not _TIMESTAMP.match(value):
            return "unparseable_date"
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return "unparseable_date"
        if col.type == "date" and len(value) != 10:
            return "unparseable_date"
    if col.type == "boolean" and value not in ("true", "false"):
        return "wrong_type"
    if col.type == "enum" and value not in col.values:
        return "unknown_enum"
    if col.type == "currency" and value not in CURRENCIES:
        return "unknown_currency"
    if col.nonnegative and value.startswith("-"):
        return "negative_amount"
    return None


def test_malformed_rows_are_listed_exactly_and_cover_every_class(platform: Path) -> None:
    marks = _malformed(platform)
    classes: set[str] = set()
    files: set[str] = set()
    for day in business_days(START, END):
        for name in REQUIRED_FILES:
            contract = CONTRACTS[name]
            header, rows = _read(platform / day.isoformat() / f"{name}.csv")
            found: dict[int, tuple[str, str]] = {}
            seen: set[tuple[str, ...]] = set()
            for number, fields in enumerate(rows, start=1):
                values = dict(zip(header, fields, strict=True))
                problems = [
                    (p, c) for c in contract.column_names if (p := _value_problem(contract, c, values[c]))
                ]
                assert len(problems) <= 1, (name, day, number, problems)
                if problems:
                    found[number] = problems[0]
                    continue
                key = tuple(values[k] for k in contract.key)
                if key in seen:
                    found[number] = ("duplicate_key", ", ".join(contract.key))
                seen.add(key)
            assert found == marks.get((name, day.isoformat()), {}), (name, day)
            classes |= {c for c, _ in found.values()}
            files |= {name for _ in found}
    assert classes == set(BAD_INPUT_CLASSES)
    assert {"transactions", "repayments", "fundings"} <= files


def test_invalid_utf8_is_real_bytes(platform: Path) -> None:
    day, name = next(
        (r["business_date"], r["file"])
        for r in _truth(platform, "malformed.csv")
        if r["bad_input_class"] == "invalid_utf8"
    )
    with pytest.raises(UnicodeDecodeError):
        (platform / day / f"{name}.csv").read_bytes().decode("utf-8")


# The caps the demo's book is measured against, from REGULATION.md (not from the seeds
# the generator reads): 4 x the one-year LPR at the contract date for privately funded
# loans (3.10 % before 2025-05-20, 3.00 % from then on), 24 % and 36 % for every loan.
LPR_CHANGE = date(2025, 5, 20)


def _court_cap(contract: str) -> Decimal:
    return Decimal("0.124") if date.fromisoformat(contract) < LPR_CHANGE else Decimal("0.12")


def test_rate_cap_truth(platform: Path) -> None:
    loans = _latest(_good_rows(platform, "loans"), "loan_id")
    schedules: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _good_rows(platform, "schedules"):
        schedules[row["loan_id"]].append(row)
    private = {
        r["loan_id"] for r in _good_rows(platform, "fundings") if r["funder_type"] == "individual_lender"
    }
    truth: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for r in _truth(platform, "planted.csv"):
        if r["rule_id"].startswith("cn.rate_caps."):
            truth[r["rule_id"]][r["entity_key"]] = r
    near = {r["entity_key"]: r for r in _truth(platform, "near_misses.csv") if r["rule_id"] == COURT_CAP_RULE}
    assert {k for rule in truth.values() for k in (r["kind"] for r in rule.values())} == {
        "nominal_above_cap",
        "real_above_cap_nominal_below",
        "real_above_void_line",
        "nominal_above_court_cap",
        "real_above_court_cap_nominal_below",
        "between_caps_under_the_lower",
        "overdue_charges_above_cap",
    }
    first_day = {d.isoformat() for d in business_days(START, END)[:1]}
    planted_loans = {k: r for rule in truth.values() for k, r in rule.items()}
    assert {r["business_date"] in first_day for r in planted_loans.values()} == {True, False}
    for loan_id, loan in loans.items():
        rows = sorted(schedules[loan_id], key=lambda r: int(r["installment_no"]))
        principal = Decimal(loan["principal"])
        assert sum(Decimal(r["principal_due"]) for r in rows) == principal, loan_id
        assert len(rows) == (1 if loan["repayment_method"] == "bullet" else int(loan["term_months"]))
        apr = Decimal(
            annual_rate(
                [(date.fromisoformat(loan["disbursement_date"]), principal - Decimal(loan["upfront_fee"]))],
                [
                    (
                        date.fromisoformat(r["due_date"]),
                        Decimal(r["principal_due"]) + Decimal(r["interest_due"]) + Decimal(r["fee_due"]),
                    )
                    for r in rows
                ],
                method="cn_irr",
            )
        )
        nominal = Decimal(loan["nominal_rate"])
        court = _court_cap(loan["contract_date"]) if loan_id in private else None
        assert (loan_id in truth[RATE_CAP_RULE]) == (apr > Decimal("0.24")), (loan_id, apr)
        assert (loan_id in truth[VOID_LINE_RULE]) == (apr > Decimal("0.36")), (loan_id, apr)
        assert (loan_id in truth[COURT_CAP_RULE]) == (court is not None and apr > court), (loan_id, apr)
        kind = planted_loans[loan_id]["kind"] if loan_id in planted_loans else ""
        if kind in ("nominal_above_cap", "nominal_above_court_cap"):
            assert nominal > (Decimal("0.24") if kind == "nominal_above_cap" else court)
        if kind in ("real_above_cap_nominal_below", "real_above_court_cap_nominal_below"):
            assert nominal < (Decimal("0.24") if kind == "real_above_cap_nominal_below" else court)
            assert loan["repayment_method"] == "flat_add_on"
        if kind == "between_caps_under_the_lower" or loan_id in near:
            # between the two caps: a violation under 12.00 %, compliant under 12.40 %
            assert Decimal("0.12") < apr < Decimal("0.124")
            assert (date.fromisoformat(loan["contract_date"]) < LPR_CHANGE) == (loan_id in near)
        assert 0.04 <= float(nominal) <= 0.36
    assert set(planted_loans) <= set(loans)


def test_overdue_charges_truth(platform: Path) -> None:
    """Penalties annualised on the overdue principal and interest (art. 29) against the cap."""
    private = {
        r["loan_id"] for r in _good_rows(platform, "fundings") if r["funder_type"] == "individual_lender"
    }
    loans = _latest(_good_rows(platform, "loans"), "loan_id")
    due = {(r["loan_id"], r["installment_no"]): r for r in _good_rows(platform, "schedules")}
    charges: dict[str, Decimal] = defaultdict(Decimal)
    exposure: dict[str, Decimal] = defaultdict(Decimal)
    for payment in _good_rows(platform, "repayments"):
        installment = due.get((payment["loan_id"], payment["installment_no"]))
        if installment is None:
            continue
        days_late = (
            date.fromisoformat(payment["paid_at"][:10]) - date.fromisoformat(installment["due_date"])
        ).days
        charges[payment["loan_id"]] += Decimal(payment["penalty_paid"])
        if days_late > 0:
            overdue = Decimal(installment["principal_due"]) + Decimal(installment["interest_due"])
            exposure[payment["loan_id"]] += overdue * days_late
    planted = {r["entity_key"] for r in _truth(platform, "planted.csv") if r["rule_id"] == OVERDUE_RULE}
    assert planted
    for loan_id, days in exposure.items():
        rate = charges[loan_id] * 365 / days
        cap = _court_cap(loans[loan_id]["contract_date"]) if loan_id in private else Decimal("0.24")
        assert (loan_id in planted) == (rate > cap), (loan_id, rate, cap)


def _large_value_totals(platform: Path) -> tuple[dict[str, list[Decimal]], set[str]]:
    """Per customer-day, category and direction: [CNY legs, foreign legs in USD], and the unconverted.

    An independent reading of PBOC Order [2016] No. 3 art. 5 (the one checks/README.md states):
    per customer, per direction; CNY legs against the CNY line; foreign legs at their USD
    equivalent (amount x rate / USD rate of the day, to the cent) against the USD line.
    """
    accounts = {r["account_id"]: r for r in _good_rows(platform, "accounts")}
    rates = {
        (r["rate_date"], r["currency"]): Decimal(r["cny_per_unit"]) for r in _good_rows(platform, "fx_rates")
    }
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    unconverted: set[str] = set()
    for txn in _good_rows(platform, "transactions"):
        channel, day = txn["channel"], txn["txn_at"][:10]
        entity = accounts[txn["account_id"]]["customer_type"] == "entity"
        if channel == "cash":
            category = "cash"
        elif channel in ("transfer", "cross_border"):
            cross_border = channel == "cross_border" or txn["counterparty_country"] not in ("", "CN")
            category = (
                "entity_transfer"
                if entity
                else "individual_cross_border_transfer"
                if cross_border
                else "individual_domestic_transfer"
            )
        else:
            continue
        key = f"{accounts[txn['account_id']]['customer_id']}|{day}|{category}|{txn['direction']}"
        amount = Decimal(txn["amount"])
        if txn["currency"] == "CNY":
            totals[key][0] += amount
        elif txn["currency"] == "USD":
            totals[key][1] += amount
        elif (day, txn["currency"]) not in rates or (day, "USD") not in rates:
            unconverted.add(key)
            totals[key][1] += 0  # the customer-day exists; its USD total is a lower bound
        else:
            usd = amount * rates[(day, txn["currency"])] / rates[(day, "USD")]
            totals[key][1] += usd.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return totals, unconverted


def test_large_value_truth(platform: Path) -> None:
    totals, unconverted = _large_value_totals(platform)
    planted = _truth(platform, "planted.csv")
    near = _truth(platform, "near_misses.csv")
    for category, rule_id in LARGE_VALUE_RULES.items():
        cny_cents, usd_cents = CN.large_value_line(category)
        cny_line, usd_line = Decimal(cny_cents) / 100, Decimal(usd_cents) / 100
        firing = {
            k
            for k, (cny, usd) in totals.items()
            if f"|{category}|" in k and (cny >= cny_line or usd >= usd_line)
        }
        fires = [r for r in planted if r["rule_id"] == rule_id]
        assert {r["entity_key"] for r in fires} == firing, category  # ordinary traffic stays clear
        assert {r["kind"] for r in fires} == set(FIRE_KINDS), category
        for r in fires:
            cny, usd = totals[r["entity_key"]]
            if r["kind"] in ("exact_threshold", "exact_cumulative"):
                assert cny == cny_line, r
            if r["kind"] == "foreign_exact":
                assert usd == usd_line, r
        misses = [r for r in near if r["rule_id"] == rule_id]
        assert {r["kind"] for r in misses} == set(MISS_KINDS), category
        for r in misses:
            cny, usd = totals[r["entity_key"]]
            assert r["entity_key"] not in firing
            if r["kind"] in ("single_below", "cumulative_below"):
                assert cny == cny_line - Decimal("0.01"), r
            if r["kind"] == "foreign_below":
                assert usd == usd_line - Decimal("0.01"), r
            if r["kind"] == "separate_lines":  # together above the CNY line, each under its own
                assert cny + usd * 7 > cny_line and cny < cny_line and usd < usd_line, r
    customer_type = {r["customer_id"]: r["customer_type"] for r in _good_rows(platform, "accounts")}
    large_value_rules = set(LARGE_VALUE_RULES.values())
    for r in planted + near:
        category = r["entity_key"].split("|")[2] if r["rule_id"] in large_value_rules else ""
        if category == "entity_transfer":
            assert customer_type[r["entity_key"].split("|")[0]] == "entity"
        elif category.startswith("individual_"):
            assert customer_type[r["entity_key"].split("|")[0]] == "individual"
    # the rate the generator withheld: one exception for its currency and day (issue 15), however
    # many customer-days it leaves unconverted (they are flagged in the mart, not one exception each)
    missing = {r["entity_key"] for r in planted if r["rule_id"] == MISSING_FX_RULE}
    rates = {(r["rate_date"], r["currency"]) for r in _good_rows(platform, "fx_rates")}
    gaps = {
        f"{t['currency']}|{t['txn_at'][:10]}"
        for t in _good_rows(platform, "transactions")
        if t["currency"] != "CNY" and (t["txn_at"][:10], t["currency"]) not in rates
    }
    assert unconverted and len(missing) == 1 and missing == gaps


def test_borrowers_accounts_and_fundings_fit_together(platform: Path) -> None:
    accounts = _good_rows(platform, "accounts")
    customer_type = {r["customer_id"]: r["customer_type"] for r in accounts}
    loans = _latest(_good_rows(platform, "loans"), "loan_id")
    for loan in loans.values():
        expected = "individual" if loan["borrower_type"] == "individual" else "entity"
        assert customer_type[loan["borrower_id"]] == expected
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for row in accounts:
        number = row["id_number"]
        assert len(number) == 18
        if row["customer_type"] == "individual":
            total = sum(int(c) * w for c, w in zip(number[:17], weights, strict=True))
            assert number[17] == "10X98765432"[total % 11]
            assert date(1950, 1, 1) < date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}")
            assert re.fullmatch(r"1[3-9][0-9]{9}", row["phone"])
    funded: dict[str, Decimal] = defaultdict(Decimal)
    for row in _good_rows(platform, "fundings"):
        funded[row["loan_id"]] += Decimal(row["amount"])
    touched = {r["business_date"] for r in _truth(platform, "malformed.csv") if r["file"] == "fundings"}
    exact = sum(funded[k] == Decimal(v["principal"]) for k, v in loans.items())
    assert exact >= len(loans) - 3 * len(touched) - 20
    statuses = {loan["status"] for loan in loans.values()}
    assert {"active", "written_off"} <= statuses


def test_small_runs_and_bad_arguments(tmp_path: Path) -> None:
    result = generate(tmp_path / "tiny", date(2025, 6, 6), date(2025, 6, 9), loans=20, accounts=10, seed=1)
    assert result.business_dates == (date(2025, 6, 6), date(2025, 6, 9))
    assert set(result.rows_written) == {*REQUIRED_FILES, "watchlist"}
    with pytest.raises(ValueError, match="no business day"):
        generate(tmp_path / "none", date(2025, 6, 7), date(2025, 6, 8))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(FIRE_KINDS + MISS_KINDS),
    category=st.sampled_from(sorted(LARGE_VALUE_RULES)),
    direction=st.sampled_from(["credit", "debit"]),
    usd=st.floats(7.1, 7.3),
    eur=st.floats(7.4, 8.2),
    seed=st.integers(0, 2**32 - 1),
)
def test_planted_legs_land_on_their_side_of_every_line(
    kind: str, category: str, direction: str, usd: float, eur: float, seed: int
) -> None:
    """Whatever the draw and the day's rates: fire kinds reach a line, near misses reach none."""
    import numpy as np

    from regwatch.demo.transactions import _case_legs, _usd_cents

    rate = {"USD": round(usd, 8), "EUR": round(eur, 8)}
    legs = _case_legs(np.random.default_rng(seed), kind, category, direction, rate, CN)
    cny_line, usd_line = CN.large_value_line(category)
    for side in ("credit", "debit"):
        cny = sum(c for d, c, cur in legs if d == side and cur == "CNY")
        foreign = sum(_usd_cents(c, cur, rate) for d, c, cur in legs if d == side and cur != "CNY")
        if not any(d == side for d, _, _ in legs):
            continue
        assert (cny >= cny_line or foreign >= usd_line) == (kind in FIRE_KINDS), (legs, side)
        if kind.startswith("exact"):
            assert cny == cny_line
        if kind in ("single_below", "cumulative_below"):
            assert cny == cny_line - 1
        if kind in ("cumulative", "foreign_cumulative"):  # every leg alone stays under its line
            assert len(legs) >= 2 and all(c < (cny_line if cur == "CNY" else usd_line) for _, c, cur in legs)
    assert all(c > 0 for _, c, _ in legs)
    assert kind.endswith("below") or all(c % 100 == 0 for _, c, _ in legs)  # whole units, as people type
