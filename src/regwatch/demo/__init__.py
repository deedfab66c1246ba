"""Synthetic online-lending platform with ground truth: the embedded demo and the test bed.

:func:`generate` writes one landing folder per business day (the seven required
files of :mod:`regwatch.contract`) and ``_truth/`` next to them: the planted cases
that must fire (``planted.csv``), the near misses that must not
(``near_misses.csv``), every malformed row (``malformed.csv``), file-level
quirks (``file_issues.csv``), the AMLworld laundering attempts (``patterns.csv``) and
their benign look-alikes (``benign.csv``, see :mod:`regwatch.demo.laundering`). The pipeline never reads ``_truth/``.

Everything is drawn from ``numpy.random.default_rng(seed)`` in a fixed order and
written as bytes, so the same arguments give byte-identical files. Work is
vectorised over loans, schedule rows and transactions; per-day loops are over
days, never over rows of another day.

Thresholds come from REGULATION.md and the pipeline's own reference seeds: the rate
caps in force on each loan's contract date (the 24 % comprehensive-cost level, the 36 %
void line, and for loans funded by individual lenders the court cap, 4 x the one-year
LPR since 2020-08-20), and the four large-value lines of PBOC Order [2016] No. 3 art. 5
per customer, day and direction (:data:`LARGE_VALUE_RULES`, lines read from the pack by
:mod:`regwatch.demo.calibration`: CNY legs against the CNY line, foreign legs at their USD
equivalent against the USD line). Ordinary data keeps
well clear of every line (real APR <= 22 %, or half a point under the court cap;
penalties of 0.02 % a day; cash < CNY 45,000, cross-border transfers < CNY 60,000,
transfers < CNY 400,000 per customer-day-direction); planted cases sit well above,
exactly on, or one cent under the line, and a self-check refuses to write a platform
whose truth is ambiguous. One day's HKD rate is withheld (``cn.aml.missing_fx_rate``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from regwatch.apr import annual_rates
from regwatch.contract import CONTRACTS, REQUIRED_FILES
from regwatch.demo.base import DAY_SECONDS as _DAY_SECONDS
from regwatch.demo.base import Customers as _Customers
from regwatch.demo.base import Table as _Table
from regwatch.demo.base import iso as _iso
from regwatch.demo.base import part as _part
from regwatch.demo.base import person_names as _person_names
from regwatch.demo.base import stamps as _stamps
from regwatch.demo.base import table as _table
from regwatch.demo.calibration import Calibration
from regwatch.demo.calibration import load as load_calibration
from regwatch.demo.disclosures import disclosure_truth
from regwatch.installments import add_months

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

RATE_CAP_RULE = "cn.rate_caps.real_apr_above_comprehensive_cap"
COURT_CAP_RULE = "cn.rate_caps.private_lending_above_court_cap"
VOID_LINE_RULE = "cn.rate_caps.real_apr_above_void_line"
OVERDUE_RULE = "cn.rate_caps.overdue_charges_above_cap"
LARGE_CASH_RULE = "cn.aml.large_cash"
ENTITY_TRANSFER_RULE = "cn.aml.large_entity_transfer"
DOMESTIC_TRANSFER_RULE = "cn.aml.large_individual_domestic_transfer"
CROSS_BORDER_TRANSFER_RULE = "cn.aml.large_individual_cross_border_transfer"
MISSING_FX_RULE = "cn.aml.missing_fx_rate"
#: Ordinary institution-funded loans stay at or below this real APR (privately funded
#: ones half a point under the court cap of their contract date).
ORDINARY_APR_MAX = 0.22
#: PBOC Order [2016] No. 3 art. 5 (1)-(4): the large-value categories and the rule of each;
#: their CNY and USD lines are the pack's (:meth:`Calibration.large_value_line`).
LARGE_VALUE_RULES: dict[str, str] = {
    "cash": LARGE_CASH_RULE,
    "entity_transfer": ENTITY_TRANSFER_RULE,
    "individual_domestic_transfer": DOMESTIC_TRANSFER_RULE,
    "individual_cross_border_transfer": CROSS_BORDER_TRANSFER_RULE,
}
#: Ordinary cash per customer, day and direction stays below this (in CNY cents).
ORDINARY_CASH_CAP_CENTS = 4_500_000
#: Ordinary cross-border transfers per customer, day and direction (CNY cents): under USD
#: 8,500 at any USD rate of the walk (7.1-7.3), clear of the USD 10,000 line of art. 5(4).
ORDINARY_CROSS_BORDER_CAP_CENTS = 6_000_000
#: Ordinary account transfers per customer, day and direction (CNY cents), clear of art. 5(3).
ORDINARY_TRANSFER_CAP_CENTS = 40_000_000
#: The currency whose rate is not delivered on one day of a platform of 3 days or more.
MISSING_RATE_CURRENCY = "HKD"
BAD_INPUT_CLASSES: tuple[str, ...] = (
    "wrong_type",
    "missing_required",
    "negative_amount",
    "unknown_enum",
    "duplicate_key",
    "unparseable_date",
    "unknown_currency",
    "invalid_utf8",
)
FX_CURRENCIES: tuple[str, ...] = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY")
TRUTH_COLUMNS = ("case_id", "rule_id", "entity_key", "business_date", "kind", "detail")
MALFORMED_COLUMNS = ("file", "business_date", "row_number", "bad_input_class", "column")
FILE_ISSUE_COLUMNS = ("file", "business_date", "issue", "column")
BACK_BOOK_DAYS = 182
# Lone surrogates encode (surrogateescape) to the raw bytes 0xff 0xfe: invalid UTF-8.
_INVALID_UTF8 = "\udcff\udcfe"


class DemoError(ValueError):
    """The arguments describe no platform (e.g. no business day in the range)."""


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    business_dates: tuple[date, ...]
    files_written: int
    rows_written: dict[str, int]
    planted: int
    malformed: int


def business_days(start: date, end: date) -> list[date]:
    """Monday to Friday from ``start`` to ``end`` inclusive (no holiday calendar)."""
    days: list[date] = []
    current = start
    while current <= end:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days


# --------------------------------------------------------------------------- formatting


def _money(cents: IntArray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def _ids(prefix: str, numbers: IntArray, width: int) -> list[str]:
    return [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]


def _rates(values: FloatArray, places: int) -> list[str]:
    return [f"{v:.{places}f}" for v in values.tolist()]


def _round_half_up(x: npt.NDArray[np.floating[Any]] | npt.NDArray[np.int64]) -> IntArray:
    result: IntArray = np.floor(x + 0.5).astype(np.int64)
    return result


def _to_datetime64(ordinals: IntArray) -> DateArray:
    epoch = date(1970, 1, 1).toordinal()
    return (ordinals - epoch).astype("datetime64[D]")


# --------------------------------------------------------------------------- tables


# --------------------------------------------------------------------------- reference pools

_CITIES = [
    "Beijing",
    "Shanghai",
    "Shenzhen",
    "Hangzhou",
    "Guangzhou",
    "Chengdu",
    "Wuhan",
    "Nanjing",
    "Suzhou",
    "Xiamen",
]
_TRADE_NAMES = [
    "Huaxin",
    "Ruifeng",
    "Jinding",
    "Hengtai",
    "Zhongyuan",
    "Xinda",
    "Tianrui",
    "Baoli",
    "Kangda",
    "Yuanhang",
]
_BUSINESSES = ("Trading", "Technology", "Logistics", "Catering", "Textile", "Electronics", "Agriculture")
_AREA_CODES = [
    "110101",
    "110105",
    "310101",
    "310115",
    "440103",
    "440305",
    "440106",
    "330102",
    "330106",
    "320102",
    "320505",
    "510104",
    "420102",
    "430102",
    "610103",
    "370102",
    "350203",
    "500103",
    "120101",
    "210102",
]
_LANDLINE = ("010", "021", "0755", "0571", "020", "028")
_FOREIGN_COUNTRIES = ("HK", "SG", "US", "GB", "JP", "DE", "AU", "MO")
_PARTNERS = ("PTN-ANXIN", "PTN-HUIHE", "PTN-XINYE", "PTN-DAFENG", "PTN-ZHONGAN")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _resident_id(area: str, birth: date, sequence: int) -> str:
    """An 18-character PRC resident ID (GB 11643) with its ISO 7064 MOD 11-2 check character."""
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    total = sum(int(ch) * w for ch, w in zip(body, _ID_WEIGHTS.tolist(), strict=True))
    return body + "10X98765432"[total % 11]


def _credit_code(area: str, org_digits: str) -> str:
    """An 18-character unified social credit code (GB 32100) with both check characters."""
    org_total = sum(int(ch) * w for ch, w in zip(org_digits, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    org_check = 11 - org_total % 11
    org = org_digits + ("X" if org_check == 10 else "0" if org_check == 11 else str(org_check))
    body = "91" + area + org
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    check = (31 - total % 31) % 31
    return body + _USCC_CHARS[check]


def _mobiles(rng: np.random.Generator, n: int) -> list[str]:
    second = rng.integers(3, 10, n).tolist()
    rest = rng.integers(0, 1_000_000_000, n).tolist()
    return [f"1{s}{r:09d}" for s, r in zip(second, rest, strict=True)]


# --------------------------------------------------------------------------- customers and accounts


def _customers(
    rng: np.random.Generator, n: int, days: Sequence[date]
) -> tuple[_Customers, dict[str, list[str]]]:
    """Customers with one account each (some two); returns the day-1 columns of their accounts."""
    n_days = len(days)
    is_entity = rng.random(n) < 0.15
    if n >= 2 and not is_entity.any():
        is_entity[-1] = True
    if n >= 2 and is_entity.all():
        is_entity[0] = False
    open_day = np.zeros(n, np.int64)
    n_late = min(n // 10, max(0, round(n * 0.001)) * (n_days - 1)) if n_days > 1 and n >= 50 else 0
    if n_late:
        late = rng.choice(n, size=n_late, replace=False)
        open_day[late] = rng.integers(1, n_days, n_late)
    customer_ids = _ids("C", np.arange(1, n + 1, dtype=np.int64), 8)
    countries = np.where(rng.random(n) < 0.96, "CN", rng.choice(_FOREIGN_COUNTRIES, n)).tolist()
    country: list[str] = [str(c) for c in countries]
    n_accounts = 1 + (rng.random(n) < 0.1).astype(np.int64)
    account_customer = np.repeat(np.arange(n, dtype=np.int64), n_accounts)
    m = len(account_customer)
    account_ids = _ids("A", np.arange(1, m + 1, dtype=np.int64), 9)
    accounts_of: list[list[int]] = [[] for _ in range(n)]
    for a, c in enumerate(account_customer.tolist()):
        accounts_of[c].append(a)
    ent = is_entity[account_customer]

    # Identity per customer (both accounts of one customer carry the same identity).
    names = _person_names(rng, n)
    areas = rng.integers(0, len(_AREA_CODES), n).tolist()
    start_ord = days[0].toordinal()
    births = rng.integers(date(1955, 1, 1).toordinal(), date(2004, 1, 1).toordinal(), n).tolist()
    sequences = rng.integers(1, 1000, n).tolist()
    orgs = rng.integers(10_000_000, 100_000_000, n).tolist()
    trade = rng.integers(0, len(_TRADE_NAMES), n).tolist()
    city = rng.integers(0, len(_CITIES), n).tolist()
    business = rng.integers(0, len(_BUSINESSES), n).tolist()
    mobiles = _mobiles(rng, n)
    landline_area = rng.integers(0, len(_LANDLINE), n).tolist()
    landline_no = rng.integers(20_000_000, 90_000_000, n).tolist()
    use_landline = (rng.random(n) < 0.6).tolist()
    full_name: list[str] = []
    id_number: list[str] = []
    phone: list[str] = []
    for c in range(n):
        if is_entity[c]:
            full_name.append(
                f"{_CITIES[city[c]]} {_TRADE_NAMES[trade[c]]} {_BUSINESSES[business[c]]} Co. Ltd."
            )
            id_number.append(_credit_code(_AREA_CODES[areas[c]], f"{orgs[c]:08d}"))
            phone.append(f"{_LANDLINE[landline_area[c]]}-{landline_no[c]}" if use_landline[c] else mobiles[c])
        else:
            full_name.append(names[c])
            id_number.append(_resident_id(_AREA_CODES[areas[c]], date.fromordinal(births[c]), sequences[c]))
            phone.append(mobiles[c])

    # Devices: most accounts their own; about 1 % of customers in households of two
    # sharing one. Rings of three or more borrowers are planted, with their truth, by
    # regwatch.demo.screening (the draws below are those of earlier versions, which put
    # 3-5 customers on a device, so the rest of the platform is drawn as before).
    device = [f"DV{v:012x}" for v in rng.integers(0, 2**48, m).tolist()]
    ring_members = rng.permutation(n)[: max(0, int(n * 0.03))].tolist()
    pos = 0
    while pos + 3 <= len(ring_members):
        size = int(rng.integers(3, 6))
        ring = ring_members[pos : pos + 2]
        shared = device[accounts_of[ring[0]][0]]
        for c in ring:
            for a in accounts_of[c]:
                device[a] = shared
        pos += size
    no_device = (rng.random(m) < 0.08).tolist()
    device = ["" if blank else d for d, blank in zip(device, no_device, strict=True)]

    account_open_day = open_day[account_customer]
    opened = rng.integers(start_ord - 3 * 365, start_ord - 7, m) * _DAY_SECONDS + rng.integers(
        8 * 3600, 22 * 3600, m
    )
    late_accounts = account_open_day > 0
    day_ords = np.array([d.toordinal() for d in days], np.int64)
    opened[late_accounts] = day_ords[account_open_day[late_accounts]] * _DAY_SECONDS + rng.integers(
        8 * 3600, 20 * 3600, int(late_accounts.sum())
    )
    status_draw = rng.random(m)
    status = np.where(
        status_draw < 0.92,
        "active",
        np.where(status_draw < 0.98, "dormant", np.where(status_draw < 0.99, "frozen", "closed")),
    )
    status[late_accounts] = "active"
    updated = opened + rng.integers(0, 3600, m)
    columns = {
        "account_id": account_ids,
        "customer_id": [customer_ids[c] for c in account_customer.tolist()],
        "customer_type": ["entity" if e else "individual" for e in ent.tolist()],
        "full_name": [full_name[c] for c in account_customer.tolist()],
        "id_number": [id_number[c] for c in account_customer.tolist()],
        "phone": [phone[c] for c in account_customer.tolist()],
        "country": [country[c] for c in account_customer.tolist()],
        "device_id": device,
        "opened_at": _stamps(opened),
        "status": [str(s) for s in status.tolist()],
        "updated_at": _stamps(updated),
    }
    customers = _Customers(
        customer_ids,
        is_entity,
        open_day,
        accounts_of,
        account_ids,
        account_customer,
        account_open_day,
        status == "active",
        country,
    )
    return customers, columns


def _accounts_table(
    rng: np.random.Generator, cust: _Customers, columns: dict[str, list[str]], days: Sequence[date]
) -> _Table:
    """Day-1 accounts, each later account on its opening day, and a few new versions per day."""
    parts = [_part("accounts", columns, cust.account_open_day.copy())]
    m = len(cust.account_ids)
    day_ords = [d.toordinal() for d in days]
    for d in range(1, len(days)):
        existing = np.flatnonzero(cust.account_open_day < d)
        k = min(len(existing), max(1, round(m * 0.002)))
        if k == 0:
            continue
        chosen = np.sort(rng.choice(existing, size=k, replace=False))
        new_phone = _mobiles(rng, k)
        new_device = [f"DV{v:012x}" for v in rng.integers(0, 2**48, k).tolist()]
        which = (rng.random(k) < 0.7).tolist()
        stamp = _stamps(day_ords[d] * _DAY_SECONDS + rng.integers(7 * 3600, 21 * 3600, k))
        version: dict[str, list[str]] = {c: [columns[c][a] for a in chosen.tolist()] for c in columns}
        for i in range(k):
            if which[i] and version["customer_type"][i] == "individual":
                version["phone"][i] = new_phone[i]
            else:
                version["device_id"][i] = new_device[i]
        version["updated_at"] = stamp
        parts.append(_part("accounts", version, np.full(k, d, np.int64)))
    return _table("accounts", parts)


# --------------------------------------------------------------------------- fx rates


def _fx(
    rng: np.random.Generator, days: Sequence[date], missing: tuple[int, str] | None = None
) -> tuple[dict[str, FloatArray], _Table]:
    """One rate per currency and day: a small random walk, rounded to 8 places as written.

    ``missing`` (day, currency) is left out of the file (the walk still has it, so the
    traffic of that day is drawn as usual): the pipeline must flag it, never read it as 0.
    """
    n = len(days)
    base = {"CNY": 1.0, "USD": 7.20, "EUR": 7.80, "HKD": 0.9200, "GBP": 9.10, "JPY": 0.04800}
    rates: dict[str, FloatArray] = {}
    for cur in FX_CURRENCIES:
        if cur == "CNY":
            rates[cur] = np.ones(n)
            continue
        steps = rng.normal(0.0, 0.0015, n)
        steps[0] = 0.0
        walk = base[cur] * np.exp(np.cumsum(steps))
        if cur == "USD":
            walk = np.clip(walk, 7.1, 7.3)
        rates[cur] = np.round(walk, 8)
    pairs = [(d, c) for d in range(n) for c in FX_CURRENCIES if (d, c) != missing]
    day_index = np.array([d for d, _ in pairs], np.int64)
    ordinals = np.array([d.toordinal() for d in days], np.int64)[day_index]
    columns = {
        "rate_date": _iso(ordinals),
        "currency": [c for _, c in pairs],
        "cny_per_unit": [f"{rates[c][d]:.8f}" for d, c in pairs],
    }
    return rates, _part("fx_rates", columns, day_index)


#: Calendar days of FX history before the first business day: the back book (loans of the 6
#: months before it, their payments and write-offs) is converted at the rates of its dates.
FX_HISTORY_DAYS = 200


def _fx_history(rng: np.random.Generator, days: Sequence[date], fx: dict[str, FloatArray]) -> _Table:
    """Rates for the calendar days the business days leave out, so loans convert on any date.

    A pack whose reporting currency differs from a loan's converts its principal at the
    disbursement date, its write-off and compensations at their dates (issue 15): the back
    book's dates (up to FX_HISTORY_DAYS before the first business day, a walk backwards from
    its rates, own random stream) come with the first delivery; a weekend or holiday inside
    the period repeats the previous business day's rate and comes with the next delivery.
    """
    first, last = days[0], days[-1]
    business = {d: i for i, d in enumerate(days)}
    dates: list[date] = []
    folder: list[int] = []
    values: dict[str, list[str]] = {"rate_date": [], "currency": [], "cny_per_unit": []}
    back = {
        cur: fx[cur][0] * np.exp(np.cumsum(rng.normal(0.0, 0.0015, FX_HISTORY_DAYS)))
        for cur in FX_CURRENCIES
        if cur != "CNY"
    }
    for offset in range(FX_HISTORY_DAYS, 0, -1):
        dates.append(date.fromordinal(first.toordinal() - offset))
        folder.append(0)
    day = first
    while day < last:
        day = date.fromordinal(day.toordinal() + 1)
        if day not in business:
            dates.append(day)
            folder.append(next(i for i, d in enumerate(days) if d > day))
    for when, _ in zip(dates, folder, strict=True):
        for cur in FX_CURRENCIES:
            if cur == "CNY":
                continue
            if when < first:
                rate = back[cur][first.toordinal() - when.toordinal() - 1]
                if cur == "USD":
                    rate = min(max(rate, 7.1), 7.3)
            else:
                previous = max(i for d, i in business.items() if d < when)
                rate = fx[cur][previous]
            values["rate_date"].append(when.isoformat())
            values["currency"].append(cur)
            values["cny_per_unit"].append(f"{rate:.8f}")
    day_index = np.repeat(np.array(folder, np.int64), len(FX_CURRENCIES) - 1)
    return _part("fx_rates", values, day_index)


# --------------------------------------------------------------------------- loans


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


def _loans(
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


# --------------------------------------------------------------------------- transactions


@dataclass
class _CashCase:
    """One planted large-value customer-day: a category of art. 5, legs that reach or miss its line."""

    kind: str
    fires: bool
    day: int
    customer: int
    legs: list[tuple[str, int, str]]  # (direction, amount in cents of currency, currency)
    category: str = "cash"
    channel: str = "cash"


#: Large-value kinds that must fire: CNY single / cumulative / exactly at the line (single and
#: cumulative), then foreign currency at its USD equivalent the same ways, and EUR through the
#: CNY cross rate of the day.
FIRE_KINDS: tuple[str, ...] = (
    "single",
    "cumulative",
    "exact_threshold",
    "exact_cumulative",
    "foreign_currency",
    "foreign_exact",
    "foreign_cumulative",
    "cross_rate",
)
#: Near misses: one cent under the CNY line (single, cumulative) and the USD line, each line
#: just missed with both currencies on one day (never added together), both directions under.
MISS_KINDS: tuple[str, ...] = (
    "single_below",
    "cumulative_below",
    "foreign_below",
    "separate_lines",
    "opposite_directions",
)


def _yuan(cents: float) -> int:
    """Whole units (a planted amount reads like one a person types)."""
    return round(cents / 100) * 100


def _split(rng: np.random.Generator, total: int, parts: int, ceiling: int) -> list[int]:
    """``total`` cents in ``parts`` whole-unit legs, each below ``ceiling``."""
    cuts = np.sort(rng.choice(np.arange(1, 100), size=parts - 1, replace=False)) / 100.0
    bounds = np.concatenate([[0.0], cuts, [1.0]])
    amounts = np.diff(np.round(bounds * (total // 100)) * 100).astype(np.int64)
    amounts[-1] += total - int(amounts.sum())
    if amounts.max() >= ceiling or amounts.min() <= 0:
        amounts = np.full(parts, total // parts // 100 * 100, np.int64)
        amounts[-1] += total - int(amounts.sum())
    return [int(a) for a in amounts.tolist()]


def _case_legs(
    rng: np.random.Generator,
    kind: str,
    category: str,
    direction: str,
    rate: dict[str, float],
    calibration: Calibration,
) -> list[tuple[str, int, str]]:
    """The legs of one case, in cents of their currency, against the lines of ``category``."""
    cny_line, usd_line = calibration.large_value_line(category)
    if kind == "single":
        return [(direction, _yuan(cny_line * rng.uniform(1.05, 2.0)), "CNY")]
    if kind == "cumulative":
        total = _yuan(cny_line * rng.uniform(1.04, 1.9))
        return [(direction, a, "CNY") for a in _split(rng, total, int(rng.integers(2, 5)), cny_line)]
    if kind == "exact_threshold":
        return [(direction, cny_line, "CNY")]
    if kind == "exact_cumulative":
        first = _yuan(cny_line * rng.uniform(0.3, 0.7))
        return [(direction, first, "CNY"), (direction, cny_line - first, "CNY")]
    if kind == "foreign_currency":
        return [(direction, _yuan(usd_line * rng.uniform(1.05, 1.6)), "USD")]
    if kind == "foreign_exact":
        return [(direction, usd_line, "USD")]
    if kind == "foreign_cumulative":
        total = _yuan(usd_line * rng.uniform(1.04, 1.5))
        return [(direction, a, "USD") for a in _split(rng, total, int(rng.integers(2, 4)), usd_line)]
    if kind == "cross_rate":  # EUR whose USD equivalent (EUR -> CNY -> USD) is 5-50 % above the line
        usd = usd_line * rng.uniform(1.05, 1.5)
        return [(direction, _yuan(usd * rate["USD"] / rate["EUR"]), "EUR")]
    if kind == "single_below":
        return [(direction, cny_line - 1, "CNY")]
    if kind == "cumulative_below":
        first = _yuan(cny_line * rng.uniform(0.3, 0.7))
        return [(direction, first, "CNY"), (direction, cny_line - 1 - first, "CNY")]
    if kind == "foreign_below":
        return [(direction, usd_line - 1, "USD")]
    if kind == "separate_lines":  # 90 % of each line: together far above either, separately under both
        return [(direction, _yuan(cny_line * 0.9), "CNY"), (direction, _yuan(usd_line * 0.9), "USD")]
    if kind == "opposite_directions":
        return [("credit", _yuan(cny_line * 0.6), "CNY"), ("debit", _yuan(cny_line * 0.6), "CNY")]
    raise AssertionError(f"unknown large-value kind {kind}")


def _plan_cash(
    rng: np.random.Generator,
    cust: _Customers,
    n_days: int,
    n_accounts: int,
    calibration: Calibration,
    fx: dict[str, FloatArray] | None = None,
) -> list[_CashCase]:
    """Large-value cases of every art. 5 category that must fire and near misses that must not.

    Cash goes to any customer, entity transfers to entities, natural-person transfers
    (domestic and cross-border) to individuals; every kind of :data:`FIRE_KINDS` and
    :data:`MISS_KINDS` once per category, then more of the simple kinds as the platform
    grows (cash: up to 5 a day). One customer-day carries at most one case.
    """
    active = np.array([any(cust.account_active[a] for a in accs) for accs in cust.accounts_of], np.bool_)
    base = (cust.open_day == 0) & active
    if fx is None:
        fx = {"USD": np.full(n_days, 7.2), "EUR": np.full(n_days, 7.8)}
    n_fire_cash = max(10 if n_days >= 5 else 2 * n_days + 2, min(n_accounts // 50, 5 * n_days))
    used: set[tuple[int, int]] = set()
    cases: list[_CashCase] = []
    for category in LARGE_VALUE_RULES:
        if category == "cash":
            eligible = np.flatnonzero(base)
        elif category == "entity_transfer":
            eligible = np.flatnonzero(base & cust.is_entity)
        else:
            eligible = np.flatnonzero(base & ~cust.is_entity)
        if not len(eligible):
            continue
        n_fire = (
            n_fire_cash if category == "cash" else max(len(FIRE_KINDS), min(n_accounts // 200, 2 * n_days))
        )
        extra = rng.choice(
            ["single", "cumulative", "foreign_currency"], size=max(0, n_fire - len(FIRE_KINDS))
        )
        kinds = [(k, True) for k in FIRE_KINDS] + [(str(e), True) for e in extra.tolist()]
        n_miss = max(len(MISS_KINDS), n_fire // 3)
        kinds += [(MISS_KINDS[i % len(MISS_KINDS)], False) for i in range(n_miss)]
        for kind, fires in kinds:
            slot = None
            for _ in range(50):
                candidate = (int(eligible[int(rng.integers(0, len(eligible)))]), int(rng.integers(0, n_days)))
                if candidate not in used:
                    slot = candidate
                    break
            if slot is None:  # a tiny platform has no free customer-day left
                continue
            used.add(slot)
            customer, day = slot
            direction = "credit" if rng.random() < 0.5 else "debit"
            rate = {c: float(fx[c][day]) for c in ("USD", "EUR")}
            legs = _case_legs(rng, kind, category, direction, rate, calibration)
            if category == "cash":
                channel = "cash"
            elif category == "entity_transfer":
                channel = "cross_border" if rng.random() < 0.3 else "transfer"
            elif category == "individual_domestic_transfer":
                channel = "transfer"
            else:
                channel = "cross_border"
            cases.append(_CashCase(kind, fires, day, customer, legs, category, channel))
    return cases


def _usd_cents(cents: int, currency: str, rate: dict[str, float]) -> int:
    """A leg's USD equivalent in cents through the CNY cross rate of its day (as the mart computes it)."""
    if currency == "USD":
        return cents
    return math.floor(cents * rate[currency] / rate["USD"] + 0.5)


