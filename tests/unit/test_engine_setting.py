"""The engine setting (issue 19): DuckDB by default, Spark by ``--engine spark`` / ``REGWATCH_ENGINE``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch.cli import main
from regwatch.config import Settings, SettingsError
from tests.conftest import REPO_ROOT


def test_duckdb_is_the_default_and_spark_is_chosen_by_the_environment(tmp_path: Path) -> None:
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(tmp_path)}
    default = Settings.from_env(env)
    assert default.engine == "duckdb"
    assert default.dbt_target_dir == tmp_path / "dbt" / "target"
    spark = Settings.from_env({**env, "REGWATCH_ENGINE": "spark", "REGWATCH_SPARK_MASTER": "spark://m:7077"})
    assert (spark.engine, spark.spark_master) == ("spark", "spark://m:7077")
    # One dbt target folder per engine: a parse for one adapter is none for the other.
    assert spark.dbt_target_dir == tmp_path / "dbt" / "target-spark"
    assert spark.spark_dir == tmp_path / "spark"
    assert Settings.from_env(env, engine="spark").engine == "spark"


def test_an_unknown_engine_is_bad_usage(tmp_path: Path) -> None:
    env = {"REGWATCH_HOME": str(REPO_ROOT), "REGWATCH_VAR": str(tmp_path)}
    with pytest.raises(SettingsError, match="unknown engine 'postgres'"):
        Settings.from_env({**env, "REGWATCH_ENGINE": "postgres"})
    result = CliRunner().invoke(
        main, ["run", "--business-date", "2025-06-02"], env={**env, "REGWATCH_ENGINE": "x"}
    )
    assert result.exit_code == 2
    assert "unknown engine 'x'" in result.stderr
    bad = CliRunner().invoke(main, ["run", "--business-date", "2025-06-02", "--engine", "oracle"], env=env)
    assert bad.exit_code == 2 and "--engine" in bad.output
