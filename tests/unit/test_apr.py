"""regwatch.apr against the regulators' published worked examples, plus invariants.

Sources: 12 CFR 1026 Appendix J (c)(1)-(c)(5) (consumerfinance.gov/rules-policy/
regulations/1026/j/), whose published APRs are given to two decimals; Directive
98/7/EC Annex III and 2008/48/EC Annex I for the EU convention.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch.apr import (
    AprError,
    UnitPeriod,
    annual_rate,
    annual_rates,
    explain,
    infer_unit_period,
    shift_months,
)

D = date


def monthly(first: date, n: int, amount: float, every: int = 1) -> list[tuple[date, float]]:
    return [(shift_months(first, every * k), amount) for k in range(n)]


def weekly(first: date, n: int, amount: float, every: int = 1) -> list[tuple[date, float]]:
    return [(first + timedelta(days=7 * every * k), amount) for k in range(n)]


def semimonthly(first: date, n: int, amount: float) -> list[tuple[date, float]]:
    """Payments on the 1st and the 16th."""
    out, when = [], first
    for _ in range(n):
        out.append((when, amount))
        when = when.replace(day=16) if when.day == 1 else shift_months(when.replace(day=1), 1)
    return out


# (id, advances, payments, published APR in %, unit period, (t, f) of the first payment)
APPENDIX_J = [
    ("c1i", [(D(1978, 1, 10), 5000)], monthly(D(1978, 2, 10), 24, 230), 9.69, "month", (1, 0.0)),
    ("c1ii", [(D(1978, 2, 10), 6000)], monthly(D(1978, 4, 1), 36, 200), 11.82, "month", (1, 19 / 30)),
    (
        "c1iii",
        [(D(1978, 2, 23), 5000)],
        semimonthly(D(1978, 3, 1), 24, 219.17),
        10.34,
        "semimonth",
        (0, 6 / 15),
    ),
    (
        "c1iv",
        [(D(1978, 5, 23), 10000)],
        monthly(D(1978, 10, 1), 40, 385, every=3),
        8.97,
        "3 months",
        (1, (1 + 9 / 30) / 3),
    ),
    ("c1v", [(D(1978, 3, 20), 500)], weekly(D(1978, 4, 21), 30, 17.60), 14.96, "week", (4, 4 / 7)),
    (
        "c2i",
        [(D(1978, 1, 10), 5000)],
        [(D(1978, 2, 10), 250), *monthly(D(1978, 3, 10), 23, 230)],
        10.08,
        "month",
        (1, 0.0),
    ),
    (
        "c2ii",
        [(D(1978, 3, 18), 400)],
        [(D(1978, 4, 20), 39.50), *weekly(D(1978, 5, 18), 11, 38.31, every=4)],
        28.50,
        "4 weeks",
        (1, 5 / 28),
    ),
    (
        "c3i",
        [(D(1978, 1, 10), 5000)],
        [*monthly(D(1978, 2, 10), 23, 230), (D(1980, 1, 10), 280)],
        10.50,
        "month",
        (1, 0.0),
    ),
    (
        "c3ii",
        [(D(1978, 4, 3), 200)],
        [*weekly(D(1978, 4, 11), 19, 9.50, every=2), (D(1979, 1, 2), 30)],
        12.22,
        "2 weeks",
        (0, 8 / 14),
    ),
    (
        "c4i",
        [(D(1978, 1, 10), 5000)],
        [(D(1978, 2, 10), 250), *monthly(D(1978, 3, 10), 22, 230), (D(1980, 1, 10), 280)],
        10.90,
        "month",
        (1, 0.0),
    ),
    (
        "c4ii",
        [(D(1978, 1, 10), 8000)],
        [(D(1978, 3, 1), 449.36), *monthly(D(1978, 5, 1), 18, 465, every=2), (D(1981, 5, 1), 200)],
        7.30,
        "2 months",
        (0, (1 + 22 / 30) / 2),
    ),
    ("c5i", [(D(1978, 1, 3), 1000)], [(D(1978, 9, 15), 1080)], 11.45, "255 days", (1, 0.0)),
]


@pytest.mark.parametrize(
    ("advances", "payments", "published", "unit", "first"),
    [case[1:] for case in APPENDIX_J],
    ids=[case[0] for case in APPENDIX_J],
)
def test_appendix_j_published_examples(advances, payments, published, unit, first) -> None:
    w = explain(advances, payments, "us_reg_z")
    assert round(w.annual_rate * 100, 2) == published
    assert w.unit_period == unit
    payment = next(f for f in w.flows if f.side == "payment")
    assert payment.whole_periods == first[0]
    assert payment.fraction == pytest.approx(first[1], abs=1e-12)


def test_appendix_j_examples_through_the_batch_engine() -> None:
    loan, day, amount = [], [], []
    for j, (_, advances, payments, *_rest) in enumerate(APPENDIX_J):
        flows = sorted([(d, float(a)) for d, a in advances] + [(d, -float(a)) for d, a in payments])
        loan += [j] * len(flows)
        day += [np.datetime64(d.isoformat()) for d, _ in flows]
        amount += [a for _, a in flows]
    batch = annual_rates(np.array(loan), np.array(day), np.array(amount), "us_reg_z")
    assert [round(r * 100, 2) for r in batch.annual_rate] == [case[3] for case in APPENDIX_J]
    assert batch.unit_labels() == [case[4] for case in APPENDIX_J]


# Directive 98/7/EC Annex III, the worked examples of the APRC equation that 2008/48/EC
# Annex I restates (t in days / 365), with the rate i of the text to four places.
EU_EXAMPLES = [
    ("single_repayment", [(D(1994, 1, 1), 1000)], [(D(1995, 7, 1), 1200)], 0.1296),
    ("fee_retained", [(D(1994, 1, 1), 950)], [(D(1995, 7, 1), 1200)], 0.1690),
    ("two_instalments", [(D(1994, 1, 1), 1000)], [(D(1995, 1, 1), 600), (D(1996, 1, 1), 600)], 0.1307),
    (
        "three_instalments",
        [(D(1994, 1, 1), 1000)],
        [(D(1994, 4, 1), 272), (D(1994, 7, 1), 272), (D(1995, 1, 1), 544)],
        0.1323,
    ),
]


@pytest.mark.parametrize(
    ("advances", "payments", "published"),
    [c[1:] for c in EU_EXAMPLES],
    ids=[c[0] for c in EU_EXAMPLES],
)
def test_eu_examples(advances, payments, published) -> None:
    assert round(annual_rate(advances, payments, "eu_aprc"), 4) == published


def test_eu_convention_equals_pyxirr() -> None:
    """pyxirr's XIRR counts actual/365 like the EU convention: an independent implementation."""
    pyxirr = pytest.importorskip("pyxirr")
    advances = [(D(2025, 1, 10), 9700.0)]
    payments = monthly(D(2025, 2, 10), 12, 888.49)
    dates = [d for d, _ in advances + payments]
    values = [a for _, a in advances] + [-a for _, a in payments]
    assert annual_rate(advances, payments, "eu_aprc") == pytest.approx(pyxirr.xirr(dates, values), abs=1e-10)