#: Ordinary traffic per channel, in this index order (transfer 0, card 1, internal 2, cash 3,
#: cross_border 4): share of transactions, log-normal median and sigma of the CNY amount, ceiling.
_CHANNELS = ("transfer", "card", "internal", "cash", "cross_border")
_CHANNEL_P = (0.45, 0.25, 0.15, 0.10, 0.05)
_CHANNEL_MEDIAN = (3000.0, 300.0, 2000.0, 1500.0, 8000.0)
_CHANNEL_SIGMA = (1.1, 1.0, 1.0, 0.9, 1.0)
_CHANNEL_CEILING = (300_000.0, 50_000.0, 200_000.0, 20_000.0, 50_000.0)
_PURPOSES = {
    "transfer": ("family support", "rent", "loan repayment", "goods payment", "salary"),
    "card": ("purchase", "online purchase", "utilities"),
    "internal": ("wallet top-up", "loan disbursement", "investment"),
    "cash": ("cash deposit", "cash withdrawal"),
    "cross_border": ("tuition", "import payment", "remittance"),
}
#: Ordinary counterparties: one pool for the whole platform.
_COUNTERPARTY_POOL = 2000

TruthRow = tuple[str, str, str, str, str, str]


@dataclass
class _Counterparties:
    accounts: list[str]
    names: list[str]


