"""The loan book of the synthetic platform: products, terms, schedules, fundings, repayments,
status versions, and the rate-cap truth.

The back book (6 months of loans before the first day, delivered on day 1) and new loans
every day. Planted rate-cap loans of every kind sit against the caps in force on their
contract date (``dbt_project/seeds/reference``: the comprehensive-cost cap, the void line,
the court cap of 4 x the one-year LPR); ordinary loans keep clear of every cap that binds
them, and a self-check refuses a book whose truth is ambiguous.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from regwatch.apr import annual_rates
from regwatch.demo.base import DAY_SECONDS as _DAY_SECONDS
from regwatch.demo.base import BoolArray, DateArray, DemoError, FloatArray, IntArray
from regwatch.demo.base import Customers as _Customers
from regwatch.demo.base import Table as _Table
from regwatch.demo.base import ids as _ids
from regwatch.demo.base import iso as _iso
from regwatch.demo.base import money as _money
from regwatch.demo.base import part as _part
from regwatch.demo.base import rates as _rates
from regwatch.demo.base import round_half_up as _round_half_up
from regwatch.demo.base import stamps as _stamps
from regwatch.demo.base import table as _table
from regwatch.demo.base import to_datetime64 as _to_datetime64
from regwatch.installments import add_months

RATE_CAP_RULE = "cn.rate_caps.real_apr_above_comprehensive_cap"
COURT_CAP_RULE = "cn.rate_caps.private_lending_above_court_cap"
VOID_LINE_RULE = "cn.rate_caps.real_apr_above_void_line"
OVERDUE_RULE = "cn.rate_caps.overdue_charges_above_cap"
#: Ordinary institution-funded loans stay at or below this real APR (privately funded
#: ones half a point under the court cap of their contract date).
ORDINARY_APR_MAX = 0.22
BACK_BOOK_DAYS = 182
_PARTNERS = ("PTN-ANXIN", "PTN-HUIHE", "PTN-XINYE", "PTN-DAFENG", "PTN-ZHONGAN")


@dataclass(frozen=True)
class _Product:
    code: str
    method: str
    enterprise: bool
    rate: tuple[float, float]
    terms: tuple[int, ...]
    monthly_fee: tuple[float, float]  # share of principal per month, when the loan has a fee
    fee_share: float  # share of loans of the product that carry the monthly fee
    upfront: tuple[float, float]
    weight: float


_PRODUCTS: tuple[_Product, ...] = (
    _Product(
        "CL-EI",
        "equal_installment",
        False,
        (0.07, 0.18),
        (3, 6, 9, 12, 18, 24, 36),
        (0.0003, 0.001),
        0.4,
        (0, 0),
        0.38,
    ),
    _Product("CL-EP", "equal_principal", False, (0.06, 0.15), (6, 12, 24, 36), (0, 0), 0, (0, 0), 0.14),
    _Product(
        "CL-FLAT",
        "flat_add_on",
        False,
        (0.04, 0.075),
        (6, 12, 18, 24),
        (0.0003, 0.0015),
        0.8,
        (0.0, 0.015),
        0.26,
    ),
    _Product("CL-IF", "interest_first", False, (0.08, 0.16), (3, 6, 12), (0, 0), 0, (0, 0), 0.12),
    _Product("CL-BL", "bullet", False, (0.08, 0.15), (3, 6, 9, 12), (0, 0), 0, (0, 0), 0.10),
    _Product(
        "SME-IF",
        "interest_first",
        True,
        (0.06, 0.12),
        (6, 12, 24, 36),
        (0.0002, 0.0005),
        0.3,
        (0, 0.005),
        0.5,
    ),
    _Product("SME-EI", "equal_installment", True, (0.06, 0.12), (12, 24, 36), (0, 0), 0, (0, 0), 0.35),
    _Product("SME-BL", "bullet", True, (0.06, 0.12), (3, 6, 12), (0, 0), 0, (0, 0), 0.15),
)
# Planted rate-cap cases, by kind. Institution-funded: a high nominal rate (0) and a low
# nominal flat rate with a monthly service fee and an upfront deduction (1), both above
# the 24 % comprehensive-cost level and below 36 %; a cash loan far above the 36 % void
# line (2). Funded by individual lenders (private lending): above the court cap of the
# contract date by the nominal rate (3) or only by the real rate (4), and between the
# two caps of the demo's book, planted under the lower one (5) and a near miss under the
# higher one (6). Kind 7 (overdue charges above the cap) is chosen among ordinary loans
# once their repayments exist.
_PLANTED_PRODUCTS: dict[int, _Product] = {
    0: _Product("CL-QUICK", "equal_installment", False, (0.28, 0.33), (3, 6, 9, 12), (0, 0), 0, (0, 0), 0),
    1: _Product(
        "CL-FLEX", "flat_add_on", False, (0.09, 0.11), (6, 12, 18, 24), (0.001, 0.003), 1.0, (0.01, 0.03), 0
    ),
    2: _Product("CL-CASH", "flat_add_on", False, (0.18, 0.24), (3, 6), (0.008, 0.012), 1.0, (0.03, 0.06), 0),
    3: _Product("CL-EI", "equal_installment", False, (0.14, 0.18), (6, 9, 12, 18), (0, 0), 0, (0, 0), 0),
    4: _Product(
        "CL-FLAT", "flat_add_on", False, (0.065, 0.075), (6, 12, 18, 24), (0, 0.0005), 0.5, (0, 0.01), 0
    ),
    5: _Product("CL-EI", "equal_installment", False, (0.121, 0.123), (6, 12, 24), (0, 0), 0, (0, 0), 0),
    6: _Product("CL-EI", "equal_installment", False, (0.121, 0.123), (6, 12, 24), (0, 0), 0, (0, 0), 0),
}
_PRIVATE_KINDS = (3, 4, 5, 6)
_OVERDUE_KIND = 7
#: Real APR bands the planted kinds are settled into (lower, upper); court kinds are relative to the cap.
_KIND_BANDS: dict[int, tuple[float, float]] = {0: (0.26, 0.34), 1: (0.26, 0.34), 2: (0.38, 5.0)}
#: Daily penalty on an overdue installment's principal and interest: ordinary, and planted (art. 29).
PENALTY_DAILY = 0.0002
PLANTED_PENALTY_DAILY = 0.001
_RULES_OF_KIND: dict[int, tuple[str, ...]] = {
    0: (RATE_CAP_RULE,),
    1: (RATE_CAP_RULE,),
    2: (RATE_CAP_RULE, VOID_LINE_RULE),
    3: (COURT_CAP_RULE,),
    4: (COURT_CAP_RULE,),
    5: (COURT_CAP_RULE,),
    7: (OVERDUE_RULE,),
}
_KIND_NAMES = {
    0: "nominal_above_cap",
    1: "real_above_cap_nominal_below",
    2: "real_above_void_line",
    3: "nominal_above_court_cap",
    4: "real_above_court_cap_nominal_below",
    5: "between_caps_under_the_lower",
    6: "between_caps_under_the_higher",
    7: "overdue_charges_above_cap",
}
_METHOD_INDEX = {
    m: i
    for i, m in enumerate(("equal_installment", "equal_principal", "interest_first", "bullet", "flat_add_on"))
}
_METHOD_NAMES = tuple(_METHOD_INDEX)


@dataclass
class _Terms:
    principal: IntArray  # cents
    rate: FloatArray  # nominal, 4 places
    term: IntArray
    method: IntArray
    fee: IntArray  # monthly fee, cents
    upfront: IntArray  # cents
    disbursed: DateArray


@dataclass
class _Schedule:
    """Installment matrices (loan x installment), zero beyond a loan's last installment."""

    count: IntArray
    due: DateArray
    principal: IntArray
    interest: IntArray
    fee: IntArray


