"""Every key check still stops the build, in fewer dbt nodes (issue 17: a day's fixed cost).

A day's transform is mostly dbt's per-node overhead, and a third of the nodes were key
tests. Two changes, each check kept:

- ``unique`` + ``not_null`` on the same column (22 keys of staging and intermediate models)
  are one generic test, ``primary_key`` (``dbt_project/tests/generic/primary_key.sql``):
  one node per key instead of two.
- A contracted mart's key is a ``primary_key`` constraint of its contract, which DuckDB
  enforces when dbt inserts the rows: a duplicated key fails the model itself, and its
  ``unique`` data test runs only where the constraint is not enforced (Spark). The six marts
  that grow with the book (a row per transaction, customer-day, loan or borrower) keep their
  ``unique`` test: the constraint's index costs 10-20x the test's GROUP BY at platform scale.

Each model here is replaced, in a copy of the project, by literal rows, so a build of that
one model shows what a duplicated or null key does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from regwatch import transform
from regwatch.config import Settings
from tests.helpers import project_copy

pytestmark = pytest.mark.integration

D1 = date(2025, 6, 2)
CALENDAR = Path("models/intermediate/calendar/int_working_days_counted.sql")
CHURN = Path("models/marts/aml/fct_customer_account_churn.sql")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the project's content folders (its models replaced by the tests) and an empty warehouse."""
    return project_copy(tmp_path_factory.mktemp("keys"))


@contextmanager
def replaced(settings: Settings, model: Path, sql: str) -> Iterator[None]:
    path = settings.dbt_project_dir / model
    original = path.read_text()
    path.write_text(sql)
    try:
        yield
    finally:
        path.write_text(original)


def calendar_rows(*days: str | None) -> str:
    """int_working_days_counted as literal rows, one per calendar date (None: a null date)."""
    rows = ", ".join(
        f"({'null' if day is None else repr(day)}::date, true, 'working', null::varchar, 'test', {n})"
        for n, day in enumerate(days, start=1)
    )
    return (
        f"select * from (values {rows}) as t(calendar_date, is_working_day, day_type, holiday_name,"
        " calendar_source, working_days_to_date)"
    )


def churn_rows(*customers: str) -> str:
    """fct_customer_account_churn as literal rows with its contract's columns, one per customer."""
    rows = ", ".join(
        f"(date '2025-06-02', '{c}|account_churn', '{c}', date '2025-05-04', 1, 0, 1, 'A-{c}',"
        " timestamp '2025-06-02 09:00:00', timestamp '2025-06-02 09:00:00')"
        for c in customers
    )
    return (
        "select business_date, cast(entity_key as {{ dbt.type_string() }}) as entity_key,"
        " cast(customer_id as {{ dbt.type_string() }}) as customer_id, window_start_date,"
        " cast(accounts_opened as integer) as accounts_opened, cast(accounts_closed as integer) as accounts_closed,"
        " cast(churn_event_count as integer) as churn_event_count,"
        " cast(account_ids as {{ dbt.type_string() }}) as account_ids, first_event_at, last_event_at"
        f" from (values {rows}) as t(business_date, entity_key, customer_id, window_start_date, accounts_opened,"
        " accounts_closed, churn_event_count, account_ids, first_event_at, last_event_at)"
    )


@pytest.mark.parametrize(
    "days",
    [("2025-06-02", "2025-06-03", "2025-06-03"), ("2025-06-02", None)],
    ids=["duplicated key", "null key"],
)
def test_a_duplicated_or_null_key_fails_the_build(project: Settings, days: tuple[str | None, ...]) -> None:
    """One ``primary_key`` test does what ``unique`` and ``not_null`` did: either fault fails the build."""
    with (
        replaced(project, CALENDAR, calendar_rows(*days)),
        pytest.raises(transform.TransformError, match="primary_key_int_working_days_counted_calendar_date"),
    ):
        transform.build(D1, project, select=("int_working_days_counted",))


def test_a_duplicated_mart_key_fails_the_model(project: Settings) -> None:
    """The contract's primary key, enforced by DuckDB: the model fails naming the key."""
    with (
        replaced(project, CHURN, churn_rows("C1", "C2", "C1")),
        pytest.raises(
            transform.TransformError, match=r"model fct_customer_account_churn: .*C1\|account_churn"
        ),
    ):
        transform.build(D1, project, select=("fct_customer_account_churn",))


def test_good_keys_pass_with_one_node_per_key(project: Settings) -> None:
    """The same builds with distinct keys pass; each key is checked by one node (or none: the contract)."""
    with (
        replaced(project, CALENDAR, calendar_rows("2025-06-02", "2025-06-03")),
        replaced(project, CHURN, churn_rows("C1", "C2")),
    ):
        result = transform.build(
            D1, project, select=("int_working_days_counted", "fct_customer_account_churn")
        )
    assert (result.models, result.tests) == (2, 1), result
    manifest = json.loads((project.dbt_target_dir / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    kinds = [(n.get("test_metadata") or {}).get("name") for n in tests]
    # No column has both a unique and a not_null test left: each such pair is one primary_key.
    keyed = {}
    for node, kind in zip(tests, kinds, strict=True):
        if kind in {"unique", "not_null"}:
            keyed.setdefault((node["attached_node"], node["column_name"]), set()).add(kind)
    assert not [key for key, found in keyed.items() if found == {"unique", "not_null"}]
    assert kinds.count("primary_key") == 22
    # Every contracted mart with a primary_key constraint has its unique test disabled on DuckDB
    # (dbt leaves disabled nodes out of "nodes").
    constrained = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and any(c["type"] == "primary_key" for col in n["columns"].values() for c in col["constraints"])
    ]
    assert len(constrained) == 20
    assert not [
        n
        for n, kind in zip(tests, kinds, strict=True)
        if kind == "unique" and n["attached_node"] in {m["unique_id"] for m in constrained}
    ]
    # The marts that grow with the book (a row per transaction, customer-day, loan or borrower)
    # keep a unique test instead: the constraint's index costs 10-20x its GROUP BY at scale.
    # Every contracted mart's (and report table's) key is checked one way or the other.
    unique_tested = {n["attached_node"] for n, kind in zip(tests, kinds, strict=True) if kind == "unique"}
    # rpt_disclosure_indicators' key is several columns: the project's unique_key test.
    unique_tested |= {
        n["attached_node"] for n, kind in zip(tests, kinds, strict=True) if kind == "unique_key"
    }
    marts = {
        n["unique_id"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["fqn"][1] in {"marts", "reporting"}
        and n["config"]["contract"]["enforced"]
    }
    assert len(marts) == 27
    assert marts <= unique_tested | {m["unique_id"] for m in constrained}, marts - unique_tested
    assert {m.split(".")[-1] for m in marts & unique_tested} - {"rpt_disclosure_indicators"} == {
        "fct_high_risk_jurisdiction_transactions",
        "fct_customer_large_value_days",
        "fct_customer_cash_days",
        "fct_loan_positions",
        "fct_loan_apr",
        "fct_borrower_exposures",
    }
