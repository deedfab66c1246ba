"""The eight laundering patterns of IBM's AMLworld generator, planted with their truth by
construction, next to benign look-alikes (issue 14, detection depth).

Patterns (Altman et al., "Realistic Synthetic Financial Transactions for Anti-Money
Laundering Models", NeurIPS 2023 Datasets and Benchmarks, fig. 2): fan-in, fan-out, cycle,
scatter-gather, gather-scatter, bipartite, stack, random. Each attempt is a set of platform
customers (and, for fans, outside accounts) moving money in time-ordered transfers, with
the literature's ranges: fan degrees 5 to 20 (AMLworld: 2 to 20+; fans of degree 2-4 are
indistinguishable from ordinary traffic, see ``fan_in_min_counterparties``) spread over 4
to 7 calendar days; cycles of 2 to 12 hops; bipartite blocks of 3-5 x 3-5 accounts; stacks
of four layers of 2-3 accounts; every
intermediary passes most of what it received (90-98 %) on within hours; amounts below and
above the CNY 50,000 money lines (legs from CNY 20,000 to 150,000, a customer-day staying
under the CNY 500,000 large-value transfer line); some customers serve in two attempts
(shared accounts, as in AMLworld).

A transfer between two platform customers is two rows: the sender's debit (counterparty:
the receiver's account) and the receiver's credit (counterparty: the sender's account).

Benign look-alikes: an employer's monthly payroll (an entity customer paying many
individuals equal amounts, purpose ``salary``), a merchant's sales (an entity receiving
many small ``goods payment`` credits) and a family's circular small transfers (three
people, ``family support``). They are what a reasonable rule must not fire on.

The truth is by construction (``patterns.csv``: one row per attempt with its customers and
dates; ``benign.csv``: one row per look-alike), never read from the SQL. The rules a
pattern is expected to raise are listed per attempt: the window rules the generator can
re-evaluate in Python (fan-in / fan-out, rapid in-out) are checked there; the graph rules
are named by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The plan and transactions of regwatch.demo.typologies (which calls this module; typed Any
# here so the two modules do not import each other).
_Plan = Any
_Txn = Any

PATTERNS = (
    "fan_in",
    "fan_out",
    "cycle",
    "scatter_gather",
    "gather_scatter",
    "bipartite",
    "stack",
    "random",
)
#: The graph rules (branch aml-graph) a pattern is built to raise, by construction.
GRAPH_RULES = {
    "cycle": "cn.aml.transfer_cycle",
    "scatter_gather": "cn.aml.scatter_gather",
    "gather_scatter": "cn.aml.gather_scatter",
    "bipartite": "cn.aml.bipartite_flow",
    "stack": "cn.aml.layering_stack",
    "random": "cn.aml.layering_stack",
}
PATTERN_COLUMNS = (
    "attempt_id",
    "pattern",
    "customer_ids",
    "first_date",
    "last_date",
    "size",
    "amount_cny",
    "expected_rule_ids",
    "detail",
)
BENIGN_COLUMNS = ("benign_id", "lookalike", "imitates", "customer_ids", "first_date", "last_date", "detail")
BENIGN_IMITATES = {"payroll": "fan_out", "merchant": "fan_in", "family_circle": "cycle"}

_HOUR = 3600


@dataclass
class Attempt:
    pattern: str
    customers: list[int]
    txns: list[_Txn] = field(default_factory=list)
    size: int = 0
    detail: str = ""
    expected: set[str] = field(default_factory=set)


@dataclass
class Laundering:
    patterns: list[tuple[str, ...]]
    benign: list[tuple[str, ...]]


class _Builder:
    def __init__(self, plan: _Plan, names: list[str]) -> None:
        self.plan = plan
        self.names = names
        self.rng = plan.rng
        self.members: list[int] = []  # customers of earlier attempts (shared accounts)
        self.load: dict[tuple[int, int], int] = {}  # (customer, day) -> cents in and out

    # ------------------------------------------------------------------ primitives
    def customer(self, share: float = 0.0, entity: bool | None = None) -> int | None:
        """A customer from the free pool (or, with probability ``share``, one of an earlier attempt)."""
        if self.members and self.rng.random() < share:
            return self.members[int(self.rng.integers(0, len(self.members)))]
        pool = self.plan.pool
        if entity is not None:
            pool = [c for c in pool if bool(self.plan.cust.is_entity[c]) == entity]
            if not pool:
                return None
            chosen: int = pool[0]
            self.plan.pool.remove(chosen)
            self.plan.used.append(chosen)
            return chosen
        taken: int | None = self.plan.take()
        return taken

    def customers(self, n: int, share: float = 0.0) -> list[int] | None:
        picked: list[int] = []
        for _ in range(n):
            c = self.customer(share if not picked else share / 2)
            while c is not None and c in picked:
                c = self.customer()
            if c is None:
                return None
            picked.append(c)
        return picked

    def account_of(self, customer: int) -> str:
        return str(self.plan.cust.account_ids[self.plan.account(customer)])

    def name_of(self, customer: int) -> str:
        return str(self.names[self.plan.account(customer)])

    def _room(self, customer: int, day: int, cents: int) -> int:
        """Cents that keep the customer's day (both directions) under CNY 390,000, as ordinary
        traffic does: far from the CNY 500,000 natural-person transfer line of PBOC Order
        [2016] No. 3 art. 5(3), so no large-value report names an attempt."""
        used = self.load.get((customer, day), 0)
        return max(100_000, min(cents, 39_000_000 - used))

    def _book(self, customer: int, day: int, cents: int) -> None:
        self.load[(customer, day)] = self.load.get((customer, day), 0) + cents

    def transfer(
        self, sender: int, receiver: int, day: int, second: int, cents: int, purpose: str = "transfer"
    ) -> list[_Txn]:
        cents = min(self._room(sender, day, cents), self._room(receiver, day, cents))
        self._book(sender, day, cents)
        self._book(receiver, day, cents)
        second = min(second, 86_399)
        out = self.plan.add(
            sender,
            day,
            second,
            "debit",
            cents,
            cp_account=self.account_of(receiver),
            cp_name=self.name_of(receiver),
            purpose=purpose,
        )
        into = self.plan.add(
            receiver,
            day,
            second,
            "credit",
            cents,
            cp_account=self.account_of(sender),
            cp_name=self.name_of(sender),
            purpose=purpose,
        )
        return [out, into]

    def outside(self, customer: int, direction: str, day: int, second: int, cents: int) -> _Txn:
        return self._outside(customer, direction, day, second, cents, "transfer")

    def amount(self, small: bool, legs: int = 1) -> int:
        """Cents of one leg: under the CNY 50,000 line (small) or above it; ``legs`` legs of one
        customer on one day, passed on the same day, stay under CNY 390,000 together."""
        low, high = (20_000, 48_000) if small else (52_000, 150_000)
        return min(int(self.rng.integers(low, high)) * 100, 19_000_000 // legs)

    def passed(self, cents: int) -> int:
        """What an intermediary passes on: 90-98 % of what it received."""
        return cents * int(self.rng.integers(90, 99)) // 100

    def days_within(self, start: int, spread: int) -> list[int]:
        """Business-day indexes from ``start`` whose date is under ``spread`` calendar days later."""
        first = self.plan.ordinal(start)
        return [d for d in range(start, len(self.plan.days)) if self.plan.ordinal(d) - first < spread]

    def start_for(self, spread: int, need: int = 1) -> int | None:
        """A start day with at least ``need`` business days within ``spread`` calendar days."""
        options = [s for s in range(len(self.plan.days)) if len(self.days_within(s, spread)) >= need]
        return options[int(self.rng.integers(0, len(options)))] if options else None

    # ------------------------------------------------------------------ patterns
    def fan(self, side: str, small: bool) -> Attempt | None:
        degree = int(self.rng.integers(5, 21))
        spread = int(self.rng.integers(4, 8))
        start = self.start_for(spread, need=2)
        hub = self.customer()
        if start is None or hub is None:
            return None
        days = self.days_within(start, spread)
        legs_days = sorted(
            [days[0], days[-1], *(days[int(self.rng.integers(0, len(days)))] for _ in range(degree - 2))]
        )
        attempt = Attempt(f"fan_{side}", [hub], size=degree)
        shared = self.customer(share=1.0) if self.members and self.rng.random() < 0.3 else None
        each = max(1_100_000, self.amount(small, max(1, degree // 3)))
        for i, day in enumerate(legs_days):
            second = int(self.rng.integers(8 * _HOUR, 20 * _HOUR))
            cents = each + int(self.rng.integers(0, 500)) * 100
            if i == 0 and shared is not None and shared != hub:
                attempt.customers.append(shared)
                pair = (shared, hub) if side == "in" else (hub, shared)
                attempt.txns += self.transfer(*pair, day, second, cents)
            else:
                attempt.txns.append(
                    self.outside(hub, "credit" if side == "in" else "debit", day, second, cents)
                )
        attempt.detail = f"degree={degree}; spread_days={spread}; hub={self.plan.cust.ids[hub]}"
        return attempt

    def chain(self, people: list[int], day: int, cents: int, attempt: Attempt, spread: int) -> int:
        """Money along ``people`` in time order, each passing most of it on; returns what arrives."""
        days = self.days_within(day, spread)
        second = int(self.rng.integers(8 * _HOUR, 11 * _HOUR))
        d_index = 0
        for sender, receiver in itertools.pairwise(people):
            legs = self.transfer(sender, receiver, days[d_index], second, cents)
            attempt.txns += legs
            cents = self.passed(legs[0].cents)
            second += int(self.rng.integers(1, 4)) * _HOUR
            if second > 20 * _HOUR and d_index + 1 < len(days):
                d_index += 1
                second = int(self.rng.integers(8 * _HOUR, 10 * _HOUR))
            elif second > 23 * _HOUR:
                second = 23 * _HOUR + int(self.rng.integers(0, 3000))
        return cents

    def cycle(self, small: bool) -> Attempt | None:
        hops = int(self.rng.integers(2, 13))
        spread = int(self.rng.integers(1, 6))
        start = self.start_for(spread)
        people = self.customers(hops, share=0.5)
        if start is None or people is None:
            return None
        attempt = Attempt("cycle", people, size=hops)
        self.chain([*people, people[0]], start, self.amount(small), attempt, spread)
        attempt.detail = (
            f"hops={hops}; path={' > '.join(self.plan.cust.ids[c] for c in [*people, people[0]])}"
        )
        return attempt

    def random_walk(self, small: bool) -> Attempt | None:
        hops = int(self.rng.integers(3, 9))
        spread = int(self.rng.integers(1, 5))
        start = self.start_for(spread)
        people = self.customers(hops + 1, share=0.5)
        if start is None or people is None:
            return None
        attempt = Attempt("random", people, size=hops)
        self.chain(people, start, self.amount(small), attempt, spread)
        attempt.detail = f"hops={hops}; path={' > '.join(self.plan.cust.ids[c] for c in people)}"
        return attempt

    def scatter_gather(self, small: bool, reverse: bool = False) -> Attempt | None:
        k = int(self.rng.integers(3, 7))
        spread = int(self.rng.integers(2, 6))
        start = self.start_for(spread, need=2)
        if start is None:
            return None
        days = self.days_within(start, spread)
        if not reverse:  # source -> k intermediaries -> sink
            people = self.customers(k + 2, share=0.5)
            if people is None:
                return None
            source, sink, middle = people[0], people[1], people[2:]
            attempt = Attempt("scatter_gather", people, size=k)
            for m in middle:
                cents = self.amount(small, k)
                second = int(self.rng.integers(8 * _HOUR, 12 * _HOUR))
                legs = self.transfer(source, m, days[0], second, cents)
                attempt.txns += legs
                cents = legs[0].cents
                later = days[int(self.rng.integers(0, len(days)))]
                on = (
                    second + int(self.rng.integers(1, 6)) * _HOUR
                    if later == days[0]
                    else int(self.rng.integers(8, 20)) * _HOUR
                )
                attempt.txns += self.transfer(m, sink, later, on, self.passed(cents))
            attempt.detail = (
                f"intermediaries={k}; source={self.plan.cust.ids[source]}; sink={self.plan.cust.ids[sink]}"
            )
            return attempt
        m_out = int(self.rng.integers(3, 7))
        people = self.customers(k + m_out + 1, share=0.5)
        if people is None:
            return None
        hub, sources, sinks = people[0], people[1 : k + 1], people[k + 1 :]
        attempt = Attempt("gather_scatter", people, size=k + m_out)
        gathered = 0
        for s in sources:
            legs = self.transfer(
                s, hub, days[0], int(self.rng.integers(8 * _HOUR, 12 * _HOUR)), self.amount(small, k)
            )
            gathered += legs[0].cents
            attempt.txns += legs
        each = self.passed(gathered) // m_out
        for t in sinks:
            later = days[int(self.rng.integers(0, len(days)))]
            second = int(self.rng.integers(13 * _HOUR, 20 * _HOUR))
            attempt.txns += self.transfer(hub, t, later, second, each + int(self.rng.integers(0, 100)) * 100)
        attempt.detail = f"sources={k}; sinks={m_out}; hub={self.plan.cust.ids[hub]}"
        return attempt

    def layers(self, pattern: str, small: bool) -> Attempt | None:
        """bipartite: a dense block of senders paying receivers (3-5 each side, every sender paying
        three or more of them); stack: a source set, two layers of pass-throughs and a sink set."""
        n_layers = 2 if pattern == "bipartite" else 4
        low = 3 if pattern == "bipartite" else 2
        sizes = [int(self.rng.integers(low, 6 if pattern == "bipartite" else 4)) for _ in range(n_layers)]
        spread = int(self.rng.integers(1, 5))
        start = self.start_for(spread)
        people = self.customers(sum(sizes), share=0.5)
        if start is None or people is None:
            return None
        days = self.days_within(start, spread)
        layers, pos = [], 0
        for size in sizes:
            layers.append(people[pos : pos + size])
            pos += size
        attempt = Attempt(pattern, people, size=sum(sizes))
        received = {c: 0 for c in people}
        second = int(self.rng.integers(8 * _HOUR, 10 * _HOUR))
        previous_day = -1
        for n, (senders, receivers) in enumerate(itertools.pairwise(layers)):
            day = days[min(n, len(days) - 1)]
            if day != previous_day and previous_day >= 0:
                second = int(self.rng.integers(8 * _HOUR, 10 * _HOUR))
            previous_day = day
            dense = 0.85 if pattern == "bipartite" else 0.75
            chosen = {s: [r for r in receivers if self.rng.random() < dense] for s in senders}
            if pattern == "bipartite":  # a block: every sender pays three receivers at least
                for s in senders:
                    missing = [r for r in receivers if r not in chosen[s]]
                    while len(chosen[s]) < 3:
                        chosen[s].append(missing.pop(0))
            for i, r in enumerate(receivers):  # every receiver gets money from someone
                if not any(r in targets for targets in chosen.values()):
                    chosen[senders[i % len(senders)]].append(r)
            for s in senders:
                targets = chosen[s]
                if not targets:
                    continue
                budget = (
                    self.passed(received[s])
                    if received[s]
                    else self.amount(small, len(targets) * len(senders)) * len(targets)
                )
                for r in targets:
                    legs = self.transfer(s, r, day, second, budget // len(targets))
                    received[r] += legs[0].cents
                    attempt.txns += legs
                    second += int(self.rng.integers(60, 600))
            second += 2 * _HOUR
        attempt.detail = "layers=" + " | ".join(
            ",".join(self.plan.cust.ids[c] for c in layer) for layer in layers
        )
        return attempt

    # ------------------------------------------------------------------ benign look-alikes
    def payroll(self) -> tuple[list[int], list[_Txn], str] | None:
        employer = self.customer(entity=True)
        staff = int(self.rng.integers(8, 21))
        if employer is None or len(self.plan.days) < 4:
            return None
        payday = len(self.plan.days) - 1 - int(self.rng.integers(0, 3))
        funded = max(0, payday - 3)
        total = 0
        txns: list[_Txn] = []
        salary = int(self.rng.integers(60, 160)) * 10_000  # CNY 6,000-15,900, the same for everyone
        for _ in range(staff):
            txns.append(
                self._outside(
                    employer, "debit", payday, 10 * _HOUR + int(self.rng.integers(0, 600)), salary, "salary"
                )
            )
            total += salary
        txns.append(self._outside(employer, "credit", funded, 9 * _HOUR, total + 500_000, "goods payment"))
        return [employer], txns, f"employees={staff}; salary={salary // 100}; payday={self.plan.days[payday]}"

    def merchant(self) -> tuple[list[int], list[_Txn], str] | None:
        shop = self.customer(entity=True)
        if shop is None:
            return None
        txns = [
            self._outside(
                shop,
                "credit",
                int(self.rng.integers(0, len(self.plan.days))),
                int(self.rng.integers(8 * _HOUR, 22 * _HOUR)),
                int(self.rng.integers(30, 800)) * 100,
                "goods payment",
            )
            for _ in range(int(self.rng.integers(20, 50)))
        ]
        return [shop], txns, f"sales={len(txns)}"

    def family(self) -> tuple[list[int], list[_Txn], str] | None:
        people = []
        for _ in range(3):
            c = self.customer(entity=False)
            if c is None:
                return None
            people.append(c)
        txns: list[_Txn] = []
        for round_ in range(int(self.rng.integers(1, 3))):
            start = self.start_for(3)
            if start is None:
                break
            days = self.days_within(start, 3)
            for n, (a, b) in enumerate(zip(people, [*people[1:], people[0]], strict=True)):
                txns += self.transfer(
                    a,
                    b,
                    days[min(n, len(days) - 1)],
                    18 * _HOUR + n * 600 + round_,
                    int(self.rng.integers(200, 3000)) * 100,
                    "family support",
                )
        return people, txns, "circle=" + " > ".join(self.plan.cust.ids[c] for c in people)

    def _outside(
        self, customer: int, direction: str, day: int, second: int, cents: int, purpose: str
    ) -> _Txn:
        cents = self._room(customer, day, cents)
        self._book(customer, day, cents)
        account, name = self.plan.counterparty()
        return self.plan.add(
            customer, day, second, direction, cents, cp_account=account, cp_name=name, purpose=purpose
        )


def plant(
    plan: _Plan,
    names: list[str],
    attempts_per_pattern: int,
    benign_each: int,
    window_rules: Callable[[list[_Txn]], set[str]],
) -> Laundering:
    """Plant ``attempts_per_pattern`` attempts of each pattern and ``benign_each`` of each look-alike.

    ``window_rules(legs)``: the window rules (re-implemented in Python by the caller) that one
    customer's legs trip on some business date of the run.
    """
    builder = _Builder(plan, names)
    benign: list[tuple[str, list[int], list[_Txn], str]] = []
    for _ in range(benign_each):  # first: they need entity customers, whom attempts may use up
        for kind, make in (
            ("payroll", builder.payroll),
            ("merchant", builder.merchant),
            ("family_circle", builder.family),
        ):
            made = make()
            if made is not None:
                benign.append((kind, *made))
    attempts: list[Attempt] = []
    for n in range(attempts_per_pattern):
        small = n % 4 == 3  # a quarter of the attempts move legs under the CNY 50,000 line
        for pattern in PATTERNS:
            if pattern in ("fan_in", "fan_out"):
                attempt = builder.fan(pattern[4:], small)
            elif pattern == "cycle":
                attempt = builder.cycle(small)
            elif pattern == "random":
                attempt = builder.random_walk(small)
            elif pattern in ("scatter_gather", "gather_scatter"):
                attempt = builder.scatter_gather(small, reverse=pattern == "gather_scatter")
            else:
                attempt = builder.layers(pattern, small)
            if attempt is not None:
                attempts.append(attempt)
                builder.members += [c for c in attempt.customers if c not in builder.members]
    # Truth: the Python window rules on every customer's own legs (each attempt's customers
    # carry only planted legs: their ordinary traffic is removed by regwatch.demo.typologies).
    by_customer: dict[int, list[_Txn]] = {}
    for t in plan.txns:
        by_customer.setdefault(t.customer, []).append(t)
    days = plan.days
    pattern_rows: list[tuple[str, ...]] = []
    for n, attempt in enumerate(attempts, start=1):
        expected: set[str] = set()
        if attempt.pattern in GRAPH_RULES:
            expected.add(GRAPH_RULES[attempt.pattern])
        for c in attempt.customers:
            expected |= window_rules(by_customer.get(c, []))
        first = min(t.day for t in attempt.txns)
        last = max(t.day for t in attempt.txns)
        moved = sum(t.cents for t in attempt.txns if t.direction == "debit" or t.cp_account.startswith("62"))
        pattern_rows.append(
            (
                f"AT{n:05d}",
                attempt.pattern,
                ";".join(plan.cust.ids[c] for c in attempt.customers),
                days[first].isoformat(),
                days[last].isoformat(),
                str(attempt.size),
                f"{moved // 100}.{moved % 100:02d}",
                ";".join(sorted(expected)),
                attempt.detail,
            )
        )
    benign_rows: list[tuple[str, ...]] = []
    for n, (kind, people, txns, detail) in enumerate(benign, start=1):
        for c in people:
            tripped = window_rules(by_customer[c]) & {"cn.aml.fan_in", "cn.aml.fan_out"}
            if tripped:
                raise AssertionError(f"benign {kind} trips {sorted(tripped)}")
        benign_rows.append(
            (
                f"BN{n:05d}",
                kind,
                BENIGN_IMITATES[kind],
                ";".join(plan.cust.ids[c] for c in people),
                days[min(t.day for t in txns)].isoformat(),
                days[max(t.day for t in txns)].isoformat(),
                detail,
            )
        )
    return Laundering(pattern_rows, benign_rows)