def _schedule(t: _Terms) -> _Schedule:
    """The contractual schedule, exactly from the terms: cents rounded half up, the last absorbs."""
    n_loans = len(t.principal)
    bullet = t.method == _METHOD_INDEX["bullet"]
    count = np.where(bullet, 1, t.term).astype(np.int64)
    width = int(count.max()) if n_loans else 1
    p = t.principal.astype(np.float64)
    i = t.rate / 12.0
    n = t.term.astype(np.float64)
    annuity = _round_half_up(p * i / (1.0 - (1.0 + i) ** -n))
    level_principal = _round_half_up(p / n)
    flat_interest = _round_half_up(p * i)
    principal = np.zeros((n_loans, width), np.int64)
    interest = np.zeros((n_loans, width), np.int64)
    fee = np.zeros((n_loans, width), np.int64)
    balance = t.principal.copy()
    m = t.method
    for k in range(1, width + 1):
        active = k <= count
        last = k == count
        on_balance = _round_half_up(balance * i)
        pay_principal = np.select(
            [
                m == _METHOD_INDEX["equal_installment"],
                m == _METHOD_INDEX["equal_principal"],
                m == _METHOD_INDEX["flat_add_on"],
            ],
            [annuity - on_balance, level_principal, level_principal],
            0,
        )
        pay_principal = np.where(last, balance, np.minimum(pay_principal, balance))
        pay_interest = np.select(
            [m == _METHOD_INDEX["flat_add_on"], m == _METHOD_INDEX["interest_first"], bullet],
            [flat_interest, flat_interest, _round_half_up(p * t.rate * n / 12.0)],
            on_balance,
        )
        pay_fee = np.where(bullet, t.fee * t.term, t.fee)
        principal[:, k - 1] = np.where(active, pay_principal, 0)
        interest[:, k - 1] = np.where(active, pay_interest, 0)
        fee[:, k - 1] = np.where(active, pay_fee, 0)
        balance = balance - principal[:, k - 1]
    offsets = np.where(bullet[:, None], t.term[:, None], np.arange(1, width + 1)[None, :])
    due = add_months(np.repeat(t.disbursed[:, None], width, axis=1), offsets)
    return _Schedule(count, due, principal, interest, fee)