def test_pboc_flat_monthly_rate_is_about_eleven_percent() -> None:
    """PBOC [2021] No. 3's example: "0.5% a month" on the original principal, 12 equal instalments."""
    principal = 12_000.0
    payments = monthly(D(2025, 2, 1), 12, principal / 12 + principal * 0.005)
    simple = annual_rate([(D(2025, 1, 1), principal)], payments, "cn_irr")
    compound = annual_rate([(D(2025, 1, 1), principal)], payments, "cn_irr_compound")
    assert round(simple, 3) == 0.109
    assert compound > simple


def test_cn_compound_is_simple_compounded() -> None:
    advances, payments = [(D(2025, 1, 10), 9700)], monthly(D(2025, 2, 10), 12, 888.49)
    w = explain(advances, payments, "cn_irr")
    assert w.annual_rate == pytest.approx(w.periodic_rate * 12)
    compound = annual_rate(advances, payments, "cn_irr_compound")
    assert compound == pytest.approx((1 + w.periodic_rate) ** 12 - 1, abs=1e-12)


@pytest.mark.parametrize(
    ("advances", "payments", "message"),
    [
        ([(D(2025, 1, 1), 1000)], [(D(2025, 2, 1), 900)], "never exceed advances"),
        ([(D(2025, 1, 1), 1000)], [], "at least one advance and one payment"),
        ([(D(2025, 1, 1), 1000)], [(D(2024, 12, 1), 1100)], "comes before the first advance"),
        ([(D(2025, 1, 1), -5)], [(D(2025, 2, 1), 10)], "must be positive"),
    ],
)
def test_cash_flows_without_a_rate_say_why(advances, payments, message) -> None:
    with pytest.raises(AprError, match=message):
        annual_rate(advances, payments, "cn_irr")


def test_batch_flags_the_same_cash_flows() -> None:
    loan = np.array([0, 0, 1, 2, 2, 3, 3])
    day = np.array(
        ["2025-01-01", "2025-02-01", "2025-01-01", "2025-01-01", "2024-12-01", "2025-01-01", "2025-02-01"]
    )
    amount = np.array([1000, -900, 1000, 1000, -1100, 1000, -1010.0])
    batch = annual_rates(loan, day.astype("datetime64[D]"), amount, "cn_irr")
    assert batch.error.tolist() == [2, 1, 3, 0]
    assert np.isnan(batch.annual_rate[:3]).all()
    assert batch.annual_rate[3] == pytest.approx(0.12, abs=1e-3)
    assert batch.error_messages()[0].startswith("payments never exceed")


