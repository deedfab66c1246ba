"""A synthetic online-lending platform with ground truth: the demo and the test bed.

``generate`` writes, for every business day (Mon-Fri) of a range, the seven input
files of the contract as a platform would deliver them: day one carries the back
book (loans contracted in the six months before, their schedules, fundings and
repayment history, every account); each later day carries the loans contracted
that day, the installments paid, status changes, ordinary account traffic and FX
rates. Into that it plants the cases the rules must find (real APR above the cap,
large cash single or cumulative, exactly at the threshold, in foreign currency),
near misses they must not find, and malformed rows of every bad-input class.

Ground truth lands in ``<out>/_truth/`` (the pipeline never reads it):
``planted.csv`` and ``near_misses.csv`` (case_id, rule_id, entity_key,
business_date, kind, detail) and ``malformed.csv`` (file, business_date,
row_number, bad_input_class, column). Same arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from regwatch.apr import annual_rate
from regwatch.contract import CONTRACTS, REQUIRED_FILES

RATE_CAP_RULE = "cn.rate_caps.real_apr_above_comprehensive_cap"
LARGE_CASH_RULE = "cn.aml.large_cash"
BAD_INPUT_CLASSES = (
    "wrong_type",
    "missing_required",
    "negative_amount",
    "unknown_enum",
    "duplicate_key",
    "unparseable_date",
    "unknown_currency",
    "invalid_utf8",
)
# Compliant loans stay this far below the 24 % level, planted ones this far above:
# the truth must not hinge on the last decimal of a schedule.
COMPLIANT_MAX_APR = 0.22
PLANTED_MIN_APR = 0.26
CASH_THRESHOLD = Decimal("50000.00")
ORDINARY_CASH_CEILING = Decimal("40000.00")
CENT = Decimal("0.01")

_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Gao", "Lin", "Luo"]
_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yang", "Yong", "Yan", "Jie", "Tao", "Ming", "Chao", "Xiu", "Hui", "Ping", "Gang", "Hong"]
_COMPANY = ["Huaxin", "Tianrui", "Jinhai", "Dongfang", "Hengtong", "Xinyuan", "Zhongtai", "Baoli", "Kaiyuan", "Ruifeng"]
_REGIONS = ("110101", "310104", "440305", "330106", "510107", "420102", "320102")
_FX_START = {"USD": 7.18, "EUR": 7.80, "HKD": 0.918, "GBP": 9.10, "JPY": 0.0478}
_PARTNERS = ("PTN-BANK-01", "PTN-BANK-02", "PTN-TRUST-01", "PTN-GUAR-01")


class DemoError(ValueError):
    """The generator was asked for something it cannot make."""


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    business_dates: tuple[date, ...]
    files_written: int
    rows_written: dict[str, int]
    planted: int
    malformed: int


@dataclass(frozen=True)
class Product:
    code: str
    method: str
    terms: tuple[int, ...]
    rate_range: tuple[float, float]
    monthly_fee: float = 0.0
    upfront_fee: float = 0.0


PRODUCTS = (
    Product("P-EI", "equal_installment", (6, 12, 24, 36), (0.08, 0.18)),
    Product("P-EP", "equal_principal", (12, 24), (0.07, 0.15)),
    Product("P-IF", "interest_first", (3, 6, 12), (0.06, 0.15)),
    Product("P-FA", "flat_add_on", (12, 24, 36), (0.036, 0.06), monthly_fee=0.0015, upfront_fee=0.01),
    Product("P-BL", "bullet", (1, 3, 6), (0.06, 0.14)),
)


@dataclass
class _Loan:
    loan_id: str
    borrower_id: str
    borrower_type: str
    product: Product
    partner_id: str
    is_related_party: bool
    contract_date: date
    principal: Decimal
    term_months: int
    nominal_rate: Decimal
    upfront_fee: Decimal
    schedule: list[tuple[int, date, Decimal, Decimal, Decimal]] = field(default_factory=list)
    planted_kind: str = ""
    real_apr: float = 0.0
    delinquent_from: int = 0  # first installment never paid by the borrower (0 = pays all)


def _applies(bad_class: str, file_name: str) -> bool:
    """Whether a file has a column that can carry this class of defect."""
    kinds = {
        "wrong_type": {"decimal", "integer"},
        "negative_amount": {"decimal"},
        "unknown_enum": {"enum"},
        "unknown_currency": {"currency"},
    }.get(bad_class)
    return kinds is None or any(c.type in kinds and c.required for c in CONTRACTS[file_name].columns)


def business_days(start: date, end: date) -> list[date]:
    """Monday to Friday from ``start`` to ``end`` inclusive."""
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def schedule_for(
    method: str,
    principal: Decimal,
    nominal_rate: Decimal,
    term: int,
    start: date,
    monthly_fee_rate: float = 0.0,
) -> list[tuple[int, date, Decimal, Decimal, Decimal]]:
    """Contractual installments (number, due date, principal, interest, fee), cent-exact.

    Rounding goes to the last installment so principal always sums to the loan.
    For ``flat_add_on`` the nominal rate is charged on the original principal every
    month (the way such products are advertised), plus a flat monthly service fee.
    """
    monthly = nominal_rate / 12
    fee = _money(principal * Decimal(str(monthly_fee_rate)))
    rows = []
    balance = principal
    if method == "bullet":
        interest = _money(principal * nominal_rate * term / 12)
        return [(1, _add_months(start, term), principal, interest, fee * term)]
    if method == "equal_installment" and monthly > 0:
        payment = principal * monthly / (1 - (1 + monthly) ** -term)
    for number in range(1, term + 1):
        due = _add_months(start, number)
        last = number == term
        if method == "equal_installment":
            interest = _money(balance * monthly)
            paid = balance if last else _money(payment - interest)
        elif method in ("equal_principal", "flat_add_on"):
            interest = _money((principal if method == "flat_add_on" else balance) * monthly)
            paid = balance if last else _money(principal / term)
        elif method == "interest_first":
            interest = _money(principal * monthly)
            paid = balance if last else Decimal("0.00")
        else:
            raise DemoError(f"unknown repayment method {method}")
        balance -= paid
        rows.append((number, due, paid, interest, fee))
    return rows


def loan_real_apr(loan: _Loan) -> float:
    advances = [(loan.contract_date, loan.principal - loan.upfront_fee)]
    payments = [(due, p + i + f) for _, due, p, i, f in loan.schedule]
    return annual_rate(advances, payments, "cn_irr")


def _id_number(rng: random.Random) -> str:
    """An 18-character PRC resident ID with a valid ISO 7064 MOD 11-2 check character."""
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 44 * 365))
    body = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = (12 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def _credit_code(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + rng.choice(_REGIONS) + "".join(rng.choice(alphabet) for _ in range(10))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"


def _csv_bytes(header: list[str], rows: list[list[str | bytes]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    out = bytearray(buffer.getvalue().encode())
    for row in rows:
        if any(isinstance(v, bytes) for v in row):
            out += b",".join(v if isinstance(v, bytes) else v.encode() for v in row) + b"\n"
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row)
            out += buffer.getvalue().encode()
    return bytes(out)


class _Platform:
    def __init__(self, start: date, end: date, loans: int, accounts: int, seed: int, malformed_rate: float):
        self.rng = random.Random(seed)
        self.days = business_days(start, end)
        if not self.days:
            raise DemoError(f"no business day between {start} and {end}")
        self.n_loans = loans
        self.n_accounts = accounts
        self.malformed_rate = malformed_rate
        self.files: dict[date, dict[str, list[list[str | bytes]]]] = {
            d: {name: [] for name in REQUIRED_FILES} for d in self.days
        }
        self.planted: list[list[str]] = []
        self.near_misses: list[list[str]] = []
        self.malformed: list[list[str]] = []
        self.fx: dict[date, dict[str, Decimal]] = {}
        self.customers: list[tuple[str, str, list[str]]] = []  # (customer id, type, account ids)
        self._bad_rows: dict[tuple[date, str], list[tuple[list[str | bytes], str, str]]] = {}

    # -- reference and people -------------------------------------------------
    def fx_rates(self) -> None:
        levels = dict(_FX_START)
        for day in self.days:
            rates = {"CNY": Decimal("1")}
            for currency in sorted(levels):
                levels[currency] *= 1 + self.rng.uniform(-0.002, 0.002)
                rates[currency] = Decimal(f"{levels[currency]:.8f}")
            self.fx[day] = rates
            for currency, rate in rates.items():
                self.files[day]["fx_rates"].append([day.isoformat(), currency, f"{rate:.8f}"])

    def accounts(self) -> None:
        first = self.days[0]
        devices = 0
        for number in range(1, self.n_accounts + 1):
            customer = f"C{number:06d}"
            individual = self.rng.random() < 0.85
            kind = "individual" if individual else "entity"
            accounts = [f"A{number:06d}"] + ([f"A{number:06d}-2"] if self.rng.random() < 0.05 else [])
            self.customers.append((customer, kind, accounts))
            if individual:
                name = f"{self.rng.choice(_SURNAMES)} {self.rng.choice(_GIVEN)}"
                id_number, phone = _id_number(self.rng), _phone(self.rng)
            else:
                name = f"{self.rng.choice(_COMPANY)} Trading Co., Ltd."
                id_number = _credit_code(self.rng)
                phone = (
                    _phone(self.rng)
                    if self.rng.random() < 0.5
                    else f"0{self.rng.randrange(10, 99)}-{self.rng.randrange(10**7, 10**8)}"
                )
            if number % 40 == 1:  # a few devices shared by three customers
                devices += 1
            device = f"DEV{devices:05d}" if number % 40 in (1, 2, 3) else f"DEV-U{number:06d}"
            opened = datetime.combine(first, datetime.min.time()) - timedelta(
                days=self.rng.randrange(200, 2000)
            )
            for account in accounts:
                self.files[first]["accounts"].append(
                    [
                        account,
                        customer,
                        kind,
                        name,
                        id_number,
                        phone,
                        "CN",
                        device,
                        f"{opened:%Y-%m-%d %H:%M:%S}",
                        "active",
                        f"{first} 06:00:00",
                    ]
                )
        for day in self.days[1:]:  # a few address-book updates: new versions of the same account
            for _ in range(max(1, self.n_accounts // 200)):
                row = list(self.rng.choice(self.files[first]["accounts"]))
                row[5] = _phone(self.rng) if row[2] == "individual" else row[5]
                row[10] = f"{day} 07:{self.rng.randrange(0, 60):02d}:00"
                self.files[day]["accounts"].append(row)

    # -- loans ------------------------------------------------------------------
    def _terms(self, loan: _Loan, planted: str) -> None:
        product = loan.product
        rng = self.rng
        for _attempt in range(50):
            loan.term_months = rng.choice(product.terms)
            if planted == "nominal_above_cap":
                rate = rng.uniform(0.27, 0.33)
                fee_rate, upfront = 0.0, 0.0
            elif planted == "real_above_cap_nominal_below":
                rate = rng.uniform(0.10, 0.12)  # 0.83-1.0 % a month, flat on the original principal
                fee_rate, upfront = rng.uniform(0.004, 0.006), rng.uniform(0.03, 0.05)
            else:
                rate = rng.uniform(*product.rate_range)
                fee_rate, upfront = product.monthly_fee, product.upfront_fee * rng.choice((0, 1))
            loan.nominal_rate = Decimal(f"{rate:.6f}")
            loan.upfront_fee = _money(loan.principal * Decimal(str(upfront)))
            loan.schedule = schedule_for(
                product.method,
                loan.principal,
                loan.nominal_rate,
                loan.term_months,
                loan.contract_date,
                fee_rate,
            )
            loan.real_apr = loan_real_apr(loan)
            if (planted and loan.real_apr >= PLANTED_MIN_APR) or (
                not planted and loan.real_apr <= COMPLIANT_MAX_APR
            ):
                return
        raise DemoError(f"could not make terms for {loan.loan_id} ({planted or 'compliant'})")

    def loans(self) -> list[_Loan]:
        rng = self.rng
        first = self.days[0]
        back_book = max(1, int(self.n_loans * 0.4))
        n_planted = max(5, round(self.n_loans * 0.015)) if self.n_loans >= 200 else max(1, self.n_loans // 50)
        planted_at = set(rng.sample(range(self.n_loans), min(n_planted, self.n_loans)))
        individuals = [c for c in self.customers if c[1] == "individual"]
        entities = [c for c in self.customers if c[1] == "entity"] or individuals
        made = []
        for number in range(self.n_loans):
            enterprise = rng.random() < 0.1
            customer = rng.choice(entities if enterprise else individuals)
            if number < back_book:
                contract = first - timedelta(days=rng.randrange(1, 181))
            else:
                contract = self.days[
                    (number - back_book) * len(self.days) // max(1, self.n_loans - back_book)
                ]
            planted = ""
            product = rng.choice(PRODUCTS)
            if number in planted_at:
                planted = ("nominal_above_cap", "real_above_cap_nominal_below")[len(made) % 2]
                product = PRODUCTS[0] if planted == "nominal_above_cap" else PRODUCTS[3]
            principal = _money(rng.randrange(100, 2000) * (500 if enterprise else 100))
            loan = _Loan(
                f"L{number + 1:07d}",
                customer[0],
                "enterprise" if enterprise else "individual",
                product,
                rng.choice(_PARTNERS) if rng.random() < 0.7 else "",
                rng.random() < 0.01,
                contract,
                principal,
                0,
                Decimal(0),
                Decimal(0),
                planted_kind=planted,
            )
            self._terms(loan, planted)
            if rng.random() < 0.08 and loan.term_months > 1:
                loan.delinquent_from = rng.randrange(1, loan.term_months + 1)
            made.append(loan)
        return made

    def book(self, loans: list[_Loan]) -> None:
        first, last = self.days[0], self.days[-1]
        for loan in loans:
            arrival = loan.contract_date if loan.contract_date >= first else first
            files = self.files[arrival]
            stamp = f"{loan.contract_date} 09:{int(loan.loan_id[-2:]) % 60:02d}:00"
            base = [
                loan.loan_id,
                loan.borrower_id,
                loan.borrower_type,
                loan.product.code,
                loan.partner_id,
                "true" if loan.is_related_party else "false",
                loan.contract_date.isoformat(),
                loan.contract_date.isoformat(),
                f"{loan.principal:.2f}",
                "CNY",
                str(loan.term_months),
                loan.product.method,
                f"{loan.nominal_rate:.6f}",
                f"{loan.upfront_fee:.2f}",
            ]
            files["loans"].append([*base, "active", "", stamp])
            if loan.planted_kind:
                self.planted.append(
                    [
                        f"APR-{loan.loan_id}",
                        RATE_CAP_RULE,
                        loan.loan_id,
                        arrival.isoformat(),
                        loan.planted_kind,
                        f"nominal {loan.nominal_rate:.4f}; real APR {loan.real_apr:.4f}",
                    ]
                )
            for number, due, principal, interest, fee in loan.schedule:
                files["schedules"].append(
                    [
                        loan.loan_id,
                        str(number),
                        due.isoformat(),
                        f"{principal:.2f}",
                        f"{interest:.2f}",
                        f"{fee:.2f}",
                    ]
                )
            shares = sorted(self.rng.sample(range(1, 100), self.rng.randrange(0, 4)))
            cuts = [Decimal(0), *(_money(loan.principal * s / 100) for s in shares), loan.principal]
            for index in range(len(cuts) - 1):
                institution = self.rng.random() < 0.3
                files["fundings"].append(
                    [
                        f"F{loan.loan_id[1:]}-{index + 1}",
                        loan.loan_id,
                        f"{'INS' if institution else 'LND'}{self.rng.randrange(1, 400):04d}",
                        "institution" if institution else "individual_lender",
                        f"{cuts[index + 1] - cuts[index]:.2f}",
                        f"{loan.contract_date} 08:30:00",
                    ]
                )
            self._repayments(loan, first, last)

    def _repayments(self, loan: _Loan, first: date, last: date) -> None:
        overdue_since: date | None = None
        for number, due, principal, interest, fee in loan.schedule:
            if due > last:
                break
            missed = loan.delinquent_from and number >= loan.delinquent_from
            if missed:
                overdue_since = overdue_since or due
                if self.rng.random() < 0.3:  # the guarantor compensates the lender
                    self._payment(
                        loan,
                        number,
                        due + timedelta(days=30),
                        principal,
                        interest,
                        fee,
                        "guarantor",
                        first,
                        last,
                    )
                continue
            late = self.rng.choice((0, 0, 0, 0, 0, 0, 2, 5))
            self._payment(
                loan, number, due + timedelta(days=late), principal, interest, fee, "borrower", first, last
            )
        if overdue_since is not None and (first - overdue_since).days > 90:
            written_off = overdue_since + timedelta(days=91)
            self.files[first]["loans"].append(self._loan_version(loan, "written_off", written_off, first))

    def _loan_version(self, loan: _Loan, status: str, when: date, arrival: date) -> list[str | bytes]:
        for row in self.files[arrival]["loans"]:
            if row[0] == loan.loan_id:
                return [*row[:14], status, when.isoformat(), f"{arrival} 05:00:00"]
        raise DemoError(f"no first version of {loan.loan_id}")

    def _payment(
        self,
        loan: _Loan,
        number: int,
        paid: date,
        principal: Decimal,
        interest: Decimal,
        fee: Decimal,
        payer: str,
        first: date,
        last: date,
    ) -> None:
        if paid > last:
            return
        arrival = first if paid < first else next((d for d in self.days if d >= paid), None)
        if arrival is None:
            return
        penalty = _money(
            (principal + interest) * Decimal("0.0005") * max(0, (paid - loan.schedule[number - 1][1]).days)
        )
        self.files[arrival]["repayments"].append(
            [
                f"PAY-{loan.loan_id}-{number}",
                loan.loan_id,
                f"{paid} 10:{number % 60:02d}:00",
                str(number),
                f"{principal:.2f}",
                f"{interest:.2f}",
                f"{fee:.2f}",
                f"{penalty:.2f}",
                payer,
            ]
        )

    # -- transactions -----------------------------------------------------------
    def transactions(self) -> None:
        rng = self.rng
        planted_kinds = ("single", "cumulative", "exact_threshold", "foreign_currency")
        near_kinds = ("single_cent_below", "cumulative_cent_below", "two_directions")
        counter = 0
        for day_index, day in enumerate(self.days):
            rates = self.fx[day]
            rows = self.files[day]["transactions"]
            reserved = set()
            plans: list[tuple[str, str, list[tuple[str, Decimal, str]]]] = []  # kind, truth, txns
            for offset in range(2):
                kind = planted_kinds[(day_index * 2 + offset) % len(planted_kinds)]
                plans.append(("planted", kind, self._cash_plan(kind, rates)))
            plans.append(
                (
                    "near",
                    near_kinds[day_index % len(near_kinds)],
                    self._cash_plan(near_kinds[day_index % len(near_kinds)], rates),
                )
            )
            for truth, kind, txns in plans:
                customer = rng.choice([c for c in self.customers if c[0] not in reserved])
                reserved.add(customer[0])
                account = customer[2][0]
                directions = set()
                for direction, amount, currency in txns:
                    counter += 1
                    directions.add(direction)
                    rows.append(self._txn(counter, account, day, direction, amount, currency, "cash"))
                for direction in sorted(directions):
                    total = sum((a * rates[c] for d, a, c in txns if d == direction), Decimal(0)).quantize(
                        CENT
                    )
                    key = f"{customer[0]}|{day}|{direction}"
                    record = [
                        f"CASH-{day:%Y%m%d}-{kind}",
                        LARGE_CASH_RULE,
                        key,
                        day.isoformat(),
                        kind,
                        f"CNY {total}",
                    ]
                    (self.planted if truth == "planted" else self.near_misses).append(record)
            cash_totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            for _ in range(int(self.n_accounts * 0.6)):
                customer = rng.choice(self.customers)
                account = rng.choice(customer[2])
                channel = rng.choices(
                    ("transfer", "card", "internal", "cash", "cross_border"), (50, 25, 10, 10, 5)
                )[0]
                direction = rng.choice(("credit", "debit"))
                currency = (
                    "CNY"
                    if channel != "cross_border" and rng.random() < 0.95
                    else rng.choice(("USD", "EUR", "HKD"))
                )
                amount = _money(min(rng.lognormvariate(6.7, 1.0), 9000 if channel == "cash" else 200000))
                if channel == "cash":
                    if customer[0] in reserved:
                        continue
                    slot = (customer[0], direction)
                    if cash_totals[slot] + amount * rates[currency] >= ORDINARY_CASH_CEILING:
                        continue
                    cash_totals[slot] += amount * rates[currency]
                counter += 1
                rows.append(self._txn(counter, account, day, direction, amount, currency, channel))

    def _cash_plan(self, kind: str, rates: dict[str, Decimal]) -> list[tuple[str, Decimal, str]]:
        rng = self.rng
        if kind == "single":
            return [("credit", _money(rng.uniform(50001, 150000)), "CNY")]
        if kind == "cumulative":
            parts = rng.randrange(2, 5)
            total = rng.uniform(52000, 90000)
            return [("debit", _money(total / parts), "CNY") for _ in range(parts)]
        if kind == "exact_threshold":
            return [("credit", Decimal("20000.00"), "CNY"), ("credit", Decimal("30000.00"), "CNY")]
        if kind == "foreign_currency":
            usd = (CASH_THRESHOLD / rates["USD"] + rng.randrange(100, 3000)).quantize(CENT)
            return [("credit", usd, "USD")]
        if kind == "single_cent_below":
            return [("credit", Decimal("49999.99"), "CNY")]
        if kind == "cumulative_cent_below":
            return [("debit", Decimal("20000.00"), "CNY"), ("debit", Decimal("29999.99"), "CNY")]
        if kind == "two_directions":
            return [("credit", Decimal("30000.00"), "CNY"), ("debit", Decimal("30000.00"), "CNY")]
        raise DemoError(f"unknown cash plan {kind}")

    def _txn(
        self,
        number: int,
        account: str,
        day: date,
        direction: str,
        amount: Decimal,
        currency: str,
        channel: str,
    ) -> list[str | bytes]:
        rng = self.rng
        foreign = channel == "cross_border"
        return [
            f"T{number:09d}",
            account,
            f"{day} {rng.randrange(8, 20):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
            direction,
            f"{amount:.2f}",
            currency,
            channel,
            "" if channel == "cash" else f"X{rng.randrange(10**8):08d}",
            "" if channel == "cash" else f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}",
            "" if channel == "cash" else (rng.choice(("US", "HK", "SG", "GB")) if foreign else "CN"),
            rng.choice(("deposit", "withdrawal", "repayment", "purchase", "salary", "transfer")),
        ]

    # -- malformed rows -----------------------------------------------------------
    def corrupt(self) -> None:
        """Add malformed copies of ordinary rows: every class at least once, ~rate overall."""
        rng = self.rng
        total = sum(len(rows) for files in self.files.values() for rows in files.values())
        wanted = max(len(BAD_INPUT_CLASSES), round(total * self.malformed_rate))
        targets = [
            (d, f)
            for d in self.days
            for f in ("transactions", "repayments", "fundings", "loans", "schedules", "accounts")
            if self.files[d][f]
        ]
        inserted: dict[tuple[date, str], list[tuple[list[str | bytes], str, str]]] = defaultdict(list)
        for number in range(wanted):
            bad_class = BAD_INPUT_CLASSES[number % len(BAD_INPUT_CLASSES)]
            candidates = [t for t in targets if _applies(bad_class, t[1])]
            day, name = rng.choice(candidates)
            rows = self.files[day][name]
            source_index = rng.randrange(len(rows))
            row, column = self._mutate(CONTRACTS[name], list(rows[source_index]), bad_class, number)
            # a duplicate must come after its original; others anywhere
            position = rng.randrange(source_index + 1 if bad_class == "duplicate_key" else 0, len(rows) + 1)
            rows.insert(position, row)
            inserted[(day, name)].append((row, bad_class, column))
        self._bad_rows = inserted

    def _mutate(
        self, contract: object, row: list[str | bytes], bad_class: str, number: int
    ) -> tuple[list[str | bytes], str]:
        from regwatch.contract import FileContract

        assert isinstance(contract, FileContract)
        names = list(contract.column_names)
        key = contract.key

        def first(kinds: tuple[str, ...], required: bool = True, skip_key: bool = True) -> str:
            for column in contract.columns:
                if (
                    column.type in kinds
                    and (column.required or not required)
                    and not (skip_key and column.name in key)
                ):
                    return column.name
            raise DemoError(f"{contract.name} has no column for {bad_class}")

        if bad_class != "duplicate_key":  # a fresh key, so only the planted defect can reject it
            for column in key:
                index = names.index(column)
                if contract.column(column).type == "string":
                    row[index] = f"{row[index]}-BAD{number}"
        if bad_class == "wrong_type":
            column = first(("decimal", "integer"))
            row[names.index(column)] = "12o00.00" if contract.column(column).type == "decimal" else "twelve"
        elif bad_class == "missing_required":
            column = first(("string", "enum", "decimal", "date", "timestamp"))
            row[names.index(column)] = ""
        elif bad_class == "negative_amount":
            column = first(("decimal",))
            row[names.index(column)] = "-125.00"
        elif bad_class == "unknown_enum":
            column = first(("enum",))
            row[names.index(column)] = "balloon"
        elif bad_class == "duplicate_key":
            column = ", ".join(key)
        elif bad_class == "unparseable_date":
            column = first(("date", "timestamp"), skip_key=False)
            row[names.index(column)] = (
                "2025-02-30" if contract.column(column).type == "date" else "31/12/2025 10:00"
            )
        elif bad_class == "unknown_currency":
            column = first(("currency",))
            row[names.index(column)] = "XXY"
        else:
            column = first(("string",), skip_key=False)
            row[names.index(column)] = str(row[names.index(column)]).encode() + b"\xff\xfe"
        return row, column

    # -- output -----------------------------------------------------------------
    def write(self, out: Path) -> GenerateResult:
        out.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = defaultdict(int)
        malformed_rows: list[list[str]] = []
        files_written = 0
        extra_column_day = self.days[1] if len(self.days) > 1 else self.days[0]
        for day in self.days:
            folder = out / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            bad = {
                id(row): (cls, column)
                for (d, name), items in self._bad_rows.items()
                if d == day
                for row, cls, column in items
            }
            for name in REQUIRED_FILES:
                header = list(CONTRACTS[name].column_names)
                rows = self.files[day][name]
                if name == "fundings" and day == extra_column_day and rows:
                    header = [*header, "legacy_flag"]
                    rows = [[*row, "N"] for row in rows]
                    original = self.files[day][name]
                else:
                    original = rows
                for number, row in enumerate(original, start=1):
                    if id(row) in bad:
                        cls, column = bad[id(row)]
                        malformed_rows.append([name, day.isoformat(), str(number), cls, column])
                (folder / f"{name}.csv").write_bytes(_csv_bytes(header, rows))
                counts[name] += len(rows)
                files_written += 1
        truth = out / "_truth"
        truth.mkdir(exist_ok=True)
        columns = ["case_id", "rule_id", "entity_key", "business_date", "kind", "detail"]
        for file_name, rows_ in (("planted.csv", self.planted), ("near_misses.csv", self.near_misses)):
            (truth / file_name).write_bytes(
                _csv_bytes(columns, sorted(rows_, key=lambda r: (r[3], r[1], r[2])))
            )
        (truth / "malformed.csv").write_bytes(
            _csv_bytes(
                ["file", "business_date", "row_number", "bad_input_class", "column"],
                sorted(malformed_rows, key=lambda r: (r[1], r[0], int(r[2]))),
            )
        )
        return GenerateResult(
            out, tuple(self.days), files_written, dict(counts), len(self.planted), len(malformed_rows)
        )


def generate(
    out: Path,
    start: date,
    end: date,
    loans: int = 2000,
    accounts: int = 1000,
    seed: int = 42,
    malformed_rate: float = 0.005,
) -> GenerateResult:
    """Write a synthetic platform for every business day from ``start`` to ``end``."""
    if end < start:
        raise DemoError(f"end {end} is before start {start}")
    platform = _Platform(start, end, loans, accounts, seed, malformed_rate)
    platform.fx_rates()
    platform.accounts()
    platform.book(platform.loans())
    platform.transactions()
    platform.corrupt()
    return platform.write(out)
