"""`regwatch rules evaluate` per laundering pattern (issue 14): found, recall, precision, on hand-made truth."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from regwatch import warehouse
from regwatch.cli import main
from regwatch.config import Settings
from regwatch.demo.evaluate import evaluate, evaluate_patterns, is_detection_rule
from tests.conftest import REPO_ROOT

PATTERNS = """attempt_id,pattern,customer_ids,first_date,last_date,size,amount_cny,expected_rule_ids,detail
AT00001,fan_in,C1,2025-06-02,2025-06-06,5,60000.00,cn.aml.fan_in,
AT00002,fan_in,C2,2025-06-02,2025-06-03,6,70000.00,cn.aml.fan_in,
AT00003,cycle,C3;C4;C5,2025-06-09,2025-06-10,3,90000.00,cn.aml.transfer_cycle,
AT00004,stack,C6;C7,2025-06-02,2025-06-02,2,90000.00,cn.aml.layering_stack,
"""
BENIGN = """benign_id,lookalike,imitates,customer_ids,first_date,last_date,detail
BN00001,payroll,fan_out,C8,2025-06-05,2025-06-05,
BN00002,family_circle,cycle,C9;C10;C11,2025-06-04,2025-06-05,
"""
PLANTED = """case_id,rule_id,entity_key,business_date,kind,detail
TY00001,cn.aml.fan_in,C1,2025-06-06,pattern_traffic,
TY00002,cn.aml.fan_in,C12,2025-06-04,ordinary_traffic,
TY00003,cn.aml.rapid_in_out,C13|T1,2025-06-04,same_day,
"""


def _exception(day: str, rule: str, key: str, evidence: dict[str, str]) -> tuple[object, ...]:
    return (
        "RUN",
        date.fromisoformat(day),
        rule,
        "high",
        "basis",
        "model",
        key,
        "message",
        json.dumps(evidence),
    )


def _platform(tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(project_root=REPO_ROOT, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing")
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "patterns.csv").write_text(PATTERNS)
    (truth / "benign.csv").write_text(BENIGN)
    (truth / "planted.csv").write_text(PLANTED)
    rows = [
        _exception("2025-06-06", "cn.aml.fan_in", "C1", {"customer_id": "C1"}),  # AT00001 found
        _exception(
            "2025-06-20", "cn.aml.fan_in", "C2", {"customer_id": "C2"}
        ),  # AT00002: 17 days late, a miss
        # AT00003: a cycle rule names C4 inside its path
        _exception("2025-06-10", "cn.aml.transfer_cycle", "C3|T9", {"customer_path": "C3 > C4 > C5 > C3"}),
        # a large-value report on AT00004 is no detection
        _exception(
            "2025-06-02",
            "cn.aml.large_individual_domestic_transfer",
            "C6|2025-06-02|debit",
            {"customer_id": "C6"},
        ),
        _exception(
            "2025-06-04", "cn.aml.fan_in", "C12", {"customer_id": "C12"}
        ),  # ordinary traffic: false positive
        _exception(
            "2025-06-05", "cn.aml.transfer_cycle", "C9|T5", {"customer_path": "C9 > C10 > C11 > C9"}
        ),  # the family
        _exception("2025-06-04", "cn.aml.rapid_in_out", "C13|T1", {"customer_id": "C13"}),  # a planted case
        # a graph rule without truth rows of its own, on a planted case's customer (a layering chain)
        _exception("2025-06-05", "cn.aml.layering_stack", "C13", {"customer_path": "C13 > C14 > C15 > C16"}),
    ]
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("INSERT INTO results.run_log VALUES ('RUN', DATE '2025-06-20', 'cn', 'v', 's', 'c', 'i')")
        con.executemany("INSERT INTO results.exceptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return settings, truth


def test_detection_rules_are_the_typology_and_graph_rules() -> None:
    assert is_detection_rule("cn.aml.fan_in") and is_detection_rule("cn.aml.scatter_gather")
    assert not is_detection_rule("cn.aml.large_cash") and not is_detection_rule(
        "cn.aml.watchlist_customer_match"
    )
    assert not is_detection_rule("cn.rate_caps.real_apr_above_void_line")


def test_found_recall_and_precision_per_pattern_and_rule(tmp_path: Path) -> None:
    settings, truth = _platform(tmp_path)
    result = evaluate_patterns(settings, truth)
    assert result is not None and result.grace_days == 10  # cycle_lookback_days, the longest lookback
    scores = {p.pattern: p for p in result.patterns}
    assert [p.pattern for p in result.patterns] == ["fan_in", "cycle", "stack"]
    assert (scores["fan_in"].planted, scores["fan_in"].found, scores["fan_in"].recall) == (2, 1, 0.5)
    assert (scores["cycle"].found, scores["cycle"].benign_flagged, scores["cycle"].precision) == (1, 1, 0.5)
    assert (scores["stack"].found, scores["stack"].recall) == (0, 0.0)
    rules = {r.rule_id: r for r in result.rules}
    assert (rules["cn.aml.fan_in"].keys, rules["cn.aml.fan_in"].hits) == (3, 1)  # C2 late, C12 ordinary
    assert (rules["cn.aml.transfer_cycle"].hits, rules["cn.aml.transfer_cycle"].benign) == (1, 1)
    assert rules["cn.aml.rapid_in_out"].precision == 1.0
    assert "cn.aml.large_individual_domestic_transfer" not in rules


def test_rules_evaluate_prints_a_row_per_pattern(tmp_path: Path) -> None:
    settings, truth = _platform(tmp_path)
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(settings.var_dir)}
    result = CliRunner().invoke(main, ["rules", "evaluate", "--truth", str(truth)], env=env)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()}
    assert rows["fan_in"] == [
        "2",
        "1",
        "0",
        "0",
        "1.000",
        "0.500",
    ]  # planted found benign flagged precision recall
    assert rows["cycle"] == ["1", "1", "1", "1", "0.500", "1.000"]
    assert rows["stack"] == ["1", "0", "0", "0", "1.000", "0.000"]
    assert not [line for line in result.output.splitlines() if line.startswith("detection ")]
    assert all(line.split() for line in result.output.splitlines())


def test_every_rule_is_printed_once_with_one_honest_precision(tmp_path: Path) -> None:
    """A detection rule is scored against the laundering truth in the per-rule table too: a graph
    rule with no truth rows of its own is not printed at precision 0.000 (layering_stack was, with
    26 of 26 keys on planted laundering), and ordinary traffic meeting fan_in's definition is a
    false positive there as in the pattern table (it printed 0.667 in one table, 0.333 in the other)."""
    settings, truth = _platform(tmp_path)
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(settings.var_dir)}
    result = CliRunner().invoke(main, ["rules", "evaluate", "--truth", str(truth)], env=env)
    assert result.exit_code == 0, result.output
    rows: dict[str, list[list[str]]] = {}
    for line in result.output.splitlines():
        if line.split() and line.split()[0].startswith("cn."):
            rows.setdefault(line.split()[0], []).append(line.split()[1:])
    assert all(len(printed) == 1 for printed in rows.values()), result.output  # one row, one precision
    # planted found hits benign precision recall scored
    assert rows["cn.aml.layering_stack"] == [["0", "1", "0", "0", "1.000", "-", "laundering"]]
    assert rows["cn.aml.fan_in"] == [["2", "3", "2", "0", "0.333", "1.000", "laundering"]]
    assert rows["cn.aml.transfer_cycle"] == [["0", "2", "0", "1", "0.500", "-", "laundering"]]
    assert rows["cn.aml.rapid_in_out"] == [["1", "1", "1", "0", "1.000", "1.000", "laundering"]]
    assert rows["cn.aml.large_individual_domestic_transfer"] == [["0", "1", "0", "-", "0.000", "-", "truth"]]
    scores = {s.rule_id: s for s in evaluate(settings, truth)}
    patterns = evaluate_patterns(settings, truth)
    assert patterns is not None
    for detection in patterns.rules:  # both tables read the same verdict per key
        assert scores[detection.rule_id].precision == detection.precision, detection.rule_id