def test_unknown_method_and_unit_are_refused() -> None:
    flows = ([(D(2025, 1, 1), 1000)], [(D(2025, 2, 1), 1010)])
    with pytest.raises(AprError, match="unknown APR method"):
        annual_rate(*flows, method="apy")
    with pytest.raises(AprError, match="not a standard interval"):
        annual_rate(*flows, method="cn_irr", unit_period="fortnight")


def test_unit_period_rules() -> None:
    assert UnitPeriod.parse("3 months") == UnitPeriod("month", 3)
    assert UnitPeriod.parse("year") == UnitPeriod("month", 12)
    assert UnitPeriod("month", 12).label == "year"
    # no common period: the average (26 and 28 days -> 27) rounds to the nearest standard interval
    assert infer_unit_period([D(2025, 1, 15)], [D(2025, 2, 10), D(2025, 3, 10)]) == UnitPeriod("week", 4)
    # a tie between two common periods goes to the smaller
    weeks = [D(2025, 1, 8), D(2025, 1, 15), D(2025, 2, 15), D(2025, 3, 15)]
    assert infer_unit_period([D(2025, 1, 1)], weeks) == UnitPeriod("week")
    # a single payment more than a year away counts in years
    assert infer_unit_period([D(2025, 1, 1)], [D(2027, 3, 1)]) == UnitPeriod("month", 12)
    # payments on the last day of each month are a month apart
    ends = [D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 31), D(2025, 4, 30)]
    assert infer_unit_period([D(2024, 12, 31)], ends) == UnitPeriod("month")


# --------------------------------------------------------------------------- properties


def _equal_installments(principal: float, rate: float, n: int, start: date) -> list[tuple[date, float]]:
    i = rate / 12
    payment = principal * i / (1 - (1 + i) ** -n) if rate > 1e-6 else principal / n
    return [(shift_months(start, k), payment) for k in range(1, n + 1)]


@settings(max_examples=60, deadline=None)
@given(
    principal=st.floats(1_000, 1_000_000),
    rate=st.floats(0.01, 0.36),
    n=st.integers(1, 60),
    start=st.dates(D(2015, 1, 1), D(2030, 12, 31)),
    method=st.sampled_from(["cn_irr", "us_reg_z"]),
)
def test_no_fee_equal_installment_apr_is_the_nominal_rate(principal, rate, n, start, method) -> None:
    apr = annual_rate([(start, principal)], _equal_installments(principal, rate, n, start), method)
    assert apr == pytest.approx(rate, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    principal=st.floats(1_000, 1_000_000),
    rate=st.floats(0.0, 0.36),
    n=st.integers(1, 36),
    upfront=st.floats(0.001, 0.1),
    monthly_fee=st.floats(0.0, 0.01),
    method=st.sampled_from(["cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc"]),
)
def test_any_fee_raises_the_apr(principal, rate, n, upfront, monthly_fee, method) -> None:
    start = D(2025, 3, 15)
    payments = _equal_installments(principal, rate, n, start)
    base = annual_rate([(start, principal)], payments, method)
    with_upfront = annual_rate([(start, principal * (1 - upfront))], payments, method)
    with_fee = annual_rate(
        [(start, principal)], [(d, a + principal * monthly_fee) for d, a in payments], method
    )
    assert with_upfront > base
    assert with_fee >= base
    if monthly_fee > 1e-6:
        assert with_fee > base


_schedules = st.tuples(
    st.dates(D(2000, 1, 1), D(2040, 12, 31)),
    st.sampled_from(["month", "2 months", "3 months", "week", "2 weeks", "semimonth", "irregular"]),
    st.integers(1, 40),
    st.integers(0, 45),
    st.floats(100, 100_000),
    st.one_of(st.just(0.0), st.floats(1e-4, 0.3)),
    st.integers(0, 2),
)


