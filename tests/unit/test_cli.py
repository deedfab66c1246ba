"""The CLI surface: every command documented, errors as one line, help stays light."""

from __future__ import annotations

import json
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