@dataclass
class _DayTraffic:
    """One business day's transaction rows as drawn (column-wise, txn ids given after sorting by time),
    and what the ordinary draw decided per row (for the missing-rate case)."""

    d: int
    day: date
    cols: dict[str, list[str]]
    protected: list[bool]
    times: list[int]  # seconds after midnight of each row
    eligible: IntArray  # accounts that could transact
    blocked: BoolArray  # customers carrying a planted case today (no ordinary cash or transfer)
    customer: IntArray  # per ordinary row
    channel: IntArray  # per ordinary row, index into _CHANNELS
    currency: IntArray  # per ordinary row, index into FX_CURRENCIES

    def add(self, second: int, **values: str) -> None:
        """One planted row at ``second`` after midnight (protected from corruption)."""
        self.times.append(second)
        stamp = _stamps(np.array([self.day.toordinal() * _DAY_SECONDS + second], np.int64))[0]
        for column, value in {"txn_at": stamp, **values}.items():
            self.cols[column].append(value)
        self.protected.append(True)


def _transactions(
    rng: np.random.Generator,
    cust: _Customers,
    days: Sequence[date],
    fx: dict[str, FloatArray],
    cases: list[_CashCase],
    calibration: Calibration,
    missing_rate: tuple[int, str] | None = None,
) -> tuple[_Table, list[TruthRow], list[TruthRow]]:
    """Ordinary traffic, kept clear of every large-value line, plus the planted cases.

    Ordinary per customer, day and direction: cash below CNY 45,000 (all currencies in CNY),
    cross-border transfers below CNY 60,000 (under USD 8,500 at any USD rate of the walk),
    account transfers below CNY 400,000; a group over its cap moves to the next channel
    (cash and cross-border to domestic transfer, transfer to internal). A planted customer
    has no ordinary cash or transfer on its day, so its totals are exactly the case.
    ``missing_rate`` (day, currency): that rate is not delivered; ``cn.aml.missing_fx_rate``
    must raise one exception for that currency and day (every customer-day with a cash or
    transfer leg in it is flagged in the mart, not an exception of its own).
    """
    pool = _Counterparties(
        [f"62{v:014d}" for v in rng.integers(0, 10**14, _COUNTERPARTY_POOL).tolist()],
        _person_names(rng, _COUNTERPARTY_POOL),
    )
    parts: list[_Table] = []
    planted_truth: list[TruthRow] = []
    near_truth: list[TruthRow] = []
    n_txn = 0
    for d, day in enumerate(days):
        day_cases = [c for c in cases if c.day == d]
        traffic = _ordinary_traffic(rng, cust, d, day, fx, day_cases, pool)
        if traffic is None:
            continue
        if missing_rate is not None and missing_rate[0] == d:
            planted_truth.append(_plant_missing_rate(rng, cust, traffic, missing_rate[1]))
        rate = {c: float(fx[c][d]) for c in FX_CURRENCIES}
        for case in day_cases:
            fires, rows = _plant_cash_case(rng, cust, traffic, case, rate, pool, calibration)
            (planted_truth if fires else near_truth).extend(rows)
        order = np.argsort(np.array(traffic.times, np.int64), kind="stable")
        idx = order.tolist()
        cols = {c: [v[i] for i in idx] for c, v in traffic.cols.items() if c != "txn_id"}
        cols["txn_id"] = _ids("TX", np.arange(n_txn + 1, n_txn + len(idx) + 1, dtype=np.int64), 10)
        n_txn += len(idx)
        parts.append(
            _part(
                "transactions",
                cols,
                np.full(len(idx), d, np.int64),
                np.array(traffic.protected, np.bool_)[order],
            )
        )
    return _table("transactions", parts), planted_truth, near_truth


