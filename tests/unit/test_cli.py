"""The CLI surface: every command documented, errors as one line, help stays light."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from regwatch.cli import main
from tests.conftest import REPO_ROOT


def _commands(group: click.Group, prefix: str = "regwatch") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name in _commands(main) if f"`{name}" not in readme]
    assert not missing, f"commands not documented in README.md: {missing}"


def test_help_does_not_import_the_heavy_stack() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from regwatch.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "print(sorted(m for m in ('great_expectations', 'dbt', 'airflow', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_date_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["run", "--business-date", "2025-13-01"])
    assert result.exit_code == 2
    assert "is not a date of the form YYYY-MM-DD" in result.output


def test_apr_command_prints_simple_and_compound(tmp_path: Path) -> None:
    # 12 monthly payments of 1,066.19 on 12,000 received: the 12 % annuity.
    payments = [{"date": f"2025-{m:02d}-02", "amount": 1066.19} for m in range(2, 13)]
    payments.append({"date": "2026-01-02", "amount": 1066.19})
    flows = tmp_path / "loan.json"
    flows.write_text(
        json.dumps({"advances": [{"date": "2025-01-02", "amount": 12000}], "payments": payments})
    )
    result = CliRunner().invoke(main, ["apr", str(flows)])
    assert result.exit_code == 0, result.output
    assert "real APR (cn_irr): 12.00" in result.output
    assert "unit period: month   periods per year: 12" in result.output
    assert result.output.count("payment ") == 12


def test_apr_command_shows_reg_z_workings(tmp_path: Path) -> None:
    """Appendix J (c)(1)(ii): 6,000 on 1978-02-10, 36 x 200 from 1978-04-01: 11.82 %, f = 19/30."""
    payments = [
        {"date": f"{1978 + (3 + k) // 12}-{(3 + k) % 12 + 1:02d}-01", "amount": 200} for k in range(36)
    ]
    flows = tmp_path / "c1ii.json"
    flows.write_text(json.dumps({"advances": [{"date": "1978-02-10", "amount": 6000}], "payments": payments}))
    result = CliRunner().invoke(main, ["apr", "--method", "us_reg_z", str(flows)])
    assert result.exit_code == 0, result.output
    assert (
        "real APR (us_reg_z): 11.8165%" in result.output and "Appendix J" in result.output
    )  # 11.82 published
    assert "payment 1978-04-01         -200.00     1  0.633333" in result.output
    as_json = json.loads(
        CliRunner().invoke(main, ["apr", "--method", "us_reg_z", "--json", str(flows)]).output
    )
    assert as_json["unit_period"] == "month" and round(as_json["annual_rate"], 4) == 0.1182
    assert sum(f["present_value"] * (1 if f["side"] == "advance" else -1) for f in as_json["flows"]) == (
        pytest.approx(0, abs=1e-6)
    )


def test_apr_without_a_solution_is_one_line(tmp_path: Path) -> None:
    flows = tmp_path / "loan.json"
    flows.write_text(
        json.dumps(
            {
                "advances": [{"date": "2025-01-02", "amount": 1000}],
                "payments": [{"date": "2025-02-02", "amount": 900}],
            }
        )
    )
    result = CliRunner().invoke(main, ["apr", str(flows)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "never exceed advances" in result.stderr


def _error_classes() -> dict[str, tuple[str, ...]]:
    """Every public error class of the package (by ``ast``, nothing imported) and its bases' names."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((REPO_ROOT / "src" / "regwatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ClassDef)
                and not node.name.startswith("_")
                and node.name.endswith("Error")
            ):
                found[node.name] = tuple(ast.unparse(b) for b in node.bases)
    return found


def _as_class(name: str, classes: dict[str, tuple[str, ...]]) -> type[BaseException]:
    """A stand-in class with the same name and the same chain of regwatch bases."""
    bases = tuple(_as_class(b, classes) for b in classes[name] if b in classes) or (Exception,)
    return type(name, bases, {})