def _loan(spec: tuple) -> tuple[list[tuple[date, float]], list[tuple[date, float]]]:
    start, unit, n, odd, principal, markup, extra_advances = spec
    first = start + timedelta(days=odd + 1)
    if unit == "semimonth":
        dates = [d for d, _ in semimonthly(first.replace(day=1 if first.day < 16 else 16), n, 1.0)]
        dates = [d for d in dates if d > start] or [first]
    elif unit == "irregular":
        dates = [
            first + timedelta(days=int(x)) for x in np.cumsum([0] + [(7 * k) % 45 + 3 for k in range(n - 1)])
        ]
    elif unit.endswith("weeks") or unit == "week":
        dates = [d for d, _ in weekly(first, n, 1.0, every=2 if unit.startswith("2") else 1)]
    else:
        every = int(unit.split()[0]) if " " in unit else 1
        dates = [d for d, _ in monthly(first, n, 1.0, every=every)]
    advances = [(start, principal)]
    advances += [(start + timedelta(days=10 * k + 5), principal / 10) for k in range(extra_advances)]
    received = sum(a for _, a in advances)
    payment = received * (1 + markup) / len(dates)
    return advances, [(d, payment) for d in dates]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loans=st.lists(_schedules, min_size=1, max_size=12),
    method=st.sampled_from(["cn_irr", "us_reg_z", "eu_aprc"]),
)
def test_vectorised_equals_scalar(loans, method) -> None:
    specs = [_loan(spec) for spec in loans]
    loan, day, amount, expected = [], [], [], []
    for j, (advances, payments) in enumerate(specs):
        flows = sorted([(d, a) for d, a in advances] + [(d, -a) for d, a in payments], key=lambda f: f[0])
        loan += [j] * len(flows)
        day += [(d - D(1970, 1, 1)).days for d, _ in flows]
        amount += [a for _, a in flows]
        try:
            expected.append(annual_rate(advances, payments, method))
        except AprError:
            expected.append(float("nan"))
    batch = annual_rates(np.array(loan), np.array(day), np.array(amount), method, workers=1)
    # Both solvers stop on a step relative to the rate (above 1): 1e-9 absolute under
    # 1, 1e-12 relative above (a rate of 409,578 differed by 3e-15 of itself).
    np.testing.assert_allclose(batch.annual_rate, expected, rtol=1e-12, atol=1e-9)
    assert [bool(e) for e in batch.error] == [bool(np.isnan(x)) for x in expected]


# --------------------------------------------------------------------------- beyond the solver's range (issue 15, point 9)

ONE_DAY = ([(D(2025, 6, 2), 100)], [(D(2025, 6, 3), 100_000)])  # 100 -> 100,000 the next day


@pytest.mark.parametrize("method", ["cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc"])
def test_a_rate_beyond_the_solvers_range_is_a_clear_error(method) -> None:
    """99,900 % a day: compounded over 365 days a year it is no float; every method says so."""
    with pytest.raises(AprError, match="beyond the solver's range"):
        explain(*ONE_DAY, method)


@pytest.mark.parametrize("rate", [6e5, 8e5, 9.99e5, 1.2e6, 4e6])
def test_both_engines_draw_the_solvers_range_at_the_same_rate(rate) -> None:
    """A periodic rate between 2**19 and the range's top (1,000,000) is solved, not refused.

    The scalar solver doubled its upper bracket from 1 and gave up once it passed
    1,000,000, so every rate above 524,288 was "beyond the solver's range" there while the
    batch engine solved it (hypothesis found one: 929,789 under eu_aprc). Both now refuse
    exactly the rates above the range's top.
    """
    start = D(2025, 6, 2)
    paid = 100 * (1 + rate) ** (7 / 365)  # 100 lent, repaid a week later: eu_aprc's rate is `rate`
    batch = annual_rates(
        np.array([0, 0]),
        np.array([str(start), str(start + timedelta(days=7))]).astype("datetime64[D]"),
        np.array([100.0, -paid]),
        "eu_aprc",
    )
    if rate > 1e6:
        with pytest.raises(AprError, match="beyond the solver's range"):
            annual_rate([(start, 100.0)], [(start + timedelta(days=7), paid)], "eu_aprc")
        assert np.isnan(batch.annual_rate[0]) and batch.error[0] == 4
    else:
        scalar = annual_rate([(start, 100.0)], [(start + timedelta(days=7), paid)], "eu_aprc")
        assert scalar == pytest.approx(rate, rel=1e-12)
        assert batch.annual_rate[0] == pytest.approx(scalar, rel=1e-12) and batch.error[0] == 0


def test_the_batch_engine_flags_a_rate_beyond_its_range() -> None:
    (start, lent), (end, paid) = ONE_DAY[0][0], ONE_DAY[1][0]
    for method in ("cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc"):
        batch = annual_rates(
            np.array([0, 0, 1, 1]),
            np.array([str(start), str(end), "2025-01-01", "2025-02-01"]).astype("datetime64[D]"),
            np.array([lent, -paid, 1000, -1010.0]),
            method,
        )
        assert np.isnan(batch.annual_rate[0]) and batch.error[0] > 0, method
        assert "beyond the solver's range" in batch.error_messages()[0], method
        assert batch.error[1] == 0 and batch.annual_rate[1] > 0, method
