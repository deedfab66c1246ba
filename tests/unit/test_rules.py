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


# --- model_parameters: the pack parameters that shape a rule's mart (issue 16) ----------------


def _model(
    name: str, code: str, parents: tuple[str, ...] = (), macros: tuple[str, ...] = (), **config: object
) -> dict:
    return {
        f"model.regwatch.{name}": {
            "name": name,
            "resource_type": "model",
            "raw_code": code,
            "config": {"materialized": "table", **config},
            "depends_on": {"nodes": [f"model.regwatch.{p}" for p in parents], "macros": list(macros)},
            "refs": [{"name": p, "package": None, "version": None} for p in parents],
        }
    }


def _macro(name: str, code: str, macros: tuple[str, ...] = ()) -> dict:
    return {
        f"macro.regwatch.{name}": {
            "name": name,
            "macro_sql": code,
            "depends_on": {"macros": list(macros)},
        }
    }


_NAMES = {"window_days", "bucket_bounds", "order", "floor", "purposes", "rate_a", "rate_b", "unread", "gate"}
_MANIFEST = {
    "nodes": {
        **_model(
            "int_windows",
            "select {{ pack_param('window_days') }} as w",
            macros=("macro.regwatch.pack_param",),
        ),
        **_model(
            "int_aged",
            "{# bucket_bounds and 'unread' are only mentioned here #}\nselect {{ aging('days') }}",
            ("int_windows",),
            macros=("macro.regwatch.aging",),
        ),
        **_model("int_allocated", "{%- set o = pack_value('order') -%} select 1", ("int_aged",)),
        **_model("int_scored", "def model(dbt, session):\n    dbt.config.get('floor')\n", floor=80),
        **_model("int_purposes", "{%- set p = (var('pack', {}) or {}).get('purposes') -%} select 1"),
        **_model(
            "fct_gated",
            "{{ config(enabled=pack_defines(['gate'])) }} select {{ pack_param('window_days') }}",
        ),
        **_model("fct_positions", "select * from {{ ref('int_allocated') }}", ("int_allocated",)),
        **_model(
            "rpt_rates",
            "{%- for id in ['rate_a', 'rate_b'] %}{%- set spec = pack_value(id) %}{% endfor %}",
            ("fct_positions",),
        ),
    },
    "macros": {
        **_macro(
            "pack_param", "{% macro pack_param(name, default=none) %}{{ var('pack')[name] }}{% endmacro %}"
        ),
        **_macro("aging", "{% macro aging(days) %}{%- set b = pack_value('bucket_bounds') -%}{% endmacro %}"),
    },
    # a model disabled for this pack: dbt leaves its depends_on empty, its refs name the parents
    "disabled": {
        "model.regwatch.fct_disabled": [
            {
                "name": "fct_disabled",
                "resource_type": "model",
                "raw_code": "select * from {{ ref('int_purposes') }}",
                "config": {},
                "depends_on": {"nodes": [], "macros": []},
                "refs": [{"name": "int_purposes", "package": None, "version": None}],
            }
        ]
    },
}


def test_model_parameter_reads_finds_every_way_a_parameter_reaches_dbt() -> None:
    from regwatch.rules import model_parameter_reads

    reads = model_parameter_reads(_MANIFEST, _NAMES)
    assert reads["int_windows"] == {"window_days"}  # pack_param
    assert reads["int_aged"] == {"window_days", "bucket_bounds"}  # pack_value inside a macro, + upstream
    assert reads["fct_positions"] == {"window_days", "bucket_bounds", "order"}  # pack_value, two models up
    assert reads["int_scored"] == {"floor"}  # a model config carrying the parameter
    assert reads["int_purposes"] == {"purposes"}  # the raw var('pack') mapping
    assert reads["fct_gated"] == {"window_days"}  # pack_defines only enables: 'gate' is not read
    assert reads["rpt_rates"] >= {"rate_a", "rate_b"}  # a computed name: every parameter quoted in the model
    assert reads["fct_disabled"] == {"purposes"}  # a disabled model's lineage through its refs
    assert "unread" not in set().union(*reads.values())  # a name in a Jinja comment is not a read


def _declared_pack(tmp_path: Path, rule_id: str, declaration: str) -> Path:
    pack = tmp_path / "cn"
    shutil.copytree(CN, pack)
    path = pack / f"{rule_id.split('.')[1]}.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {rule_id}\n")
    head, rule = text[:start], text[start:]
    model_line = next(line for line in rule.splitlines() if line.startswith("    model: "))
    end = rule.index("    expectation:")
    body = rule[: rule.index(model_line) + len(model_line) + 1]
    path.write_text(head + body + declaration + rule[end:], encoding="utf-8")
    return pack


def test_model_parameters_must_name_pack_parameters_once(tmp_path: Path) -> None:
    rule = "cn.disclosures.related_party_loan"
    with pytest.raises(
        RulePackError,
        match=r"rule cn\.disclosures\.related_party_loan: model_parameters names unknown parameter no_such",
    ):
        load_pack(_declared_pack(tmp_path / "a", rule, "    model_parameters: [no_such]\n"))
    with pytest.raises(RulePackError, match="model_parameters names a parameter twice"):
        load_pack(
            _declared_pack(
                tmp_path / "b", rule, "    model_parameters: [serious_overdue_days, serious_overdue_days]\n"
            )
        )
    with pytest.raises(RulePackError, match=r"rules\.\d+\.model_parameters"):
        load_pack(_declared_pack(tmp_path / "c", rule, "    model_parameters: serious_overdue_days\n"))


def test_every_rule_of_the_checked_in_packs_declares_its_model_parameters() -> None:
    for pack in (load_pack(CN), load_pack(CN.parent / "us")):
        assert all(rule.model_parameters is not None for rule in pack.rules)


def test_rules_show_prints_every_parameter_with_value_and_source() -> None:
    import json

    from click.testing import CliRunner

    from regwatch.cli import main

    pack = load_pack(CN)
    result = CliRunner().invoke(
        main, ["rules", "show", "cn.aml.watchlist_customer_match"], env={"REGWATCH_HOME": str(REPO_ROOT)}
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["model"] == "fct_customer_watchlist_matches"
    assert shown["model_parameters"] == ["watchlist_review_floor"]
    assert shown["parameters"] == {
        "watchlist_match_min_score": {
            "value": pack.parameters["watchlist_match_min_score"].value,
            "source": pack.parameters["watchlist_match_min_score"].source,
            "used_by": ["kwargs"],
        },
        "watchlist_review_floor": {
            "value": pack.parameters["watchlist_review_floor"].value,
            "source": pack.parameters["watchlist_review_floor"].source,
            "used_by": ["fct_customer_watchlist_matches"],
        },
    }


def test_packs_are_read_with_libyaml_to_the_same_values() -> None:
    """A day's steps load the pack about ten times: libyaml's parser (0.12 -> 0.02 CPU-s a load),
    giving exactly what PyYAML's pure-Python safe loader gives for every pack file."""
    import yaml

    from regwatch import rules

    assert rules._SAFE_LOADER is yaml.CSafeLoader
    files = sorted((REPO_ROOT / "checks").rglob("*.yml"))
    assert len(files) >= 5
    for path in files:
        assert rules._read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path
