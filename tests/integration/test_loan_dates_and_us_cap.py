"""Issue 15, point 9: a loan dated after the business date is flagged, and the us cap applies by contract date.

A loan contracted months after the business date loaded with no flag and vanished from
the positions (``fct_loan_positions`` keeps loans disbursed by D): it is now an exception
of its own, in both packs, until the business date reaches its contract date. The us APR
cap applied by business date (the rule's validity window) while the cn caps apply by
contract date (SPC: the cap at contract formation): it is now resolved per loan on its
contract date from the effective-dated seed ``rate_cap_policies``, like the cn caps.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import RulePack, load_pack
from regwatch.validate import run_rules
from tests.conftest import REPO_ROOT
from tests.helpers import lineage, raw_loan

pytestmark = pytest.mark.integration

D1, D = date(2025, 6, 2), date(2025, 6, 3)
FUTURE = date(2025, 10, 2)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("dates")
    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=tmp / "var", landing_dir=tmp / "landing", pack="us"
    )
    loans = [
        raw_loan("FUTURE", contract=FUTURE, currency="USD", rate="0.12"),  # dated four months after D
        raw_loan(
            "OLD", contract=date(2015, 1, 5), currency="USD", rate="0.45"
        ),  # contracted before the cap came into force
        raw_loan("NEW", contract=D1, currency="USD", rate="0.45"),  # contracted under the cap, above it
    ]
    with warehouse.connect(settings.warehouse_path) as con:
        for number, row in enumerate(loans, start=1):
            con.execute(
                f"INSERT INTO raw.loans VALUES ({', '.join('?' for _ in range(len(row) + 4))})",
                [*row, f"load-{D1}", D1, f"{D1}/loans.csv", number],
            )
    parameters = {name: p.value for name, p in load_pack(REPO_ROOT / "checks" / "us").parameters.items()}
    # The two marts the data-quality and rate-cap rules read (the families run below), with their parents.
    transform.build(
        D,
        settings,
        apr_convention="us_reg_z",
        pack_parameters=parameters,
        select=lineage("fct_loan_apr", "fct_loan_positions"),
    )
    return settings


def _family(pack: RulePack, family: str) -> RulePack:
    return pack.model_copy(update={"rules": tuple(r for r in pack.rules if r.family == family)})


def test_a_loan_dated_after_the_business_date_is_flagged_in_both_packs(built: Settings) -> None:
    con = duckdb.connect(str(built.warehouse_path), read_only=True)
    try:
        positions = {r[0] for r in con.execute("SELECT loan_id FROM marts.fct_loan_positions").fetchall()}
    finally:
        con.close()
    assert "FUTURE" not in positions  # not disbursed by D: not a position, hence the flag
    for name in ("cn", "us"):
        pack = _family(load_pack(REPO_ROOT / "checks" / name), "data_quality")
        found = run_rules(built.warehouse_path, pack, D, "RUN")
        rule = f"{name}.data_quality.loan_contract_date_after_business_date"
        assert list(zip(found.rule_id, found.entity_key, strict=True)) == [(rule, "FUTURE")], name
        evidence = json.loads(found.evidence.iloc[0])
        assert evidence["contract_date"] == FUTURE.isoformat() and evidence["business_date"] == D.isoformat()
        assert "after the business date" in found.message.iloc[0]
        assert pack.rule(rule).severity == "high"


def test_the_us_cap_applies_by_contract_date(built: Settings) -> None:
    pack = _family(load_pack(REPO_ROOT / "checks" / "us"), "rate_caps")
    found = run_rules(built.warehouse_path, pack, D, "RUN")
    fired = found[found.rule_id == "us.rate_caps.apr_above_cap"]
    assert list(fired.entity_key) == ["NEW"]  # OLD was contracted before the cap: not checked against it
    evidence = json.loads(fired.evidence.iloc[0])
    assert Decimal(evidence["us_apr_cap_rate"]) == Decimal("0.36")
    assert "contract date" in evidence["us_apr_cap_source"]
    assert "in force on its contract date 2025-06-02" in fired.message.iloc[0]
