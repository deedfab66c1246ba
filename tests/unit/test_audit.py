"""``audit diff``'s text (regwatch.audit.DiffResult.lines): one titled section per kind of cause, empty ones left out."""

from __future__ import annotations

from regwatch.audit import DiffResult, ExceptionChange, Restatement


def test_diff_lines_name_each_cause_under_its_title_in_order() -> None:
    restated = Restatement("2025-06-03", "loans", "L1", "L2", rows_changed=(4,))
    delivered = Restatement("2025-06-04", "transactions", None, "L3", rows_added=(1, 2))
    result = DiffResult(
        "run-a",
        "run-b",
        "2025-06-03",
        "2025-06-04",
        rule_causes={"cn.b": "threshold changed", "cn.a": "new rule"},
        parameter_changes=("large_cash_cny: 50000 -> 40000",),
        restatements=(restated,),
        deliveries=(delivered,),
        reference_changes=("lpr_one_year_rates: 1 row added",),
        code_change="abc -> def",
        changes=(ExceptionChange("appeared", "cn.a", "C1", None, "m", ("new rule",)),),
    )
    assert result.lines() == [
        "diff run-a (2025-06-03) -> run-b (2025-06-04): 1 appeared, 0 disappeared, 0 changed",
        "rules:",
        "  cn.a: new rule",
        "  cn.b: threshold changed",
        "pack parameters:",
        "  large_cash_cny: 50000 -> 40000",
        "inputs restated:",
        f"  {restated.describe()}",
        "inputs of business dates only one run saw:",
        f"  {delivered.describe()}",
        "reference data:",
        "  lpr_one_year_rates: 1 row added",
        "code: abc -> def",
        "exceptions:",
        "  appeared    cn.a  C1  <- new rule",
    ]


def test_diff_lines_leave_out_empty_sections() -> None:
    result = DiffResult("run-a", "run-b", "2025-06-03", "2025-06-03", parameter_changes=("x: 1 -> 2",))
    assert result.lines() == [
        "diff run-a (2025-06-03) -> run-b (2025-06-03): 0 appeared, 0 disappeared, 0 changed",
        "pack parameters:",
        "  x: 1 -> 2",
    ]
