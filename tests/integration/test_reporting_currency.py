"""Issue 15, point 1: loan-side money in the pack's reporting currency.

A USD loan book (with one CNY and one EUR loan) is delivered for the month end
2025-06-30 and run under both packs. Stocks (outstanding principal, interest, overdue
amounts, borrower balances) convert at the business date's rate, flows (principal
disbursed, written off, compensated) at their own date's rate, each loan's amount to the
cent (half away from zero) before any sum, through the cross rate of ``fx_rates``
(``amount x cny_per_unit(currency) / cny_per_unit(reporting currency)``). The figures are
recomputed here independently with pandas and Python decimals, from the delivered rows,
and must match the warehouse, the rules and the filing to the cent.

On 3d91e1f the book summed USD principal and labelled it CNY: none of the borrowers above
CNY 200,000 (or the entity above CNY 1,000,000) fired, and the us filing said CNY.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from regwatch.config import Settings
from regwatch.reporting.filing import folder_for
from tests.helpers import deliver, query, ran_day

pytestmark = pytest.mark.integration

D = date(2025, 6, 30)  # a Monday, the last weekday of June: the month and Q2 close


@dataclass(frozen=True)
class Loan:
    loan_id: str
    borrower_id: str
    borrower_type: str
    currency: str
    principal: str
    disbursed: str
    status: str = "active"
    written_off: str = ""


LOANS = [
    # 28,000 USD: 198,835.52 CNY at its disbursement rate, 201,565.43 at D's: above CNY 200,000 on D
    Loan("L1", "B1", "individual", "USD", "28000.00", "2025-03-03"),
    # two USD loans of one borrower, 1,500 of L2 repaid: 18,500 + 10,000 outstanding
    Loan("L2", "B2", "individual", "USD", "20000.00", "2025-02-03"),
    Loan("L3", "B2", "individual", "USD", "10000.00", "2025-06-03"),
    # a CNY and a USD loan of one borrower: 150,000 + 7,000 USD, never 157,000 of anything
    Loan("L4", "B3", "individual", "CNY", "150000.00", "2025-02-03"),
    Loan("L5", "B3", "individual", "USD", "7000.00", "2025-03-03"),
    # written off on 2025-05-20 after a guarantor paid the first installment on 2025-04-10
    Loan("L6", "B4", "individual", "USD", "5000.00", "2025-02-03", "written_off", "2025-05-20"),
    # an entity above CNY 1,000,000 only once converted
    Loan("L7", "E1", "enterprise", "USD", "150000.00", "2025-05-05"),
    # below the limit at any rate of the month
    Loan("L8", "B6", "individual", "USD", "27000.00", "2025-05-05"),
    # EUR: in CNY at its own rate, in USD through the CNY cross rate
    Loan("L9", "B7", "individual", "EUR", "10000.00", "2025-06-03"),
]

# (loan, installment, due date, principal, interest)
SCHEDULES = [
    ("L1", 1, "2026-03-03", "28000.00", "3360.00"),
    ("L2", 1, "2025-03-03", "1500.00", "200.00"),
    ("L2", 2, "2025-04-03", "1500.00", "185.00"),  # unpaid: overdue on D
    ("L2", 3, "2026-02-03", "17000.00", "170.00"),
    ("L3", 1, "2026-06-03", "10000.00", "1200.00"),
    ("L4", 1, "2026-02-03", "150000.00", "18000.00"),
    ("L5", 1, "2026-03-03", "7000.00", "840.00"),
    ("L6", 1, "2025-03-03", "1000.00", "50.00"),
    ("L6", 2, "2026-02-03", "4000.00", "550.00"),
    ("L7", 1, "2026-05-05", "150000.00", "18000.00"),
    ("L8", 1, "2026-05-05", "27000.00", "3240.00"),
    ("L9", 1, "2026-06-03", "10000.00", "1200.00"),
]

# (payment, loan, paid at, installment, principal, interest, payer)
REPAYMENTS = [
    ("R1", "L2", "2025-04-01 10:00:00", 1, "1500.00", "200.00", "borrower"),
    ("G1", "L6", "2025-04-10 10:00:00", 1, "1000.00", "50.00", "guarantor"),
]

# CNY per unit, by date: every date a loan amount is converted at, with 8 places so that
# converting per loan and rounding to the cent is what is tested.
RATES = {
    "USD": {
        "2025-02-03": "7.15234567",
        "2025-03-03": "7.10126983",
        "2025-04-01": "7.16345678",
        "2025-04-10": "7.17456789",
        "2025-05-05": "7.12987654",
        "2025-05-20": "7.21567891",
        "2025-06-03": "7.18765432",
        "2025-06-30": "7.19876543",
    },
    "EUR": {"2025-06-03": "7.81345678", "2025-06-30": "7.85432109"},
}

LIMITS = {"individual": Decimal("200000"), "enterprise": Decimal("1000000")}


def _landing() -> dict[str, str]:
    loans = [
        "loan_id,borrower_id,borrower_type,product_code,partner_id,is_related_party,contract_date,"
        "disbursement_date,principal,currency,term_months,repayment_method,nominal_rate,upfront_fee,"
        "status,written_off_date,updated_at"
    ]
    for x in LOANS:
        loans.append(
            f"{x.loan_id},{x.borrower_id},{x.borrower_type},P-EI,,false,{x.disbursed},{x.disbursed},"
            f"{x.principal},{x.currency},12,bullet,0.120000,0.00,{x.status},{x.written_off},"
            f"{x.disbursed} 09:00:00"
        )
    schedules = ["loan_id,installment_no,due_date,principal_due,interest_due,fee_due"]
    schedules += [f"{loan},{n},{due},{p},{i},0.00" for loan, n, due, p, i in SCHEDULES]
    repayments = [
        "payment_id,loan_id,paid_at,installment_no,principal_paid,interest_paid,fee_paid,penalty_paid,payer_type"
    ]
    repayments += [
        f"{pid},{loan},{at},{n},{p},{i},0.00,0.00,{payer}" for pid, loan, at, n, p, i, payer in REPAYMENTS
    ]
    fundings = ["funding_id,loan_id,funder_id,funder_type,amount,funded_at"]
    fundings += [
        f"F{x.loan_id},{x.loan_id},LND1,institution,{x.principal},{x.disbursed} 08:00:00" for x in LOANS
    ]
    accounts = [
        "account_id,customer_id,customer_type,full_name,id_number,phone,country,device_id,opened_at,status,updated_at",
        "A1,C1,individual,Wang Fang,110101199003074477,13812345678,CN,D1,2024-01-05 10:00:00,active,"
        "2025-06-02 09:00:00",
    ]
    transactions = [
        "txn_id,account_id,txn_at,direction,amount,currency,channel,counterparty_account,counterparty_name,"
        "counterparty_country,purpose",
        "T1,A1,2025-06-30 11:00:00,credit,100.00,CNY,cash,,,,deposit",
    ]
    fx = ["rate_date,currency,cny_per_unit"]
    fx += [f"{day},{currency},{rate}" for currency, days in RATES.items() for day, rate in days.items()]
    return {
        "loans": "\n".join(loans),
        "schedules": "\n".join(schedules),
        "repayments": "\n".join(repayments),
        "fundings": "\n".join(fundings),
        "accounts": "\n".join(accounts),
        "transactions": "\n".join(transactions),
        "fx_rates": "\n".join(fx),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    tmp = tmp_path_factory.mktemp("reporting_currency")
    landing = deliver(tmp / "landing", D, {name: text + "\n" for name, text in _landing().items()})
    return {pack: ran_day(tmp / f"var-{pack}", landing, D, pack) for pack in ("cn", "us")}


# --------------------------------------------------------------------------- the recomputation


def _cent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _convert(amount: Decimal, currency: str, day: str, reporting: str) -> Decimal:
    """amount x CNY per unit of its currency / CNY per unit of the reporting currency, to the cent."""
    if currency == reporting:
        return amount

    def cny(c: str) -> Decimal:
        return Decimal("1") if c == "CNY" else Decimal(RATES[c][day])

    return _cent(amount * cny(currency) / cny(reporting))


def _expected(reporting: str) -> dict[str, object]:
    """The book recomputed with pandas from the delivered rows, in ``reporting`` currency."""
    loans = pd.DataFrame([x.__dict__ for x in LOANS])
    loans["principal"] = loans.principal.map(Decimal)
    paid = pd.DataFrame(
        REPAYMENTS, columns=["payment_id", "loan_id", "paid_at", "n", "principal", "interest", "payer"]
    )
    paid["principal"] = paid.principal.map(Decimal)
    paid["interest"] = paid.interest.map(Decimal)
    repaid = paid.groupby("loan_id").principal.apply(lambda s: sum(s, Decimal(0)))
    loans["remaining"] = loans.apply(lambda r: r.principal - repaid.get(r.loan_id, Decimal(0)), axis=1)
    loans["outstanding"] = loans.apply(lambda r: r.remaining if r.status == "active" else Decimal(0), axis=1)
    loans["written_off_amount"] = loans.apply(
        lambda r: r.remaining if r.status == "written_off" else Decimal(0), axis=1
    )
    day = D.isoformat()
    loans["outstanding_r"] = loans.apply(
        lambda r: _convert(r.outstanding, r.currency, day, reporting), axis=1
    )
    loans["principal_r"] = loans.apply(
        lambda r: _convert(r.principal, r.currency, r.disbursed, reporting), axis=1
    )
    loans["written_off_r"] = loans.apply(
        lambda r: (
            _convert(r.written_off_amount, r.currency, r.written_off, reporting)
            if r.status == "written_off"
            else Decimal(0)
        ),
        axis=1,
    )
    currency = dict(zip(loans.loan_id, loans.currency, strict=True))
    compensated = paid[paid.payer != "borrower"]
    compensated_r = sum(
        (
            _convert(p.principal + p.interest, currency[p.loan_id], p.paid_at[:10], reporting)
            for p in compensated.itertuples()
        ),
        Decimal(0),
    )
    outstanding = loans[loans.status == "active"]
    borrowers = outstanding.groupby(["borrower_id", "borrower_type"]).outstanding_r.apply(
        lambda s: sum(s, Decimal(0))
    )
    june = loans[loans.disbursed >= "2025-06-01"]
    ranked = sorted(borrowers.values, reverse=True)
    return {
        "borrowers": {b: v for (b, _), v in borrowers.items()},
        "above_limit": {b for (b, kind), v in borrowers.items() if v > LIMITS[kind]},
        "outstanding_principal": sum(outstanding.outstanding_r, Decimal(0)),
        "cumulative_loan_amount": sum(loans.principal_r, Decimal(0)),
        "period_loan_amount": sum(june.principal_r, Decimal(0)),
        "written_off_principal": sum(loans.written_off_r, Decimal(0)),
        "compensated_amount": compensated_r,
        "top10_outstanding_principal": sum(ranked[:10], Decimal(0)),
        "largest_outstanding_principal": ranked[0],
    }


# --------------------------------------------------------------------------- tests


def test_borrower_limits_are_checked_in_cny_at_the_business_date_rate(runs: dict[str, Settings]) -> None:
    expected = _expected("CNY")
    exposures = dict(
        query(runs["cn"], "SELECT borrower_id, outstanding_principal FROM marts.fct_borrower_exposures")
    )
    assert exposures == expected["borrowers"]
    assert exposures["B1"] == Decimal("201565.43")  # 28,000 x 7.19876543 (D), not x 7.10126983 (disbursed)
    assert exposures["B3"] == Decimal("200391.36")  # CNY 150,000 + USD 7,000 x 7.19876543
    fired = query(
        runs["cn"],
        "SELECT rule_id, entity_key, message FROM results.exceptions WHERE rule_id LIKE 'cn.disclosures.%_limit'",
    )
    assert {(r, k) for r, k, _ in fired} == {
        ("cn.disclosures.individual_borrower_limit", "B1"),
        ("cn.disclosures.individual_borrower_limit", "B2"),
        ("cn.disclosures.individual_borrower_limit", "B3"),
        ("cn.disclosures.entity_borrower_limit", "E1"),
    }
    assert {k for _, k, _ in fired} == expected["above_limit"]
    message = next(m for _, k, m in fired if k == "B1")
    assert "CNY 201,565.43" in message


def _indicators(settings: Settings) -> dict[str, tuple[str, Decimal]]:
    rows = query(
        settings,
        "SELECT indicator_id, unit, value FROM reporting.rpt_disclosure_indicators "
        "WHERE business_date = ? AND period_kind = 'month' AND breakdown_key = 'total'",
        [D],
    )
    return {str(i): (str(u), v) for i, u, v in rows}  # type: ignore[misc]


@pytest.mark.parametrize(("pack", "currency"), [("cn", "CNY"), ("us", "USD")])
def test_disclosure_totals_are_in_the_pack_currency_to_the_cent(
    runs: dict[str, Settings], pack: str, currency: str
) -> None:
    expected = _expected(currency)
    indicators = _indicators(runs[pack])
    for name in (
        "outstanding_principal",
        "cumulative_loan_amount",
        "period_loan_amount",
        "written_off_principal",
        "compensated_amount",
    ):
        unit, value = indicators[name]
        assert unit == currency, name
        assert value == expected[name], (name, value, expected[name])
    concentration = query(
        runs[pack],
        "SELECT top10_outstanding_principal, largest_outstanding_principal FROM marts.fct_platform_concentration",
    )[0]
    assert concentration == (
        expected["top10_outstanding_principal"],
        expected["largest_outstanding_principal"],
    )
    # every amount in the filing carries the pack's unit; no money is labelled with another currency
    units = {u for u, _ in indicators.values()}
    assert units <= {currency, "count", "rate"} and currency in units


@pytest.mark.parametrize(("pack", "currency", "other"), [("cn", "CNY", "USD"), ("us", "USD", "CNY")])
def test_the_filing_prints_the_unit_of_the_pack(
    runs: dict[str, Settings], pack: str, currency: str, other: str
) -> None:
    folder = folder_for(runs[pack], "2025-06")
    document = json.loads((folder / "disclosure_indicators.json").read_text(encoding="utf-8"))
    money = [i for i in document["indicators"] if i["unit"] not in ("count", "rate")]
    assert money and {i["unit"] for i in money} == {currency}
    outstanding = next(i for i in money if i["id"] == "outstanding_principal")
    assert Decimal(outstanding["value"]) == _expected(currency)["outstanding_principal"]
    with (folder / "disclosure_indicators.csv").open(newline="", encoding="utf-8") as handle:
        units = {r["unit"] for r in csv.DictReader(handle)}
    assert currency in units and other not in units
    html = (folder / "disclosure_indicators.html").read_text(encoding="utf-8")
    assert f"{currency} {_expected(currency)['outstanding_principal']:,.2f}" in html
    daily = (runs[pack].reports_dir / D.isoformat() / "daily_exceptions.html").read_text(encoding="utf-8")
    assert f"Reporting currency</dt><dd>{currency}" in daily