def _readme_exit_codes() -> dict[int, set[str]]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    rows: dict[int, set[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| (\d) \|.*\| (.*) \|$", line)
        if match:
            rows[int(match.group(1))] = set(re.findall(r"`(\w+Error)`", match.group(2)))
    return rows


def test_the_readme_exit_code_table_is_the_cli_mapping() -> None:
    from regwatch.cli import BAD_INPUT_ERRORS, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, exit_code

    rows = _readme_exit_codes()
    assert set(rows) == {EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT}
    assert rows[EXIT_BAD_INPUT] - {"MissingInputError"} == set(BAD_INPUT_ERRORS)
    classes = _error_classes()
    assert set(BAD_INPUT_ERRORS) <= set(classes), "a name in BAD_INPUT_ERRORS is no error class of regwatch"
    for name in classes:
        # the README row that names the class, or its nearest named base, gives its code
        chain = [c.__name__ for c in _as_class(name, classes).__mro__]
        listed = next((n for n in chain if any(n in names for names in rows.values())), None)
        assert listed is not None, f"{name} is in no row of the README's exit-code table"
        code = next(code for code, names in rows.items() if listed in names)
        assert exit_code(_as_class(name, classes)) == code, f"{name}: README says {code}"


def test_an_error_exits_with_its_documented_code(tmp_path: Path) -> None:
    """A date never run is an error naming the last date run (exit 2), not "0 alerts"."""
    from regwatch import warehouse

    var = tmp_path / "var"
    with warehouse.connect(var / "warehouse.duckdb") as con:
        con.execute("INSERT INTO results.alert_log VALUES ('2025-06-02', 'r1', NULL, 0, 0, 0, 0, 0, 0)")
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(var)}
    result = CliRunner().invoke(main, ["alerts", "list", "--business-date", "2025-06-09"], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "regwatch: error: 2025-06-09 has not been run: no alerts were computed for it "
        "(the last date run is 2025-06-02)"
    )
    listed = CliRunner().invoke(main, ["alerts", "list", "--business-date", "2025-06-02"], env=env)
    assert listed.exit_code == 0 and listed.output.startswith("2025-06-02: 0 alerts")


def test_apr_beyond_the_solvers_range_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """100 -> 100,000 in one day printed a rate, then crashed with OverflowError (issue 15, point 9)."""
    flows = tmp_path / "loan.json"
    flows.write_text(
        json.dumps(
            {
                "advances": [{"date": "2025-06-02", "amount": 100}],
                "payments": [{"date": "2025-06-03", "amount": 100000}],
            }
        )
    )
    for args in (["apr"], ["apr", "--json"], ["apr", "--method", "us_reg_z", "--json"]):
        result = CliRunner().invoke(main, [*args, str(flows)])
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "beyond the solver's range" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["alerts", "list"], ["rules", "evaluate"], ["filing", "--period", "2025-06"]],
    ids=["alerts-list", "rules-evaluate", "filing"],
)
def test_a_read_only_command_without_a_warehouse_is_bad_input(tmp_path: Path, args: list[str]) -> None:
    """No warehouse at all: one regwatch line and exit 2, not a raw FileNotFoundError and exit 1."""
    var = tmp_path / "var"
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(var)}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"regwatch: error: no warehouse at {var / 'warehouse.duckdb'}: "
        "run a business date first (regwatch run --business-date D)\n"
    )
    assert not (var / "warehouse.duckdb").exists()


def test_no_pdf_is_a_setting_the_run_line_shows() -> None:
    """REGWATCH_NO_PDF=1 (the tests' setting) turns the PDF off; the default renders it."""
    from datetime import date

    from regwatch.cli import _step_detail
    from regwatch.config import Settings
    from regwatch.pipeline import StepResult

    home = {"REGWATCH_HOME": str(REPO_ROOT)}
    assert Settings.from_env(home).render_pdf
    assert Settings.from_env({**home, "REGWATCH_NO_PDF": "0"}).render_pdf
    assert not Settings.from_env({**home, "REGWATCH_NO_PDF": "1"}).render_pdf
    summary = {"reports": ["var/reports/2025-06-02/daily_exceptions.html"], "filings": [], "pdf": False}
    line = _step_detail(StepResult("render_reports", date(2025, 6, 2), summary))
    assert line == "daily_exceptions.html; no PDF rendered (REGWATCH_NO_PDF, or a demo date before the last)"
    assert "PDF" not in _step_detail(StepResult("render_reports", date(2025, 6, 2), {**summary, "pdf": True}))


def test_demo_renders_the_pdf_of_its_last_date_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: WeasyPrint's PDF was most of each demo day's rendering; the demo lays out the last one."""
    from datetime import date
    from types import SimpleNamespace
    from typing import Any

    import regwatch.demo
    import regwatch.pipeline

    dates = [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)]
    monkeypatch.setattr(regwatch.demo, "generate", lambda *a, **k: SimpleNamespace(business_dates=dates))
    pdf: dict[date, bool] = {}

    def run_day(day: date, settings: Any, **callbacks: Any) -> list[Any]:
        pdf[day] = settings.render_pdf
        return []

    monkeypatch.setattr(regwatch.pipeline, "run_day", run_day)
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(tmp_path / "var"), "REGWATCH_NO_PDF": "0"}
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    assert pdf == {dates[0]: False, dates[1]: False, dates[2]: True}  # was True every date
    # REGWATCH_NO_PDF still means none at all.
    result = CliRunner().invoke(main, ["demo"], env={**env, "REGWATCH_NO_PDF": "1"})
    assert result.exit_code == 0, result.output
    assert set(pdf.values()) == {False}
