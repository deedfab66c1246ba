"""One rule, one place to read (issue 16): the pack parameters that shape a rule's mart.

dbt parses the project once (module fixture, no warehouse built); the tests read its
``manifest.json``. A parameter reaches dbt three ways - ``pack_param``, ``pack_value``
(also inside a macro: ``aging_bucket``), a model config (``watchlist_review_floor`` of a
Python model) - and ``audit diff`` must attribute a change of any of them to the rules whose
mart reads it.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from regwatch import audit
from regwatch.rules import (
    RulePackError,
    check_model_parameters,
    load_pack,
    model_parameter_reads,
    read_dbt_manifest,
)
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DAY = date(2025, 6, 2)
CN = REPO_ROOT / "checks" / "cn"

#: The marts whose lineage reads each parameter, read off the SQL by hand: the loan-side
#: marts rebuild positions from allocated repayments and aged installments; the watch-list
#: marts read the scored matches; the disclosed ratios only shape the disclosure filing.
_LOAN_MARTS = {
    "fct_loan_apr",
    "fct_loan_positions",
    "fct_borrower_exposures",
    "fct_platform_concentration",
    "fct_fx_rates_used",
}
MARTS_READING = {
    "repayment_allocation_order": _LOAN_MARTS,  # pack_value in int_repayments_allocated
    "overdue_bucket_upper_days": _LOAN_MARTS,  # pack_value inside the aging_bucket macro
    "watchlist_review_floor": {
        "fct_customer_watchlist_matches",
        "fct_counterparty_watchlist_matches",
    },  # config
    "project_overdue_rate": set(),  # pack_value(id) over a list in rpt_disclosure_indicators
    "amount_overdue_rate": set(),
    "bad_debt_rate": set(),
    "cumulative_loss_rate": set(),
    "cumulative_loss_rate_net": set(),
}
CHANGED_VALUE = {
    "repayment_allocation_order": "latest_due_first",
    "overdue_bucket_upper_days": [30, 90],
    "watchlist_review_floor": 70,
    "project_overdue_rate": {"numerator": "overdue_loan_count", "denominator": "outstanding_loan_count"},
    "amount_overdue_rate": {"numerator": "overdue_loan_principal", "denominator": "outstanding_principal"},
    "bad_debt_rate": {"numerator": "overdue_90_plus_loan_principal", "denominator": "cumulative_loan_amount"},
    "cumulative_loss_rate": {
        "numerator": "written_off_principal_net",
        "denominator": "cumulative_loan_amount",
    },
    "cumulative_loss_rate_net": {
        "numerator": "written_off_principal",
        "denominator": "cumulative_loan_amount",
    },
}


def _parse(pack_dir: Path, out: Path) -> Path:
    """``dbt parse`` of the project with ``pack_dir``'s parameters; the path of its manifest.json."""
    from dbt.cli.main import dbtRunner

    pack = load_pack(pack_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGWATCH_WAREHOUSE", str(out / "warehouse.duckdb"))
        parsed = dbtRunner().invoke(
            [
                "parse",
                "--project-dir",
                str(REPO_ROOT / "dbt_project"),
                "--profiles-dir",
                str(REPO_ROOT / "dbt_project"),
                "--target-path",
                str(out / "target"),
                "--log-path",
                str(out / "logs"),
                "--vars",
                json.dumps(
                    {
                        "business_date": DAY.isoformat(),
                        "reporting_currency": pack.currency,
                        "pack": {name: p.value for name, p in sorted(pack.parameters.items())},
                    },
                    default=str,
                ),
                "--quiet",
                "--no-partial-parse",
            ]
        )
    assert parsed.success, f"dbt parse failed: {parsed.exception}"
    return out / "target" / "manifest.json"


@pytest.fixture(scope="module")
def cn_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _parse(CN, tmp_path_factory.mktemp("dbt-cn"))


def _pack_with(tmp_path: Path, name: str, value: object) -> Path:
    pack_dir = tmp_path / "cn"
    shutil.copytree(CN, pack_dir)
    header = yaml.safe_load((pack_dir / "_pack.yml").read_text(encoding="utf-8"))
    assert name in header["parameters"], name
    header["parameters"][name]["value"] = value
    (pack_dir / "_pack.yml").write_text(yaml.safe_dump(header, allow_unicode=True), encoding="utf-8")
    return pack_dir


@pytest.mark.parametrize("name", sorted(MARTS_READING))
def test_audit_diff_attributes_a_parameter_change_to_the_rules_whose_mart_reads_it(
    name: str, cn_manifest: Path, tmp_path: Path
) -> None:
    old = load_pack(CN)
    new = load_pack(_pack_with(tmp_path, name, CHANGED_VALUE[name]))
    causes, unattributed = audit._rule_causes(
        old, new, DAY, DAY, audit.parameter_readers(cn_manifest, set(old.parameters) | set(new.parameters))
    )
    expected = {r.id for r in new.rules if r.model in MARTS_READING[name] and r.applies_on(DAY)}
    blamed = {rule_id for rule_id, cause in causes.items() if f"pack parameter {name} " in cause}
    assert blamed == expected
    assert set(causes) == expected  # nothing else changed
    if expected:
        assert not [p for p in unattributed if p.startswith(f"{name}:")]
    else:
        # Read by no rule's mart: the change is listed with the models it does shape.
        (line,) = [p for p in unattributed if p.startswith(f"{name}:")]
        assert "rpt_disclosure_indicators" in line and "no rule" in line


def test_every_rule_declares_exactly_what_its_mart_reads(cn_manifest: Path) -> None:
    """The checked-in packs agree with dbt (cn's typology marts are disabled for us: same code)."""
    manifest = read_dbt_manifest(cn_manifest)
    for pack in (load_pack(CN), load_pack(CN.parent / "us")):
        check_model_parameters(pack, manifest)
    reads = model_parameter_reads(manifest, load_pack(CN).parameters)
    # the three ways, each seen: pack_param, pack_value (through the aging_bucket macro), a config
    assert "fan_in_window_days" in reads["fct_customer_fan_in_windows"]
    assert {"overdue_bucket_upper_days", "repayment_allocation_order"} <= reads["fct_loan_positions"]
    assert reads["fct_customer_watchlist_matches"] == {"watchlist_review_floor"}
    shaped = [r for r in load_pack(CN).rules if r.model_parameters]
    assert len(shaped) >= 19, len(shaped)  # issue 16 counted 19 of 26 rules shaped by unnamed parameters


def test_a_declaration_that_disagrees_with_dbt_fails_the_pack_both_ways(
    cn_manifest: Path, tmp_path: Path
) -> None:
    manifest = read_dbt_manifest(cn_manifest)
    rule = "cn.aml.watchlist_customer_match"
    path = tmp_path / "cn" / "aml.yml"
    shutil.copytree(CN, tmp_path / "cn")
    text = path.read_text(encoding="utf-8")
    declared = "    model: fct_customer_watchlist_matches\n    model_parameters: [watchlist_review_floor]\n"
    assert text.count(declared) == 1
    # read but not declared: the rule's result would change unseen
    path.write_text(
        text.replace(declared, declared.replace("[watchlist_review_floor]", "[]")), encoding="utf-8"
    )
    with pytest.raises(
        RulePackError,
        match=rf"rule {rule}: fct_customer_watchlist_matches reads watchlist_review_floor, not in its model_parameters",
    ):
        check_model_parameters(load_pack(tmp_path / "cn"), manifest)
    # declared but never read: audit diff would blame the rule for a change that cannot touch it
    path.write_text(
        text.replace(declared, declared.replace("floor]", "floor, serious_overdue_days]")), encoding="utf-8"
    )
    with pytest.raises(
        RulePackError,
        match=rf"rule {rule}: model_parameters serious_overdue_days not read by fct_customer_watchlist_matches",
    ):
        check_model_parameters(load_pack(tmp_path / "cn"), manifest)
    # not declared at all (a key every rule of a running pack must have), and a model dbt lacks
    path.write_text(
        text.replace(declared, "    model: fct_no_such_mart\n    model_parameters: []\n").replace(
            "    model_parameters: [watchlist_review_floor]\n", "", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(RulePackError) as error:
        check_model_parameters(load_pack(tmp_path / "cn"), manifest)
    assert f"rule {rule}: model fct_no_such_mart is not a dbt model" in str(error.value)
    assert (
        "rule cn.aml.watchlist_counterparty_match: no model_parameters; fct_counterparty_watchlist_matches reads: watchlist_review_floor"
        in str(error.value)
    )
    assert "\n" not in str(error.value)  # one line: the CLI prints an error's first line


def test_a_pack_sealed_before_model_parameters_still_replays(cn_manifest: Path, tmp_path: Path) -> None:
    """audit rerun and rebuild replay recorded packs: one that predates the key is not checked."""
    shutil.copytree(CN, tmp_path / "cn")
    for path in (tmp_path / "cn").glob("[!_]*.yml"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept, skipping = [], False
        for line in lines:
            if line.startswith("    model_parameters:"):
                skipping = not line.rstrip().endswith("]")
                continue
            if skipping and line.startswith("      - "):
                continue
            skipping = False
            kept.append(line)
        path.write_text("".join(kept), encoding="utf-8")
    old = load_pack(tmp_path / "cn")
    assert all(rule.model_parameters is None for rule in old.rules)
    check_model_parameters(old, read_dbt_manifest(cn_manifest))
    # and audit diff still attributes its changes, from the dbt manifest
    new = load_pack(_pack_with(tmp_path / "b", "watchlist_review_floor", 70))
    causes, _ = audit._rule_causes(
        old, new, DAY, DAY, audit.parameter_readers(cn_manifest, set(new.parameters))
    )
    assert set(causes) == {"cn.aml.watchlist_customer_match", "cn.aml.watchlist_counterparty_match"}