def _ordinary_traffic(
    rng: np.random.Generator,
    cust: _Customers,
    d: int,
    day: date,
    fx: dict[str, FloatArray],
    day_cases: list[_CashCase],
    pool: _Counterparties,
) -> _DayTraffic | None:
    """Day d's ordinary transactions, each customer-day-direction under the ordinary caps (None
    when no account is open yet)."""
    n_customers = len(cust.ids)
    eligible = np.flatnonzero(cust.account_active & (cust.account_open_day <= d))
    if not len(eligible):
        return None
    n = round(len(cust.ids) * 0.6 * float(rng.uniform(0.9, 1.1)))
    account = eligible[rng.integers(0, len(eligible), n)]
    channel = rng.choice(len(_CHANNELS), size=n, p=np.array(_CHANNEL_P))
    amount_cny = np.minimum(
        np.exp(rng.normal(np.log(np.array(_CHANNEL_MEDIAN)[channel]), np.array(_CHANNEL_SIGMA)[channel])),
        np.array(_CHANNEL_CEILING)[channel],
    )
    foreign_draw = rng.random(n)
    cur_idx = np.where(
        channel == 4,
        rng.choice([1, 2, 3, 4, 5], size=n, p=[0.5, 0.2, 0.2, 0.05, 0.05]),
        np.where(foreign_draw < 0.05, rng.choice([1, 2, 3], size=n, p=[0.5, 0.2, 0.3]), 0),
    )
    rate_today = np.array([fx[c][d] for c in FX_CURRENCIES])
    amount = np.maximum(np.round(amount_cny / rate_today[cur_idx] * 100), 100).astype(np.int64)
    direction = rng.integers(0, 2, n)
    seconds = rng.integers(6 * 3600, 23 * 3600, n)
    customer = cust.account_customer[account]
    blocked = np.zeros(n_customers, np.bool_)
    for case in day_cases:
        blocked[case.customer] = True
    # transfer 0, card 1, internal 2, cash 3, cross_border 4
    channel = np.where(np.isin(channel, (0, 3, 4)) & blocked[customer], 2, channel)
    cny_cents = amount * rate_today[cur_idx]
    group = customer * 2 + direction
    for kind, cap, to in ((3, ORDINARY_CASH_CAP_CENTS, 0), (4, ORDINARY_CROSS_BORDER_CAP_CENTS, 0)):
        mask = channel == kind
        sums = np.bincount(group[mask], cny_cents[mask], 2 * n_customers)
        channel = np.where(mask & (sums[group] >= cap), to, channel)
    transfers = np.isin(channel, (0, 4))
    sums = np.bincount(group[transfers], cny_cents[transfers], 2 * n_customers)
    channel = np.where((channel == 0) & (sums[group] >= ORDINARY_TRANSFER_CAP_CENTS), 2, channel)
    cp = rng.integers(0, _COUNTERPARTY_POOL, n)
    foreign_country = rng.choice(_FOREIGN_COUNTRIES, size=n)
    purpose_pick = rng.integers(0, 5, n)
    chan_names = [_CHANNELS[c] for c in channel.tolist()]
    cols: dict[str, list[str]] = {
        "txn_id": [],
        "account_id": [cust.account_ids[a] for a in account.tolist()],
        "txn_at": _stamps(day.toordinal() * _DAY_SECONDS + seconds),
        "direction": ["credit" if v else "debit" for v in direction.tolist()],
        "amount": _money(amount),
        "currency": [FX_CURRENCIES[c] for c in cur_idx.tolist()],
        "channel": chan_names,
        "counterparty_account": [
            "" if ch == "cash" else pool.accounts[k] for ch, k in zip(chan_names, cp.tolist(), strict=True)
        ],
        "counterparty_name": [
            "" if ch == "cash" else pool.names[k] for ch, k in zip(chan_names, cp.tolist(), strict=True)
        ],
        "counterparty_country": [
            "" if ch == "cash" else (str(fc) if ch == "cross_border" else "CN")
            for ch, fc in zip(chan_names, foreign_country.tolist(), strict=True)
        ],
        "purpose": [
            (
                ("cash deposit" if dr else "cash withdrawal")
                if ch == "cash"
                else _PURPOSES[ch][p % len(_PURPOSES[ch])]
            )
            for ch, p, dr in zip(chan_names, purpose_pick.tolist(), direction.tolist(), strict=True)
        ],
    }
    return _DayTraffic(
        d, day, cols, [False] * n, seconds.tolist(), eligible, blocked, customer, channel, cur_idx
    )


