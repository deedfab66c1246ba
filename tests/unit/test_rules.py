"""Rule packs load into typed rules; every mistake is one clear line naming file and problem."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from regwatch.rules import RulePackError, load_pack
from tests.conftest import REPO_ROOT

CN = REPO_ROOT / "checks" / "cn"


def test_cn_pack_loads_with_parameters_resolved() -> None:
    pack = load_pack(CN)
    assert pack.name == "cn" and len(pack.sha256) == 64
    cash = pack.rule("cn.aml.large_cash")
    # the lines reach the mart as pack parameters; the rule reads the mart's one decision
    assert cash.resolved_kwargs(pack.parameters) == {"column": "reportable_category", "value_set": ["cash"]}
    assert pack.parameters["large_cash_threshold_cny"].value == 50000
    apr = pack.rule("cn.rate_caps.real_apr_above_comprehensive_cap")
    # caps come from the effective-dated seeds, per loan: the rule compares two columns
    assert apr.resolved_kwargs(pack.parameters)["column_A"] == "comprehensive_cap_rate"
    assert apr.column == "real_apr"
    assert {r.family for r in pack.rules} == {"aml", "data_quality", "disclosures", "rate_caps"}
    assert all(rule.legal_basis for rule in pack.rules)


def test_a_pair_expectation_needs_both_columns(tmp_path: Path) -> None:
    pack = tmp_path / "cn"
    shutil.copytree(CN, pack)
    text = (pack / "rate_caps.yml").read_text().replace("column_A: court_cap_rate", "colum_A: court_cap_rate")
    (pack / "rate_caps.yml").write_text(text)
    with pytest.raises(RulePackError, match="kwargs needs column_A"):
        load_pack(pack)


def test_us_pack_loads() -> None:
    pack = load_pack(REPO_ROOT / "checks" / "us")
    assert pack.apr_convention == "us_reg_z"
    assert [r.id for r in pack.rules] == [
        "us.aml.cash_above_ctr_threshold",
        "us.aml.missing_fx_rate",
        "us.data_quality.loan_contract_date_after_business_date",
        "us.data_quality.loan_schedule_not_derivable",
        "us.rate_caps.apr_above_cap",
    ]
    ctr = pack.rule("us.aml.cash_above_ctr_threshold")
    assert ctr.resolved_kwargs(pack.parameters) == {"column": "cash_amount_usd", "max_value": 10000}


def test_validity_window_is_inclusive_exclusive() -> None:
    rule = load_pack(CN).rule("cn.aml.large_cash").model_copy(update={"valid_to": date(2026, 1, 1)})
    assert rule.applies_on(date(2017, 7, 1)) and rule.applies_on(date(2025, 12, 31))
    assert not rule.applies_on(date(2017, 6, 30)) and not rule.applies_on(date(2026, 1, 1))


def _broken(tmp_path: Path, old: str, new: str, file: str = "aml.yml") -> Path:
    pack = tmp_path / "cn"
    shutil.copytree(CN, pack)
    text = (pack / file).read_text()
    assert old in text
    (pack / file).write_text(text.replace(old, new, 1))
    return pack


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    severity: high", "    severity: high\n    sevrity: high", "rules.0.sevrity: unknown key"),
        ("severity: high", "severity: urgent", "rules.0.severity"),
        ("value_set: [cash]", "value_set: $large_cash_list", "unknown parameter $large_cash_list"),
        ("id: cn.aml.large_cash", "id: cn.rate_caps.large_cash", "does not match the file aml.yml"),
        ("id: cn.aml.large_cash", "id: us.aml.large_cash", "does not start with the pack name"),
        ("id: cn.aml.large_cash", "id: cn.aml.Large-Cash", "is not <pack>.<family>.<slug>"),
        ("expect_column_values_to_not_be_in_set", "expect_column_values_to_be_fine", "is not supported"),
        ("valid_to: null", "valid_to: 2010-01-01", "is not after valid_from"),
        ("value_set: [cash]", "value_set: [cash]\n      mostly: 0.9", "are not arguments of"),
        ("rules:", "rules: [", "not valid YAML"),
    ],
)
def test_each_mistake_is_one_clear_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(RulePackError) as error:
        load_pack(_broken(tmp_path, old, new))
    text = str(error.value)
    assert message in text and "aml.yml" in text and "\n" not in text


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    pack = tmp_path / "cn"
    shutil.copytree(CN, pack)
    text = (pack / "aml.yml").read_text()
    (pack / "aml.yml").write_text(text + text.removeprefix("rules:\n"))
    with pytest.raises(RulePackError, match=r"rule cn\.aml\.large_cash: duplicate id"):
        load_pack(pack)


def test_pack_hash_changes_with_any_byte(tmp_path: Path) -> None:
    before = load_pack(CN).sha256
    after = load_pack(_broken(tmp_path, "severity: high", "severity: medium")).sha256
    assert before != after


def test_every_rule_has_an_alert_kind_aml_events_by_default(tmp_path: Path) -> None:
    """Issue 15: conditions resolve when they stop, events wait for a decision."""
    for pack in (load_pack(CN), load_pack(CN.parent / "us")):
        for rule in pack.rules:
            # a missing FX rate is a condition: it resolves when the rate is delivered (issue 15 point 3)
            gap = rule.id.endswith(".aml.missing_fx_rate")
            expected = "event" if rule.family == "aml" and not gap else "condition"
            assert rule.kind == expected, rule.id
    # a rule that declares no kind takes its family's: an aml rule added later is an event
    undeclared = load_pack(_broken(tmp_path / "a", "    kind: event\n", ""))
    assert undeclared.rule("cn.aml.large_cash").kind == "event"
    rate = load_pack(_broken(tmp_path / "b", "    kind: condition\n", "", file="rate_caps.yml"))
    assert rate.rule("cn.rate_caps.real_apr_above_comprehensive_cap").kind == "condition"
    # an explicit kind wins over the family's
    declared = load_pack(_broken(tmp_path / "c", "    kind: event\n", "    kind: condition\n"))
    assert declared.rule("cn.aml.large_cash").kind == "condition"
    with pytest.raises(RulePackError, match=r"aml\.yml: rules\.0\.kind"):
        load_pack(_broken(tmp_path / "d", "    kind: event\n", "    kind: sticky\n"))


def test_rules_list_shows_each_rule_kind() -> None:
    from click.testing import CliRunner

    from regwatch.cli import main

    result = CliRunner().invoke(main, ["rules", "list"], env={"REGWATCH_HOME": str(REPO_ROOT)})
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[2] for line in result.output.splitlines()[1:]}
    assert lines["cn.aml.watchlist_counterparty_match"] == "event"
    assert lines["cn.rate_caps.real_apr_above_comprehensive_cap"] == "condition"
