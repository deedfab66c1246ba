"""The dbt unit tests (``unit_tests:`` in the ``*__unit_tests.yml`` beside the models), one pytest item each.

Each scenario runs one model's SQL on the rows its YAML gives, in milliseconds, without
building the project. dbt still needs the direct parents of a tested model to exist (it
reads their column types to cast the given rows), so they are built first with
``--empty`` (zero rows, a few seconds) in a warehouse of their own; then
``dbt test --select test_type:unit`` runs every scenario. dbt parses the project once for
both (partial parsing under ``var/dbt-unit/`` makes a second run quicker).

Only the tested models' direct parents and their ancestors are built (not the tested
models themselves, unless a scenario gives rows for ``this``). That empty warehouse is
kept beside a fingerprint of everything that shapes its column types (the dbt project's
files, the vars, the raw layer's DDL, the dbt, dbt-duckdb and DuckDB versions): a run
whose fingerprint matches reuses it and skips the build (about half this file's cost);
any change rebuilds it from nothing.

The pipeline's own ``dbt build`` excludes unit tests (``regwatch.transform``): they test
the SQL, not a business date's data.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib.metadata import version
from typing import Any

import duckdb
import pytest
import yaml

from regwatch import warehouse
from regwatch.rules import load_pack
from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"
WORK = REPO_ROOT / "var" / "dbt-unit"
# Models read the pack through vars: the cn pack enables every typology model; each
# unit test overrides the parameters it depends on (``overrides: vars: pack:``).
PACK = REPO_ROOT / "checks" / "cn"
BUSINESS_DATE = "2025-06-02"
#: The fingerprint of the empty parents in ``WORK / "warehouse.duckdb"`` (written after a build succeeded).
BUILT = WORK / "parents.sha256"


def _declared() -> list[str]:
    """Every unit test's name, from every YAML file under models/ (read at collection, in each
    xdist worker: files that never mention ``unit_tests`` are skipped, the rest read by libyaml)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    names = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        if "unit_tests" not in text:
            continue
        content = yaml.load(text, Loader=loader) or {}
        names += [str(test["name"]) for test in content.get("unit_tests", [])]
    return names


def _run_unit_tests() -> dict[str, tuple[str, str]]:
    from dbt.cli.main import dbtRunner

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "warehouse.duckdb"
    pack = {name: p.value for name, p in load_pack(PACK).parameters.items()}
    dbt_vars = json.dumps({"business_date": BUSINESS_DATE, "pack": dict(sorted(pack.items()))}, default=str)
    fingerprint = _fingerprint(dbt_vars)
    reuse = path.exists() and BUILT.exists() and BUILT.read_text(encoding="utf-8") == fingerprint
    if not reuse:
        BUILT.unlink(missing_ok=True)
        for stale in WORK.glob("warehouse.duckdb*"):
            stale.unlink()
        with warehouse.connect(path):  # raw.* exist: staging views select from them
            pass
    common = [
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(WORK / "target"),
        "--log-path",
        str(WORK / "logs"),
        "--vars",
        dbt_vars,
        "--quiet",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGWATCH_WAREHOUSE", str(path))
        parsed = dbtRunner().invoke(["parse", *common])
        if not parsed.success:
            shutil.rmtree(WORK / "target", ignore_errors=True)  # a stale partial parse: next run starts clean
            raise AssertionError(f"dbt parse failed: {parsed.exception}")
        runner = dbtRunner(manifest=parsed.result)
        if not reuse:
            parents = runner.invoke(
                [
                    "build",
                    *common,
                    "--empty",
                    "--no-write-json",  # the results are read from the call, not from run_results.json
                    "--select",
                    *_parents(parsed.result),
                    "--exclude-resource-type",
                    "test",
                    "--exclude-resource-type",
                    "unit_test",
                ]
            )
            assert parents.success, f"building the tested models' parents empty failed: {_failures(parents)}"
            BUILT.write_text(fingerprint, encoding="utf-8")
        tested = runner.invoke(["test", *common, "--no-write-json", "--select", "test_type:unit"])
    if tested.exception is not None:
        raise AssertionError(f"dbt test could not run: {tested.exception}")
    results: Any = tested.result or []
    return {str(r.node.name): (str(r.status), str(r.message or "")) for r in results}


def _parents(manifest: Any) -> list[str]:
    """Selectors of what the unit tests read: each tested model's direct parents with their
    ancestors (``+name``), and the tested model itself when a scenario gives rows for ``this``."""
    selectors = set()
    for unit_test in manifest.unit_tests.values():
        model = manifest.nodes[unit_test.depends_on.nodes[0]]
        for parent in model.depends_on.nodes:
            if parent in manifest.nodes:  # a model or a seed; sources are the raw tables
                selectors.add(f"+{manifest.nodes[parent].name}")
        if any(given.input == "this" for given in unit_test.given):
            selectors.add(f"+{model.name}")
    return sorted(selectors)


def _fingerprint(dbt_vars: str) -> str:
    """sha256 of everything the empty parents' column types follow from."""
    digest = hashlib.sha256(dbt_vars.encode())
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        digest.update(f"\0{package}=={version(package)}".encode())
    skip = {"target", "logs", "dbt_packages", ".user.yml"}
    for file in sorted(DBT_PROJECT.rglob("*")):
        relative = file.relative_to(DBT_PROJECT)
        if file.is_file() and not skip & set(relative.parts):
            digest.update(b"\0" + relative.as_posix().encode() + b"\0" + file.read_bytes())
    with duckdb.connect() as con:  # the raw layer the staging views select from
        warehouse.ensure_schema(con)
        columns = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
            " ORDER BY ALL"
        ).fetchall()
    digest.update(repr(columns).encode())
    return digest.hexdigest()


def _failures(result: Any) -> str:
    if result.exception is not None:
        return str(result.exception)
    return "; ".join(
        f"{r.node.name}: {r.message}" for r in (result.result or []) if str(r.status) != "success"
    )


@pytest.fixture(scope="module")
def unit_results() -> dict[str, tuple[str, str]]:
    return _run_unit_tests()


def test_scenarios_are_declared() -> None:
    names = _declared()
    assert len(names) >= 10
    assert len(names) == len(set(names)), "unit test names must be unique"


@pytest.mark.parametrize("name", _declared())
def test_dbt_unit_test(name: str, unit_results: dict[str, tuple[str, str]]) -> None:
    assert name in unit_results, f"dbt did not run unit test {name} (its model disabled for the pack?)"
    status, message = unit_results[name]
    assert status == "pass", message