def _plant_missing_rate(
    rng: np.random.Generator, cust: _Customers, traffic: _DayTraffic, currency: str
) -> TruthRow:
    """The day whose ``currency`` rate is not delivered: its cash and transfer legs in that currency
    are never corrupted (their customer-days are flagged), one cash deposit in it is planted so the
    day always has one, and one truth row stands for the (currency, day), whatever it leaves
    unconverted (issue 15)."""
    day = traffic.day
    currency_index = FX_CURRENCIES.index(currency)
    keys: dict[str, int] = {}
    unpriced = (traffic.currency == currency_index) & np.isin(traffic.channel, (0, 3, 4))
    for i in np.flatnonzero(unpriced).tolist():
        c = int(traffic.customer[i])
        ch = int(traffic.channel[i])
        if ch == 3:
            category = "cash"
        elif cust.is_entity[c]:
            category = "entity_transfer"
        else:
            category = "individual_cross_border_transfer" if ch == 4 else "individual_domestic_transfer"
        key = f"{cust.ids[c]}|{day.isoformat()}|{category}|{traffic.cols['direction'][i]}"
        keys[key] = keys.get(key, 0) + 1
        traffic.protected[i] = True
    free = [int(a) for a in traffic.eligible.tolist() if not traffic.blocked[cust.account_customer[a]]]
    if free:
        a = free[int(rng.integers(0, len(free)))]
        cents = int(rng.integers(2_000, 8_000)) * 100
        traffic.add(
            int(rng.integers(8 * 3600, 18 * 3600)),
            account_id=cust.account_ids[a],
            direction="credit",
            amount=f"{cents // 100}.{cents % 100:02d}",
            currency=currency,
            channel="cash",
            counterparty_account="",
            counterparty_name="",
            counterparty_country="",
            purpose="cash deposit",
        )
        key = f"{cust.ids[cust.account_customer[a]]}|{day.isoformat()}|cash|credit"
        keys[key] = keys.get(key, 0) + 1
    return (
        "",
        MISSING_FX_RULE,
        f"{currency}|{day.isoformat()}",
        day.isoformat(),
        "missing_rate",
        f"currency={currency}; customer_days={len(keys)}; "
        f"transactions={sum(keys.values())}; no {currency} rate for {day}",
    )