def _draw_terms(
    rng: np.random.Generator, products: Sequence[_Product], which: IntArray, contract: IntArray
) -> _Terms:
    n = len(which)
    rate = np.zeros(n)
    term = np.zeros(n, np.int64)
    fee_rate = np.zeros(n)
    upfront_rate = np.zeros(n)
    enterprise = np.zeros(n, np.bool_)
    method = np.zeros(n, np.int64)
    u_rate, u_fee, u_up, u_has = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    term_pick = rng.integers(0, 1 << 30, n)
    for k, product in enumerate(products):
        sel = which == k
        lo, hi = product.rate
        rate[sel] = lo + (hi - lo) * u_rate[sel]
        term[sel] = np.array(product.terms, np.int64)[term_pick[sel] % len(product.terms)]
        flo, fhi = product.monthly_fee
        fee_rate[sel] = np.where(u_has[sel] < product.fee_share, flo + (fhi - flo) * u_fee[sel], 0.0)
        ulo, uhi = product.upfront
        upfront_rate[sel] = ulo + (uhi - ulo) * u_up[sel]
        enterprise[sel] = product.enterprise
        method[sel] = _METHOD_INDEX[product.method]
    rate = np.round(rate, 4)
    personal = np.clip(np.exp(rng.normal(math.log(25_000), 0.9, n)), 1_000, 200_000)
    business = np.clip(np.exp(rng.normal(math.log(600_000), 0.7, n)), 200_000, 3_000_000)
    principal = np.where(
        enterprise, np.round(business / 1000) * 100_000, np.round(personal / 100) * 10_000
    ).astype(np.int64)
    fee = _round_half_up(principal * fee_rate)
    upfront = _round_half_up(principal * upfront_rate)
    disbursed = _to_datetime64(contract)
    return _Terms(principal, rate, term, method, fee, upfront, disbursed)


