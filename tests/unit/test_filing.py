"""Periods, their closing business dates, and which business date a filing is as of."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from regwatch.reporting.filing import FilingError, Period, _as_of, closing_business_date, quarter_of


def test_periods_parse_months_and_quarters() -> None:
    assert Period.parse("2025-06") == Period("2025-06", "month", date(2025, 6, 1), date(2025, 6, 30))
    assert Period.parse("2025Q2") == Period("2025Q2", "quarter", date(2025, 4, 1), date(2025, 6, 30))
    assert Period.parse("2024-12").end == date(2024, 12, 31)
    assert Period.parse("2024Q1").end == date(2024, 3, 31)
    assert Period.parse("2024-02").end == date(2024, 2, 29)
    for bad in ("2025-13", "2025Q5", "2025-6", "June", ""):
        with pytest.raises(FilingError):
            Period.parse(bad)


def test_closing_business_date_is_the_last_weekday() -> None:
    assert closing_business_date(Period.parse("2025-06")) == date(2025, 6, 30)  # a Monday
    assert closing_business_date(Period.parse("2025-05")) == date(2025, 5, 30)  # 31st is a Saturday
    assert closing_business_date(Period.parse("2025-08")) == date(2025, 8, 29)  # 31st is a Sunday


def test_quarter_of_a_month() -> None:
    assert quarter_of("2025-06") == "2025Q2"
    assert quarter_of("2025-12") == "2025Q4"
    assert quarter_of("2025-05") is None


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA reporting")
    con.execute(
        "CREATE TABLE reporting.rpt_disclosure_indicators (business_date DATE, period_id VARCHAR, is_period_closed BOOLEAN)"
    )
    con.execute(
        "INSERT INTO reporting.rpt_disclosure_indicators VALUES "
        "('2025-06-12', '2025-06', false), ('2025-06-13', '2025-06', false), "
        "('2025-05-30', '2025-05', true), ('2025-05-29', '2025-05', false)"
    )
    return con


def test_a_closed_period_is_filed_as_of_its_closing_date(con: duckdb.DuckDBPyConnection) -> None:
    assert _as_of(con, Period.parse("2025-05"), provisional=False) == (date(2025, 5, 30), True)
    assert _as_of(con, Period.parse("2025-05"), provisional=True) == (date(2025, 5, 30), True)


def test_an_open_period_is_refused_or_filed_provisionally(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(FilingError) as error:
        _as_of(con, Period.parse("2025-06"), provisional=False)
    message = str(error.value)
    assert "not closed" in message and "2025-06-30" in message and "2025-06-13" in message
    assert "--provisional" in message and "\n" not in message
    assert _as_of(con, Period.parse("2025-06"), provisional=True) == (date(2025, 6, 13), False)
    with pytest.raises(FilingError, match="no business date of period 2025Q3"):
        _as_of(con, Period.parse("2025Q3"), provisional=True)


def test_money_is_in_the_unit_of_the_pack_and_an_unknown_total_is_null() -> None:
    """Issue 15: the unit of an amount is the pack's reporting currency (CNY, USD, ...), never
    hard-coded; a total unknown for want of an FX rate is null, and a rate over it too."""
    from decimal import Decimal

    import jsonschema

    from regwatch.reporting import filing
    from tests.conftest import REPO_ROOT

    assert filing._number(Decimal("1234.5"), "USD") == "1234.50"
    assert filing._number(Decimal("1234.5"), "CNY") == "1234.50"
    assert filing._number(Decimal("3"), "count") == "3"
    schema = json.loads((REPO_ROOT / "reports" / filing.SCHEMA_FILE).read_text(encoding="utf-8"))
    item = {**schema["properties"]["indicators"]["items"], "$defs": schema["$defs"]}

    def indicator(**values: object) -> dict[str, object]:
        base: dict[str, object] = {
            "id": "outstanding_principal",
            "group": "balance",
            "breakdown": "total",
            "label": "Outstanding balance (principal)",
            "unit": "USD",
            "value": "1234.50",
            "numerator": "1234.50",
            "denominator": None,
            "definition": "d",
            "numerator_definition": "n",
            "denominator_definition": None,
        }
        return base | values

    validator = jsonschema.Draft202012Validator(item)
    assert not list(validator.iter_errors(indicator()))
    assert not list(validator.iter_errors(indicator(value=None, numerator=None)))  # unknown: a missing rate
    assert list(validator.iter_errors(indicator(value="1234.5")))  # money to the cent
    assert list(validator.iter_errors(indicator(unit="usd")))  # a currency code or count / rate
    rate = indicator(
        id="bad_debt_rate", group="rates", unit="rate", value=None, numerator=None, denominator="10.00"
    ) | {"denominator_definition": "outstanding_principal"}
    assert not list(validator.iter_errors(rate))
    assert list(validator.iter_errors(rate | {"value": "0.10000000"}))  # a known rate prints its terms
