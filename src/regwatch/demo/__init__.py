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
per customer, day and direction (:data:`regwatch.demo.transactions.LARGE_VALUE_RULES`, lines read from the pack by
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from regwatch.contract import CONTRACTS, REQUIRED_FILES
from regwatch.demo.base import DAY_SECONDS as _DAY_SECONDS
from regwatch.demo.base import FOREIGN_COUNTRIES as _FOREIGN_COUNTRIES
from regwatch.demo.base import FX_CURRENCIES, DemoError, FloatArray
from regwatch.demo.base import Customers as _Customers
from regwatch.demo.base import Table as _Table
from regwatch.demo.base import ids as _ids
from regwatch.demo.base import iso as _iso
from regwatch.demo.base import part as _part
from regwatch.demo.base import person_names as _person_names
from regwatch.demo.base import stamps as _stamps
from regwatch.demo.base import table as _table
from regwatch.demo.calibration import load as load_calibration
from regwatch.demo.disclosures import disclosure_truth
from regwatch.demo.loans import loan_book
from regwatch.demo.malformed import BAD_INPUT_CLASSES, inject, plan_malformed
from regwatch.demo.transactions import draw_transactions, plan_cash_cases

#: The currency whose rate is not delivered on one day of a platform of 3 days or more.
MISSING_RATE_CURRENCY = "HKD"
TRUTH_COLUMNS = ("case_id", "rule_id", "entity_key", "business_date", "kind", "detail")
MALFORMED_COLUMNS = ("file", "business_date", "row_number", "bad_input_class", "column")
FILE_ISSUE_COLUMNS = ("file", "business_date", "issue", "column")


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
    book = loan_book(rng, loans, days, cust, reference_dir)
    cases = plan_cash_cases(rng, cust, n_days, accounts, calibration, fx)
    transactions, cash_truth, near_truth = draw_transactions(
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
    plan = plan_malformed(rng, tables, n_days, count, every_class)
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
            day_file = inject(rng, name, cols, table.protected[sel], todo)
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
