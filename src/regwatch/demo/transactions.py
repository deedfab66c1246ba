"""Account traffic of the synthetic platform: ordinary transactions kept clear of every
large-value line, the planted large-value cases (PBOC Order [2016] No. 3 art. 5) with their
near misses, and the day whose FX rate is withheld.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from regwatch.demo.base import DAY_SECONDS as _DAY_SECONDS
from regwatch.demo.base import FOREIGN_COUNTRIES as _FOREIGN_COUNTRIES
from regwatch.demo.base import FX_CURRENCIES, BoolArray, FloatArray, IntArray
from regwatch.demo.base import Customers as _Customers
from regwatch.demo.base import Table as _Table
from regwatch.demo.base import ids as _ids
from regwatch.demo.base import money as _money
from regwatch.demo.base import part as _part
from regwatch.demo.base import person_names as _person_names
from regwatch.demo.base import stamps as _stamps
from regwatch.demo.base import table as _table
from regwatch.demo.calibration import Calibration

LARGE_CASH_RULE = "cn.aml.large_cash"
ENTITY_TRANSFER_RULE = "cn.aml.large_entity_transfer"
DOMESTIC_TRANSFER_RULE = "cn.aml.large_individual_domestic_transfer"
CROSS_BORDER_TRANSFER_RULE = "cn.aml.large_individual_cross_border_transfer"
MISSING_FX_RULE = "cn.aml.missing_fx_rate"
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


def plan_cash_cases(
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


def draw_transactions(
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