def _plant_cash_case(
    rng: np.random.Generator,
    cust: _Customers,
    traffic: _DayTraffic,
    case: _CashCase,
    rate: dict[str, float],
    pool: _Counterparties,
    calibration: Calibration,
) -> tuple[bool, list[TruthRow]]:
    """One large-value case's legs on its day; its truth rows (one per direction), checked
    against the pack's lines (whether it fires, and the rows)."""
    day = traffic.day
    accounts = [a for a in cust.accounts_of[case.customer] if cust.account_active[a]] or cust.accounts_of[
        case.customer
    ]
    rule_id = LARGE_VALUE_RULES[case.category]
    cny_line, usd_line = calibration.large_value_line(case.category)
    by_direction: dict[str, list[int]] = {}
    country = str(_FOREIGN_COUNTRIES[int(rng.integers(0, len(_FOREIGN_COUNTRIES)))])
    k = int(rng.integers(0, _COUNTERPARTY_POOL))
    is_cash = case.channel == "cash"
    for direction_name, cents, currency in case.legs:
        a = accounts[int(rng.integers(0, len(accounts)))]
        totals = by_direction.setdefault(direction_name, [0, 0, 0])
        if currency == "CNY":
            totals[0] += cents
        else:
            totals[1] += _usd_cents(cents, currency, rate)
        totals[2] += 1
        traffic.add(
            int(rng.integers(8 * 3600, 18 * 3600)),
            account_id=cust.account_ids[a],
            direction=direction_name,
            amount=f"{cents // 100}.{cents % 100:02d}",
            currency=currency,
            channel=case.channel,
            counterparty_account="" if is_cash else pool.accounts[k],
            counterparty_name="" if is_cash else pool.names[k],
            counterparty_country="" if is_cash else country if case.channel == "cross_border" else "CN",
            purpose=(
                ("cash deposit" if direction_name == "credit" else "cash withdrawal")
                if is_cash
                else "import payment"
                if case.channel == "cross_border"
                else "goods payment"
            ),
        )
    rows: list[TruthRow] = []
    for direction_name in sorted(by_direction):
        cny, usd, count = by_direction[direction_name]
        reaches = cny >= cny_line or usd >= usd_line
        if reaches != case.fires:
            raise AssertionError(f"large-value case {case.category}/{case.kind} lands on the wrong side")
        legs = [leg for leg in case.legs if leg[0] == direction_name]
        rows.append(
            (
                "",
                rule_id,
                f"{cust.ids[case.customer]}|{day.isoformat()}|{case.category}|{direction_name}",
                day.isoformat(),
                case.kind,
                f"category={case.category}; cny={cny // 100}.{cny % 100:02d}; "
                f"usd_equivalent={usd // 100}.{usd % 100:02d}; transactions={count}; "
                f"amounts={'+'.join(f'{c // 100}.{c % 100:02d} {cur}' for _, c, cur in legs)}",
            )
        )
    return case.fires, rows


# --------------------------------------------------------------------------- malformed rows


_Corruption = tuple[str, Callable[[str], str]]


def _wrong_number(value: str) -> str:
    return value.replace("0", "o", 1) if "0" in value else value[:1] + "o" + value[1:]


def _bad_date(value: str) -> str:
    day, _, time = value.partition(" ")
    y, m, d = day.split("-")
    text = f"{d}/{m}/{y}" if int(d) % 2 else f"{y}-02-30"
    return f"{text} {time}" if time else text


