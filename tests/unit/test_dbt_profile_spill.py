"""dbt's DuckDB connections keep working after DuckDB spilled to its temp directory (issue 17).

dbt-duckdb runs every profile ``settings:`` entry as ``SET`` on each new cursor; DuckDB
refuses ``SET temp_directory`` (even to the same folder) once that folder has been used, so
a platform-scale transform that spilled failed at its next model with "Cannot switch
temporary directory after the current one has been used". The profile gives the memory
limit and the spill folder as ``config_options`` (set once, when the database opens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

from tests.conftest import REPO_ROOT


def _profile(env: dict[str, str]) -> dict[str, Any]:
    """The regwatch output of dbt_project/profiles.yml, rendered with ``env`` as dbt renders it."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        assert default is not None, name
        return default

    def render(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, str):
            return jinja2.Environment().from_string(value).render(env_var=env_var)
        return value

    profiles = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())
    output = profiles["regwatch"]["outputs"][profiles["regwatch"]["target"]]
    rendered: dict[str, Any] = render(output)
    return rendered


def test_a_new_cursor_after_a_spill_does_not_fail(tmp_path: Path) -> None:
    # dbt's adapter is imported here, not at module level: collection (in every xdist worker)
    # would otherwise pay its 1.7 CPU-s import for this one test.
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments import Environment

    warehouse = tmp_path / "warehouse.duckdb"
    spill = tmp_path / "duckdb_tmp"
    output = _profile(
        {
            "REGWATCH_WAREHOUSE": str(warehouse),
            "REGWATCH_DUCKDB_MEMORY_LIMIT": "40MB",
            "REGWATCH_DUCKDB_TEMP_DIRECTORY": str(spill),
        }
    )
    output.pop("type")
    creds = DuckDBCredentials.from_dict(output)
    con = Environment.initialize_db(creds)
    try:
        cursor = Environment.initialize_cursor(creds, con.cursor())
        assert cursor.execute("SELECT current_setting('memory_limit')").fetchone()[0] in (
            "38.1 MiB",
            "40.0 MB",
        )
        cursor.execute(
            "CREATE TABLE t AS SELECT range AS i, md5(CAST(range AS VARCHAR)) AS s FROM range(800000)"
        )
        cursor.execute("SELECT s, count(*) FROM t GROUP BY s ORDER BY 2 DESC LIMIT 1").fetchall()
        assert (spill.is_dir() and any(spill.iterdir())) or cursor.execute(
            "SELECT count(*) FROM duckdb_temporary_files()"
        ).fetchone()[0] > 0, "the test must make DuckDB spill"
        # the next model: dbt opens a new cursor with the profile's settings
        again = Environment.initialize_cursor(creds, con.cursor())
        assert again.execute("SELECT count(*) FROM t").fetchone() == (800_000,)
        assert Path(again.execute("SELECT current_setting('temp_directory')").fetchone()[0]) == spill
    finally:
        con.close()