def _read_seed(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError as error:
        raise DemoError(f"cannot read the reference seed {path}: {error.strerror}") from error


def _cap_lines(reference_dir: Path, contract: IntArray) -> dict[str, FloatArray]:
    """Each cap line in force on each contract date (ordinals), from the seeds the pipeline uses."""
    far = date.max.toordinal()
    lpr = np.full(len(contract), np.nan)
    for row in _read_seed(reference_dir / "lpr_one_year_rates.csv"):
        low = date.fromisoformat(row["valid_from"]).toordinal()
        high = date.fromisoformat(row["valid_to"]).toordinal() if row["valid_to"] else far
        lpr[(contract >= low) & (contract < high)] = float(row["rate_percent"]) / 100
    lines: dict[str, FloatArray] = {}
    for row in _read_seed(reference_dir / "rate_cap_policies.csv"):
        low = date.fromisoformat(row["valid_from"]).toordinal()
        high = date.fromisoformat(row["valid_to"]).toordinal() if row["valid_to"] else far
        sel = (contract >= low) & (contract < high)
        value = float(row["fixed_rate"]) if row["cap_kind"] == "fixed" else float(row["multiplier"]) * lpr
        line = lines.setdefault(row["cap_name"], np.full(len(contract), np.nan))
        line[sel] = value[sel] if isinstance(value, np.ndarray) else value
    return lines


def _aprs(t: _Terms, s: _Schedule) -> FloatArray:
    """Real APR (cn_irr, simple) of every loan, by regwatch.apr's vectorised engine."""
    n_loans, width = s.principal.shape
    if n_loans == 0:
        return np.zeros(0)
    keep = np.concatenate(
        [np.ones((n_loans, 1), np.bool_), np.arange(1, width + 1)[None, :] <= s.count[:, None]], axis=1
    )
    days = np.concatenate([t.disbursed[:, None], s.due], axis=1).astype("datetime64[D]")
    amounts = np.concatenate(
        [(t.principal - t.upfront)[:, None] / 100.0, -(s.principal + s.interest + s.fee) / 100.0], axis=1
    )
    loan = np.repeat(np.arange(n_loans), keep.sum(axis=1))
    rates = annual_rates(loan, days[keep], amounts[keep], "cn_irr", workers=1)
    if rates.error.any():
        raise AssertionError(f"generated loans without a real APR: {np.flatnonzero(rates.error)[:5]}")
    return rates.annual_rate


def _settle_aprs(
    t: _Terms, planted: BoolArray, lower: FloatArray, upper: FloatArray
) -> tuple[_Schedule, FloatArray]:
    """Adjust terms until every loan's real APR sits inside its band, 0.5 point clear of both ends."""
    s = _schedule(t)
    apr = _aprs(t, s)
    margin = 0.005
    equal = t.method == _METHOD_INDEX["equal_installment"]
    for _ in range(12):
        too_high = apr > upper - margin
        too_low = apr < lower + margin
        if not too_high.any() and not too_low.any():
            break
        plain = too_high & ~planted
        t.rate[plain] = np.round(np.maximum(t.rate[plain] - 0.03, 0.04), 4)
        t.fee[plain] = 0
        t.upfront[plain] = 0
        softer = too_high & planted
        t.fee[softer] = _round_half_up(t.fee[softer] * 0.7)
        t.upfront[softer] = _round_half_up(t.upfront[softer] * 0.7)
        t.rate[softer & equal] = np.round(t.rate[softer & equal] - 0.01, 4)
        nominal = too_low & equal
        t.rate[nominal] = np.round(np.minimum(t.rate[nominal] + 0.03, 0.36), 4)
        flat = too_low & ~equal
        t.fee[flat] = _round_half_up(t.fee[flat] * 1.3 + t.principal[flat] * 0.0005)
        s = _schedule(t)
        apr = _aprs(t, s)
    wrong = np.flatnonzero((apr > upper) | (apr < lower))
    if len(wrong):
        j = int(wrong[0])
        raise AssertionError(f"loan {j}: real APR {apr[j]:.4f} outside [{lower[j]:.4f}, {upper[j]:.4f}]")
    return s, apr


def _choose(rng: np.random.Generator, eligible: BoolArray, count: int, new: BoolArray) -> IntArray:
    """``count`` eligible loans, half from new days where there are some, the rest from the back book."""
    fresh = np.flatnonzero(eligible & new)
    old = np.flatnonzero(eligible & ~new)
    from_new = min(len(fresh), count // 2 if len(old) else count)
    picked = [rng.choice(fresh, from_new, replace=False)] if from_new else []
    rest = min(len(old), count - from_new)
    if rest:
        picked.append(rng.choice(old, rest, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64) if picked else np.zeros(0, np.int64)


@dataclass
class _Book:
    tables: dict[str, _Table]
    truth: list[tuple[str, str, str, str, str, str]]
    near: list[tuple[str, str, str, str, str, str]]


@dataclass
class _LoanDraw:
    """The loan book as it is drawn, step by step (one array entry per loan unless named otherwise)."""

    days: Sequence[date]
    day_ords: IntArray
    contract: IntArray  # contract date, ordinal
    folder: IntArray  # the day index the loan is first delivered on
    new: BoolArray  # drawn on a day of the platform (not the back book)
    lines: dict[str, FloatArray]  # the rate caps in force on each contract date
    kind: IntArray  # planted kind (-1: ordinary)
    per_kind: int  # loans planted of each kind
    enterprise: BoolArray
    private: BoolArray  # funded by individual lenders
    products: list[_Product]
    which: IntArray  # index into products
    terms: _Terms
    sched: _Schedule
    apr: FloatArray
    loan_ids: list[str]
    updated: IntArray  # the first version's updated_at, seconds
    base_columns: dict[str, list[str]]

    @property
    def n_loans(self) -> int:
        return len(self.contract)

    @property
    def planted(self) -> BoolArray:
        return self.kind >= 0


@dataclass
class _InstallmentRows:
    """The schedule flattened to one row per installment."""

    row_loan: IntArray
    row_k: IntArray  # installment index (0-based)
    due_ord: IntArray
    principal: IntArray
    interest: IntArray
    fee: IntArray


@dataclass
class _Payments:
    """What was paid, when and delivered on which day, per installment due by the last day."""

    behaviour: IntArray  # per loan: 0 pays, 1 stops paying, 2 defaults
    miss_from: IntArray  # per loan: the first installment missed
    r_loan: IntArray
    r_folder: IntArray
    paid_at: IntArray
    keep: BoolArray  # paid and delivered within the platform
    late: IntArray  # days late
    charged_late: BoolArray
    overdue_base: IntArray
    penalty: IntArray  # cents
    guarantor: BoolArray  # paid by the guarantor
    r_no: IntArray  # installment number
    due_rows: BoolArray  # which installment rows fall due by the last day


def loan_book(
    rng: np.random.Generator,
    n_loans: int,
    days: Sequence[date],
    cust: _Customers,
    reference_dir: Path,
) -> _Book:
    """Back book (6 months before the start, delivered on day 1) and new loans every day."""
    draw = _draw_loans(rng, n_loans, days, cust, reference_dir)
    rows = _installment_rows(draw.sched)
    schedules = _part(
        "schedules",
        {
            "loan_id": [draw.loan_ids[j] for j in rows.row_loan.tolist()],
            "installment_no": [str(k + 1) for k in rows.row_k.tolist()],
            "due_date": _iso(rows.due_ord),
            "principal_due": _money(rows.principal),
            "interest_due": _money(rows.interest),
            "fee_due": _money(rows.fee),
        },
        draw.folder[rows.row_loan],
        draw.planted[rows.row_loan],
    )
    fundings = _fundings(rng, draw)
    payments = _payments(rng, draw, rows)
    repayments = _repayments_part(draw, rows, payments)
    schedules.protected = draw.planted[rows.row_loan]
    loans_table = _loan_versions(rng, draw, payments)
    truth, near = _rate_cap_truth(draw, payments)
    return _Book(
        {"loans": loans_table, "schedules": schedules, "fundings": fundings, "repayments": repayments},
        truth,
        near,
    )


def _draw_loans(
    rng: np.random.Generator, n_loans: int, days: Sequence[date], cust: _Customers, reference_dir: Path
) -> _LoanDraw:
    """Contract dates, planted rate-cap kinds, products, terms, real APRs, borrowers: the loans'
    first versions."""
    n_days = len(days)
    start_ord = days[0].toordinal()
    day_ords = np.array([d.toordinal() for d in days], np.int64)
    back_share = min(0.7, max(0.3, 130 / (130 + n_days)))
    n_back = round(n_loans * back_share) if n_loans > 1 else n_loans
    n_new = n_loans - n_back
    new_day = np.sort(rng.integers(0, n_days, n_new)) if n_new else np.zeros(0, np.int64)
    contract = np.concatenate(
        [np.sort(rng.integers(start_ord - BACK_BOOK_DAYS, start_ord, n_back)), day_ords[new_day]]
    ).astype(np.int64)
    folder = np.concatenate([np.zeros(n_back, np.int64), new_day]).astype(np.int64)
    back = np.arange(n_loans) < n_back

    # Planted rate-cap loans of every kind, in the back book and on new days.
    new = ~back
    lines = _cap_lines(reference_dir, contract)
    court = lines["court_cap"]
    kind = np.full(n_loans, -1, np.int64)
    per_kind = max(2, round(n_loans * 0.004)) if n_loans >= 50 else int(n_loans >= 10)
    low_cap, high_cap = float(np.nanmin(court)), float(np.nanmax(court))
    between_caps = high_cap - low_cap >= 0.002  # the book spans a change of the court cap
    for k in _PLANTED_PRODUCTS:
        if k in (5, 6) and not between_caps:
            continue
        eligible = kind < 0
        if k == 5:
            eligible &= court <= low_cap + 1e-12
        if k == 6:
            eligible &= court >= high_cap - 1e-12
        kind[_choose(rng, eligible, per_kind, new)] = k
    planted = kind >= 0

    # Products: enterprises borrow through SME products (and only entities are enterprises).
    has_entity = bool(cust.is_entity[cust.open_day == 0].any())
    has_person = bool((~cust.is_entity[cust.open_day == 0]).any())
    enterprise = (rng.random(n_loans) < 0.08) & ~planted & has_entity
    if not has_person:
        enterprise = ~planted
    # Private lending: loans funded by individual lenders (never an enterprise's here).
    private = np.isin(kind, _PRIVATE_KINDS) | ((kind < 0) & ~enterprise & (rng.random(n_loans) < 0.3))
    products = [*_PRODUCTS, *_PLANTED_PRODUCTS.values()]
    personal = [k for k, p in enumerate(_PRODUCTS) if not p.enterprise]
    sme = [k for k, p in enumerate(_PRODUCTS) if p.enterprise]
    weights_p = np.array([_PRODUCTS[k].weight for k in personal])
    weights_s = np.array([_PRODUCTS[k].weight for k in sme])
    which = np.where(
        enterprise,
        np.array(sme)[rng.choice(len(sme), n_loans, p=weights_s / weights_s.sum())],
        np.array(personal)[rng.choice(len(personal), n_loans, p=weights_p / weights_p.sum())],
    )
    which = np.where(planted, len(_PRODUCTS) + kind, which)
    disbursal_lag = np.where(back, rng.integers(0, 2, n_loans), 0)
    disbursed_ord = np.minimum(contract + disbursal_lag, np.where(back, start_ord - 1, contract))
    terms = _draw_terms(rng, products, which.astype(np.int64), disbursed_ord)
    # Real APR bands: ordinary loans clear of every cap that binds them, planted ones above.
    lower = np.zeros(n_loans)
    upper = np.where(private, court - 0.005, ORDINARY_APR_MAX)
    for k, (lo, hi) in _KIND_BANDS.items():
        lower[kind == k], upper[kind == k] = lo, hi
    above_court = np.isin(kind, (3, 4))
    lower[above_court], upper[above_court] = court[above_court] + 0.005, ORDINARY_APR_MAX
    fixed = np.isin(kind, (5, 6))  # equal installments without fees: the real APR is the nominal rate
    lower[fixed], upper[fixed] = -np.inf, np.inf
    sched, apr = _settle_aprs(terms, planted, lower, upper)
    between = (apr[fixed] > low_cap + 0.0005) & (apr[fixed] < high_cap - 0.0005)
    if not between.all():
        raise AssertionError(f"loans {np.flatnonzero(fixed)[~between]}: real APR not between the two caps")

    # Borrowers from the customers present on day 1, by type.
    people = np.flatnonzero(~cust.is_entity & (cust.open_day == 0))
    firms = np.flatnonzero(cust.is_entity & (cust.open_day == 0))
    borrower = np.where(
        enterprise,
        firms[rng.integers(0, max(1, len(firms)), n_loans) % max(1, len(firms))] if len(firms) else 0,
        people[rng.integers(0, max(1, len(people)), n_loans) % max(1, len(people))] if len(people) else 0,
    ).astype(np.int64)

    loan_ids = _ids("L", np.arange(1, n_loans + 1, dtype=np.int64), 8)
    updated = disbursed_ord * _DAY_SECONDS + rng.integers(9 * 3600, 21 * 3600, n_loans)
    partner_pick = rng.integers(0, len(_PARTNERS), n_loans)
    partner = [
        "" if blank else _PARTNERS[k]
        for k, blank in zip(partner_pick.tolist(), (rng.random(n_loans) < 0.3).tolist(), strict=True)
    ]
    related = (rng.random(n_loans) < 0.01).tolist()
    base_columns: dict[str, list[str]] = {
        "loan_id": loan_ids,
        "borrower_id": [cust.ids[b] for b in borrower.tolist()],
        "borrower_type": ["enterprise" if e else "individual" for e in enterprise.tolist()],
        "product_code": [products[k].code for k in which.tolist()],
        "partner_id": partner,
        "is_related_party": ["true" if r else "false" for r in related],
        "contract_date": _iso(contract),
        "disbursement_date": _iso(disbursed_ord),
        "principal": _money(terms.principal),
        "currency": ["CNY"] * n_loans,
        "term_months": [str(v) for v in terms.term.tolist()],
        "repayment_method": [_METHOD_NAMES[k] for k in terms.method.tolist()],
        "nominal_rate": _rates(terms.rate, 6),
        "upfront_fee": _money(terms.upfront),
        "status": ["active"] * n_loans,
        "written_off_date": [""] * n_loans,
        "updated_at": _stamps(updated),
    }
    return _LoanDraw(
        days=days,
        day_ords=day_ords,
        contract=contract,
        folder=folder,
        new=new,
        lines=lines,
        kind=kind,
        per_kind=per_kind,
        enterprise=enterprise,
        private=private,
        products=products,
        which=which,
        terms=terms,
        sched=sched,
        apr=apr,
        loan_ids=loan_ids,
        updated=updated,
        base_columns=base_columns,
    )


def _installment_rows(sched: _Schedule) -> _InstallmentRows:
    width = sched.principal.shape[1]
    mask = np.arange(1, width + 1)[None, :] <= sched.count[:, None]
    row_loan, row_k = np.nonzero(mask)
    due_ord = (sched.due.astype(np.int64) + date(1970, 1, 1).toordinal())[row_loan, row_k]
    return _InstallmentRows(
        row_loan,
        row_k,
        due_ord,
        sched.principal[row_loan, row_k],
        sched.interest[row_loan, row_k],
        sched.fee[row_loan, row_k],
    )


def _fundings(rng: np.random.Generator, draw: _LoanDraw) -> _Table:
    """1-5 funders per loan whose amounts add up to the principal."""
    n_loans = draw.n_loans
    principal = draw.terms.principal
    n_funders = np.where(draw.enterprise, rng.integers(1, 4, n_loans), rng.integers(1, 6, n_loans))
    f_loan = np.repeat(np.arange(n_loans), n_funders)
    weights = rng.uniform(0.2, 1.0, len(f_loan))
    share_total = np.bincount(f_loan, weights, n_loans)
    amount = np.floor(principal[f_loan] * weights / share_total[f_loan]).astype(np.int64)
    last_of = np.cumsum(n_funders) - 1
    amount[last_of] += principal - np.bincount(f_loan, amount, n_loans).astype(np.int64)
    institution = ~draw.private[f_loan]
    n_lenders = max(50, n_loans // 10)
    funder = np.where(
        institution, rng.integers(1, 13, len(f_loan)), rng.integers(1, n_lenders + 1, len(f_loan))
    )
    funded = draw.updated[f_loan] - rng.integers(60, 6 * 3600, len(f_loan))
    return _part(
        "fundings",
        {
            "funding_id": _ids("FD", np.arange(1, len(f_loan) + 1, dtype=np.int64), 9),
            "loan_id": [draw.loan_ids[j] for j in f_loan.tolist()],
            "funder_id": [
                f"INST{f:03d}" if inst else f"LND{f:06d}"
                for f, inst in zip(funder.tolist(), institution.tolist(), strict=True)
            ],
            "funder_type": ["institution" if i else "individual_lender" for i in institution.tolist()],
            "amount": _money(amount),
            "funded_at": _stamps(funded),
        },
        draw.folder[f_loan],
        draw.planted[f_loan],
    )


def _payments(rng: np.random.Generator, draw: _LoanDraw, rows: _InstallmentRows) -> _Payments:
    """Behaviour: most pay, some stop paying (some of those compensated by the guarantor), a few
    default; penalties by day late, and a few ordinary late payers charged far above the cap
    (overdue charges above the cap, art. 29: planted here, ``draw.kind`` updated)."""
    n_loans, n_days = draw.n_loans, len(draw.days)
    sched = draw.sched
    end_ord = draw.days[-1].toordinal()
    chance = rng.random(n_loans)
    behaviour = np.where(draw.planted, 0, np.where(chance < 0.86, 0, np.where(chance < 0.95, 1, 2)))
    miss_from = 1 + (
        rng.random(n_loans) * np.where(behaviour == 2, np.minimum(sched.count, 3), sched.count)
    ).astype(np.int64)
    compensated = rng.random(n_loans) < 0.35
    due_rows = rows.due_ord <= end_ord
    r_loan = rows.row_loan[due_rows]
    r_no = rows.row_k[due_rows] + 1
    r_due = rows.due_ord[due_rows]
    missed = (behaviour[r_loan] > 0) & (r_no >= miss_from[r_loan])
    guarantor = missed & (behaviour[r_loan] == 1) & compensated[r_loan]
    pays = ~missed | guarantor
    late = np.where(rng.random(len(r_loan)) < 0.15, rng.integers(1, 26, len(r_loan)), 0)
    late = np.where(guarantor, 30, np.where(missed, 0, late))
    paid_ord = r_due + late
    paid_at = paid_ord * _DAY_SECONDS + rng.integers(7 * 3600, 23 * 3600, len(r_loan))
    r_folder = np.searchsorted(draw.day_ords, paid_ord, side="left")
    r_folder = np.maximum(r_folder, draw.folder[r_loan])
    keep = pays & (r_folder < n_days)
    overdue_base = (rows.principal + rows.interest)[due_rows]
    charged_late = keep & (late > 0) & ~guarantor
    has_late = np.zeros(n_loans, np.bool_)
    has_late[r_loan[charged_late]] = True
    draw.kind[_choose(rng, has_late & (draw.kind < 0), draw.per_kind, draw.new)] = _OVERDUE_KIND
    daily = np.where(draw.kind[r_loan] == _OVERDUE_KIND, PLANTED_PENALTY_DAILY, PENALTY_DAILY)
    penalty = np.where(guarantor, 0, _round_half_up(overdue_base * daily * late))
    return _Payments(
        behaviour=behaviour,
        miss_from=miss_from,
        r_loan=r_loan,
        r_folder=r_folder,
        paid_at=paid_at,
        keep=keep,
        late=late,
        charged_late=charged_late,
        overdue_base=overdue_base,
        penalty=penalty,
        guarantor=guarantor,
        r_no=r_no,
        due_rows=due_rows,
    )


def _repayments_part(draw: _LoanDraw, rows: _InstallmentRows, pay: _Payments) -> _Table:
    """The payments kept, in delivery order (day, then time)."""
    k_idx = np.flatnonzero(pay.keep)
    order = k_idx[np.lexsort((pay.paid_at[k_idx], pay.r_folder[k_idx]))]
    s_rows = np.flatnonzero(pay.due_rows)[order]
    return _part(
        "repayments",
        {
            "payment_id": _ids("PY", np.arange(1, len(order) + 1, dtype=np.int64), 10),
            "loan_id": [draw.loan_ids[j] for j in pay.r_loan[order].tolist()],
            "paid_at": _stamps(pay.paid_at[order]),
            "installment_no": [str(v) for v in pay.r_no[order].tolist()],
            "principal_paid": _money(rows.principal[s_rows]),
            "interest_paid": _money(rows.interest[s_rows]),
            "fee_paid": _money(rows.fee[s_rows]),
            "penalty_paid": _money(pay.penalty[order]),
            "payer_type": ["guarantor" if g else "borrower" for g in pay.guarantor[order].tolist()],
        },
        pay.r_folder[order],
        draw.planted[pay.r_loan[order]],
    )


def _loan_versions(rng: np.random.Generator, draw: _LoanDraw, pay: _Payments) -> _Table:
    """Status versions: settled when every installment is paid and delivered; written off 90+ days
    after the first missed installment."""
    n_loans, n_days = draw.n_loans, len(draw.days)
    sched, planted, folder = draw.sched, draw.planted, draw.folder
    keep, r_loan = pay.keep, pay.r_loan
    delivered = np.bincount(r_loan[keep], minlength=n_loans)
    last_paid = np.full(n_loans, -1, np.int64)
    np.maximum.at(last_paid, r_loan[keep], pay.paid_at[keep])
    last_folder = np.zeros(n_loans, np.int64)
    np.maximum.at(last_folder, r_loan[keep], pay.r_folder[keep])
    settled = (delivered == sched.count) & (pay.behaviour != 2)
    first_missed_due = (sched.due.astype(np.int64) + date(1970, 1, 1).toordinal())[
        np.arange(n_loans), np.minimum(pay.miss_from, sched.count) - 1
    ]
    off_ord = first_missed_due + 90 + rng.integers(0, 31, n_loans)
    off_folder = np.maximum(np.searchsorted(draw.day_ords, off_ord, side="left"), folder)
    written_off = (pay.behaviour == 2) & (off_folder < n_days)
    versions: list[_Table] = [_part("loans", draw.base_columns, folder, planted)]
    for flag, status, when, where in (
        (settled, "settled", last_paid + 3600, last_folder),
        (
            written_off,
            "written_off",
            off_ord * _DAY_SECONDS + rng.integers(8 * 3600, 20 * 3600, n_loans),
            off_folder,
        ),
    ):
        idx = np.flatnonzero(flag)
        if not len(idx):
            continue
        cols = {c: [v[j] for j in idx.tolist()] for c, v in draw.base_columns.items()}
        cols["status"] = [status] * len(idx)
        if status == "written_off":
            cols["written_off_date"] = _iso(off_ord[idx])
        cols["updated_at"] = _stamps(np.maximum(when[idx], draw.updated[idx] + 60))
        versions.append(_part("loans", cols, where[idx], planted[idx]))
    loans_table = _table("loans", versions)
    order_l = np.lexsort((np.arange(len(loans_table)), loans_table.day))
    return _reorder(loans_table, order_l)


def _rate_cap_truth(
    draw: _LoanDraw, pay: _Payments
) -> tuple[list[tuple[str, str, str, str, str, str]], list[tuple[str, str, str, str, str, str]]]:
    """What each loan must trip, from its real APR and overdue charges against the caps of its
    contract date; it must be exactly what was planted, clear of every line."""
    n_loans, n_days = draw.n_loans, len(draw.days)
    lines, court, kind, apr, terms = draw.lines, draw.lines["court_cap"], draw.kind, draw.apr, draw.terms
    keep, r_loan = pay.keep, pay.r_loan
    lines_of = {
        RATE_CAP_RULE: lines["comprehensive_cap"],
        VOID_LINE_RULE: lines["void_line"],
        COURT_CAP_RULE: np.where(draw.private, court, np.nan),
    }
    overdue_days = np.bincount(r_loan[keep], (pay.overdue_base * pay.late)[keep], n_loans)
    overdue_paid = np.bincount(r_loan[keep], pay.penalty[keep], n_loans) / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        overdue_rate = np.where(overdue_days > 0, overdue_paid * 365 / (overdue_days / 100.0), np.nan)
    lines_of[OVERDUE_RULE] = np.where(draw.private, court, lines["comprehensive_cap"])
    measured = {rule: overdue_rate if rule == OVERDUE_RULE else apr for rule in lines_of}
    first_late = np.full(n_loans, n_days, np.int64)
    np.minimum.at(first_late, r_loan[pay.charged_late], pay.r_folder[pay.charged_late])
    truth: list[tuple[str, str, str, str, str, str]] = []
    near: list[tuple[str, str, str, str, str, str]] = []
    for rule, line in lines_of.items():
        value = measured[rule]
        with np.errstate(invalid="ignore"):
            fires = value > line
            close = np.abs(value - line) < 0.0004
        expected = np.isin(kind, [k for k, rules in _RULES_OF_KIND.items() if rule in rules])
        if (fires != expected).any() or close.any():
            j = int(np.flatnonzero((fires != expected) | close)[0])
            raise AssertionError(f"{rule}: loan {j} (kind {kind[j]}) at {value[j]:.5f} against {line[j]:.5f}")
        for j in np.flatnonzero(fires | ((kind == 6) & (rule == COURT_CAP_RULE))).tolist():
            day = first_late[j] if rule == OVERDUE_RULE else draw.folder[j]
            detail = (
                f"overdue_charge_rate={value[j]:.6f}; cap={line[j]:.6f}"
                if rule == OVERDUE_RULE
                else f"nominal_rate={terms.rate[j]:.6f}; real_apr={apr[j]:.6f}; cap={line[j]:.6f}"
                f"; method={_METHOD_NAMES[terms.method[j]]}; upfront_fee={int(terms.upfront[j]) / 100:.2f}"
                f"; monthly_fee={int(terms.fee[j]) / 100:.2f}"
            )
            row = (
                "",
                rule,
                draw.loan_ids[j],
                draw.days[int(day)].isoformat(),
                _KIND_NAMES[int(kind[j])],
                detail,
            )
            (truth if fires[j] else near).append(row)
    return truth, near


def _reorder(t: _Table, order: IntArray) -> _Table:
    idx = order.tolist()
    return _Table(
        t.name, {c: [v[i] for i in idx] for c, v in t.columns.items()}, t.day[order], t.protected[order]
    )