# file -> class -> options (column, how to corrupt the value)
_CORRUPTIONS: dict[str, dict[str, list[_Corruption]]] = {
    "transactions": {
        "wrong_type": [("amount", _wrong_number)],
        "missing_required": [
            ("account_id", lambda v: ""),
            ("amount", lambda v: ""),
            ("txn_at", lambda v: ""),
        ],
        "negative_amount": [("amount", lambda v: "-" + v)],
        "unknown_enum": [("channel", lambda v: "atm"), ("direction", lambda v: "in")],
        "unparseable_date": [("txn_at", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
        "invalid_utf8": [("purpose", lambda v: v[:2] + _INVALID_UTF8 + v[2:])],
    },
    "repayments": {
        "wrong_type": [("principal_paid", _wrong_number), ("installment_no", lambda v: "one")],
        "missing_required": [("loan_id", lambda v: ""), ("paid_at", lambda v: "")],
        "negative_amount": [("interest_paid", lambda v: "-" + v), ("penalty_paid", lambda v: "-12.50")],
        "unknown_enum": [("payer_type", lambda v: "insurer")],
        "unparseable_date": [("paid_at", _bad_date)],
    },
    "fundings": {
        "wrong_type": [("amount", _wrong_number)],
        "missing_required": [("funder_id", lambda v: ""), ("loan_id", lambda v: "")],
        "negative_amount": [("amount", lambda v: "-" + v)],
        "unknown_enum": [("funder_type", lambda v: "bank")],
        "unparseable_date": [("funded_at", _bad_date)],
    },
    "loans": {
        "wrong_type": [("principal", _wrong_number), ("term_months", lambda v: "twelve")],
        "missing_required": [("borrower_id", lambda v: ""), ("contract_date", lambda v: "")],
        "negative_amount": [("principal", lambda v: "-" + v)],
        "unknown_enum": [("repayment_method", lambda v: "balloon")],
        "unparseable_date": [("contract_date", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
    },
    "schedules": {
        "wrong_type": [("principal_due", _wrong_number)],
        "missing_required": [("due_date", lambda v: "")],
        "negative_amount": [("interest_due", lambda v: "-" + v)],
        "unparseable_date": [("due_date", _bad_date)],
    },
    "accounts": {
        "missing_required": [("phone", lambda v: ""), ("id_number", lambda v: "")],
        "unknown_enum": [("status", lambda v: "suspended"), ("customer_type", lambda v: "person")],
        "unparseable_date": [("opened_at", _bad_date)],
        "invalid_utf8": [("full_name", lambda v: v[:3] + _INVALID_UTF8 + v[3:])],
    },
    "fx_rates": {
        "wrong_type": [("cny_per_unit", _wrong_number)],
        "negative_amount": [("cny_per_unit", lambda v: "-" + v)],
        "unparseable_date": [("rate_date", _bad_date)],
        "unknown_currency": [("currency", lambda v: "XXY")],
    },
}
# How much each file attracts bad rows: ordinary traffic most, reference-like files least.
_FILE_WEIGHTS = {
    "transactions": 4.0,
    "repayments": 2.0,
    "fundings": 2.0,
    "loans": 1.0,
    "schedules": 1.0,
    "accounts": 1.0,
    "fx_rates": 0.2,
}
# Rows of these files are corrupted in place (they tie to no planted case); other files
# get extra rows so every planted loan, schedule and account stays exact.
_IN_PLACE = ("transactions", "repayments", "fundings")


@dataclass
class _Injection:
    file: str
    day: int
    bad_class: str


@dataclass
class _DayFile:
    lines: list[str]
    marks: list[tuple[str, str] | None] = field(default_factory=list)


def _plan_malformed(
    rng: np.random.Generator, tables: dict[str, _Table], n_days: int, count: int, every_class: bool
) -> list[_Injection]:
    eligible_days: dict[str, list[int]] = {}
    for name, table in tables.items():
        ok = table.day[~table.protected]
        eligible_days[name] = sorted(set(np.unique(ok).tolist()))
    plan: list[_Injection] = []
    for i in range(count):
        bad_class = (
            BAD_INPUT_CLASSES[i]
            if every_class and i < len(BAD_INPUT_CLASSES)
            else str(rng.choice(BAD_INPUT_CLASSES))
        )
        files = [
            f
            for f in _FILE_WEIGHTS
            if eligible_days[f] and (bad_class == "duplicate_key" or bad_class in _CORRUPTIONS[f])
        ]
        if not files:
            continue
        weights = np.array([_FILE_WEIGHTS[f] for f in files])
        file = files[int(rng.choice(len(files), p=weights / weights.sum()))]
        day = eligible_days[file][int(rng.integers(0, len(eligible_days[file])))]
        plan.append(_Injection(file, day, bad_class))
    return plan


def _inject(
    rng: np.random.Generator,
    name: str,
    cols: list[list[str]],
    protected: BoolArray,
    injections: list[_Injection],
) -> _DayFile:
    """Apply one day's bad rows to one file: corruptions in place, extra rows, duplicate copies."""
    columns = CONTRACTS[name].column_names
    position = {c: i for i, c in enumerate(columns)}
    n_rows = len(protected)
    n_free = int((~protected).sum())
    used: set[int] = set()  # corrupted in place, or the source of an extra row
    extras: list[tuple[int, list[str], tuple[str, str]]] = []  # (insert after this row, fields, mark)
    marks: list[tuple[str, str] | None] = [None] * n_rows
    changed: dict[int, list[str]] = {}

    def take() -> int | None:
        if len(used) >= n_free:
            return None
        while True:
            i = int(rng.integers(0, n_rows))
            if not protected[i] and i not in used:
                used.add(i)
                return i

    for inj in injections:
        if inj.bad_class == "duplicate_key":
            src = take()
            if src is None:
                continue
            copy = [col[src] for col in cols]
            if rng.random() < 0.5:
                money = [
                    c
                    for c in columns
                    if CONTRACTS[name].column(c).type in ("decimal", "rate") and copy[position[c]]
                ]
                if money:
                    c = money[int(rng.integers(0, len(money)))]
                    copy[position[c]] = _altered_amount(copy[position[c]])
            after = int(rng.integers(src, n_rows))
            extras.append((after, copy, ("duplicate_key", ", ".join(CONTRACTS[name].key))))
            continue
        options = _CORRUPTIONS[name][inj.bad_class]
        column, corrupt = options[int(rng.integers(0, len(options)))]
        target = take()
        if target is None:
            continue
        fields = [col[target] for col in cols]
        fields[position[column]] = corrupt(fields[position[column]])
        if name in _IN_PLACE:
            changed[target] = fields
            marks[target] = (inj.bad_class, column)
        else:
            extras.append((int(rng.integers(-1, n_rows)), fields, (inj.bad_class, column)))
    lines = list(map(",".join, zip(*cols, strict=True))) if cols else []
    for i, fields in changed.items():
        lines[i] = ",".join(fields)
    if not extras:
        return _DayFile(lines, marks)
    # Insert from the back so earlier positions stay valid; a copy lands after its original.
    extras.sort(key=lambda e: e[0])
    for after, fields, mark in reversed(extras):
        lines.insert(after + 1, ",".join(fields))
        marks.insert(after + 1, mark)
    return _DayFile(lines, marks)


def _altered_amount(value: str) -> str:
    whole, _, frac = value.partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2]) + 100
    return f"{cents // 100}.{cents % 100:02d}" + ("0" * (len(frac) - 2) if len(frac) > 2 else "")


# --------------------------------------------------------------------------- writing


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def _case_prefix(rule_id: str) -> str:
    """Case ids by family: RC rate caps, DS disclosures, SC screening, TY typologies, LC large-value."""
    from regwatch.demo.screening import RULES as SCREENING_RULES
    from regwatch.demo.typologies import TYPOLOGY_RULES, WINDOW_RULES

    if rule_id.startswith("cn.rate_caps."):
        return "RC"
    if rule_id.startswith("cn.disclosures."):
        return "DS"
    if rule_id in SCREENING_RULES:
        return "SC"
    return "TY" if rule_id in TYPOLOGY_RULES or rule_id in WINDOW_RULES else "LC"


def generate(
    out: Path,
    start: date,
    end: date,
    loans: int = 2000,
    accounts: int = 1000,
    seed: int = 42,
    malformed_rate: float = 0.005,
    reference_dir: Path | None = None,
    pack_dir: Path | None = None,
) -> GenerateResult:
    """Write a synthetic platform for every business day in [start, end] and its ground truth.

    Day 1 also carries the back book (loans of the 6 months before ``start``, their
    repayments so far, write-offs and settlements). Same arguments, same bytes. The truth
    is written for the rules of ``pack_dir`` (default: the ``cn`` pack beside the reference
    seeds), whose thresholds every planted case is placed against.
    """
    days = business_days(start, end)
    if not days:
        raise DemoError(f"no business day between {start} and {end}")
    if loans < 1 or accounts < 1:
        raise DemoError("a platform needs at least one loan and one account")
    n_days = len(days)
    rng = np.random.default_rng(seed)
    missing_rate = ((n_days - 1) // 2, MISSING_RATE_CURRENCY) if n_days >= 3 else None
    fx, fx_table = _fx(rng, days, missing_rate)
    fx_table = _table("fx_rates", [fx_table, _fx_history(np.random.default_rng([seed, 6]), days, fx)])
    cust, account_columns = _customers(rng, accounts, days)
    accounts_table = _accounts_table(rng, cust, account_columns, days)
    if reference_dir is None:
        from regwatch.config import Settings

        reference_dir = Settings.from_env().reference_seeds_dir
    calibration = load_calibration(pack_dir or reference_dir.parents[2] / "checks" / "cn")
    book = _loans(rng, loans, days, cust, reference_dir)
    cases = _plan_cash(rng, cust, n_days, accounts, calibration, fx)
    transactions, cash_truth, near_truth = _transactions(
        rng, cust, days, fx, cases, calibration, missing_rate
    )
    # AML typologies (regwatch.demo.typologies): own random stream, own customers.
    from regwatch.demo import typologies as demo_typologies

    typologies = demo_typologies.plant(
        np.random.default_rng([seed, 4]),
        cust,
        days,
        accounts_table,
        transactions,
        book.tables["loans"],
        fx_table,
        reference_dir,
        calibration,
        exclude={c.customer for c in cases},
    )
    transactions, accounts_table = typologies.transactions, typologies.accounts
    cash_truth, near_truth = cash_truth + typologies.planted, near_truth + typologies.near
    # Planted customers' accounts are never corrupted or copied.
    planted_accounts = {cust.account_ids[a] for c in cases for a in cust.accounts_of[c.customer]}
    planted_accounts |= typologies.accounts_used
    accounts_table.protected = np.array(
        [a in planted_accounts for a in accounts_table.columns["account_id"]], np.bool_
    )
    from regwatch.demo.screening import plant as plant_screening
    from regwatch.demo.screening import write_deliveries

    busy = {cust.ids[c.customer] for c in cases} | {
        customer
        for account, customer in zip(
            accounts_table.columns["account_id"], accounts_table.columns["customer_id"], strict=True
        )
        if account in typologies.accounts_used
    }
    screening = plant_screening(
        np.random.default_rng([seed, 5]),
        days,
        accounts_table,
        transactions,
        book.tables["loans"],
        busy,
        calibration,
        fx,
    )
    accounts_table, transactions = screening.accounts, screening.transactions
    # The window rules over every customer of the final traffic (ordinary customers that by
    # chance meet a rule, AMLworld attempts' customers): truth rows, their rows kept whole.
    trips, keep_whole = demo_typologies.every_customer_cases(
        cust,
        days,
        transactions,
        fx_table,
        reference_dir,
        calibration,
        book.truth + cash_truth + screening.planted,
        near_truth + book.near + screening.near,
    )
    cash_truth = cash_truth + trips
    transactions.protected |= np.array(
        [a in keep_whole for a in transactions.columns["account_id"]], np.bool_
    )
    accounts_table.protected |= np.array(
        [a in keep_whole for a in accounts_table.columns["account_id"]], np.bool_
    )
    tables: dict[str, _Table] = {
        **book.tables,
        "accounts": accounts_table,
        "transactions": transactions,
        "fx_rates": fx_table,
    }
    tables = {name: tables[name] for name in REQUIRED_FILES}

    total_rows = sum(len(t) for t in tables.values())
    every_class = n_days >= 5 and loans >= 200 and malformed_rate > 0
    count = max(len(BAD_INPUT_CLASSES) if every_class else 0, round(total_rows * malformed_rate))
    plan = _plan_malformed(rng, tables, n_days, count, every_class)
    legacy_day = n_days // 2
    legacy_file = "fundings"

    out.mkdir(parents=True, exist_ok=True)
    malformed_rows: list[tuple[str, str, str, str, str]] = []
    rows_written = {name: 0 for name in tables}
    files_written = 0
    for name, table in tables.items():
        columns = CONTRACTS[name].column_names
        order = np.argsort(table.day, kind="stable")
        bounds = np.searchsorted(table.day[order], np.arange(n_days + 1))
        for d, day in enumerate(days):
            idx = order[bounds[d] : bounds[d + 1]].tolist()
            sel = order[bounds[d] : bounds[d + 1]]
            cols = [[table.columns[c][i] for i in idx] for c in columns]
            todo = [p for p in plan if p.file == name and p.day == d]
            day_file = _inject(rng, name, cols, table.protected[sel], todo)
            header = list(columns)
            lines = day_file.lines
            if name == legacy_file and d == legacy_day:
                header.append("legacy_flag")
                flags = rng.random(len(lines)) < 0.1
                lines = [f"{line},{'Y' if f else 'N'}" for line, f in zip(lines, flags.tolist(), strict=True)]
            for number, mark in enumerate(day_file.marks, start=1):
                if mark is not None:
                    malformed_rows.append((name, day.isoformat(), str(number), mark[0], mark[1]))
            folder = out / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            text = ",".join(header) + "\n" + "".join(line + "\n" for line in lines)
            (folder / f"{name}.csv").write_bytes(text.encode("utf-8", errors="surrogateescape"))
            rows_written[name] += len(lines)
            files_written += 1

    rows_written["watchlist"] = write_deliveries(out, days, screening.deliveries)
    files_written += len(screening.deliveries)
    truth_dir = out / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    disclosures = disclosure_truth(out, days, malformed_rows, calibration)
    planted = sorted(
        book.truth + cash_truth + disclosures + screening.planted, key=lambda r: (r[3], r[1], r[2])
    )
    planted = [(f"{_case_prefix(r[1])}{n:05d}", *r[1:]) for n, r in enumerate(planted, 1)]
    near = sorted(near_truth + book.near + screening.near, key=lambda r: (r[3], r[1], r[2]))
    near = [(f"NM{n:05d}", *r[1:]) for n, r in enumerate(near, 1)]
    _write_csv(truth_dir / "planted.csv", TRUTH_COLUMNS, planted)
    _write_csv(truth_dir / "near_misses.csv", TRUTH_COLUMNS, near)
    from regwatch.demo.laundering import BENIGN_COLUMNS, PATTERN_COLUMNS

    _write_csv(truth_dir / "patterns.csv", PATTERN_COLUMNS, typologies.patterns)
    _write_csv(truth_dir / "benign.csv", BENIGN_COLUMNS, typologies.benign)
    malformed_rows.sort(key=lambda r: (r[1], REQUIRED_FILES.index(r[0]), int(r[2])))
    _write_csv(truth_dir / "malformed.csv", MALFORMED_COLUMNS, malformed_rows)
    _write_csv(
        truth_dir / "file_issues.csv",
        FILE_ISSUE_COLUMNS,
        [(legacy_file, days[legacy_day].isoformat(), "unexpected_column", "legacy_flag")],
    )
    return GenerateResult(
        out=out,
        business_dates=tuple(days),
        files_written=files_written,
        rows_written=rows_written,
        planted=len(planted),
        malformed=len(malformed_rows),
    )
