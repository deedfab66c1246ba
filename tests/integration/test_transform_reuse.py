"""A day's transform reuses what does not depend on the day: dbt's parse and the seeds.

Issue 17: every call parsed the whole project (``--no-partial-parse``; 36 % of a demo
day's transform) and reloaded the 6 reference seeds. The business date now reaches dbt
outside its vars, so day D+1 reuses day D's parse; the seeds are built only when their
content changes. What must still happen: a new date is what the models see, an edited
model or seed is re-parsed and rebuilt, another pack re-parses everything.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from regwatch import transform, warehouse
from regwatch.config import Settings
from regwatch.rules import load_pack
from tests.conftest import REPO_ROOT
from tests.helpers import query

pytestmark = pytest.mark.integration

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)
#: The project's seeds (one CSV each).
SEEDS = len(list((REPO_ROOT / "dbt_project" / "seeds").rglob("*.csv")))


def _dates_seen(settings: Settings) -> set[object]:
    rows = query(settings, "SELECT DISTINCT business_date FROM reporting.rpt_disclosure_indicators")
    return {row[0] for row in rows}


@dataclass
class Project:
    """The copied project, built for D1 then D2 under its own pack (the state every test starts
    from), with what those two builds reported; ``pack_changed`` once a test built under another pack."""

    settings: Settings
    first: transform.TransformResult
    seen_after_first: set[date]
    second: transform.TransformResult
    seen_after_second: set[date]
    pack_changed: bool = False
    #: The pack parameters of that other pack's builds (while ``pack_changed``).
    changed_parameters: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the project's content folders (the tests edit a model and a seed) and an empty
    warehouse, built for D1 and D2 once for the module (each test used to rebuild its starting state)."""
    root = tmp_path_factory.mktemp("reuse")
    for folder in ("dbt_project", "checks", "reports"):
        shutil.copytree(
            REPO_ROOT / folder, root / "project" / folder, ignore=shutil.ignore_patterns("target", "logs")
        )
    settings = Settings(project_root=root / "project", var_dir=root / "var", landing_dir=root / "landing")
    with warehouse.connect(settings.warehouse_path):  # raw.* exist, empty: the staging views select from them
        pass
    first = transform.build(D1, settings)
    seen = _dates_seen(settings)
    second = transform.build(D2, settings)
    return Project(settings, first, seen, second, _dates_seen(settings))


def test_day_two_reuses_day_one_parse_and_seeds(project: Project) -> None:
    first, second = project.first, project.second
    assert first.parse.startswith("full"), first.parse
    assert first.seeds == SEEDS
    assert project.seen_after_first == {D1}

    assert second.parse == "partial"  # was "full": --no-partial-parse, and the date was a dbt var
    assert second.seeds == 0  # was 6: every seed reloaded every day
    # Everything but the seeds ran again, except the models that read only seeds and no date
    # (the reference views, the working-day calendar) and their tests: left as day one made them.
    assert second.unchanged > 0  # was every model and test, every day
    assert second.nodes + second.unchanged == first.nodes - first.seeds
    assert query(project.settings, "SELECT count(*) FROM staging.stg_reference__cn_working_days")[0][0] > 0
    assert project.seen_after_second == {D1, D2}  # the new date reached the models all the same
    recorded = dict(query(project.settings, "SELECT seed_name, sha256 FROM reference.seed_hashes"))
    assert len(recorded) == SEEDS


def test_an_edited_model_and_seed_are_rebuilt(project: Project) -> None:
    if project.pack_changed:  # the state of the test before (any order): parsed under the project's pack
        transform.build(D2, project.settings)
        project.pack_changed = False
    settings = project.settings
    seeds = settings.dbt_project_dir / "seeds" / "reference" / "lpr_one_year_rates.csv"
    seeds.write_text(seeds.read_text().replace("2015-10-24,2019-08-20,4.35,", "2015-10-24,2019-08-20,4.36,"))
    model = settings.dbt_project_dir / "models" / "staging" / "platform" / "stg_platform__fx_rates.sql"
    model.write_text(
        model.read_text().replace("select * from final", "select *, 1 as edited_marker from final")
    )

    result = transform.build(D3, settings)
    assert result.parse == "partial: 2 files re-parsed"
    assert result.seeds == SEEDS
    assert query(
        settings, "SELECT rate_percent FROM reference.lpr_one_year_rates WHERE valid_from = '2015-10-24'"
    ) == [(Decimal("4.36"),)]
    assert ("edited_marker",) in query(
        settings,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'staging' AND table_name = 'stg_platform__fx_rates'",
    )
    assert D3 in _dates_seen(settings)
    # (A seed table dropped behind regwatch's back: test_another_pack_reparses_everything, whose
    # two builds check it on the way.)


def test_another_pack_reparses_everything(project: Project) -> None:
    settings = project.settings
    pack = load_pack(settings.pack_dir)
    parameters = {name: p.value for name, p in pack.parameters.items()}
    if project.pack_changed:  # the state before (any order): the last parse under the project's own pack
        transform.build(D2, settings, pack.apr_convention, parameters, pack.currency)
    changed = {**parameters, "watchlist_review_floor": float(parameters["watchlist_review_floor"]) + 1}
    project.pack_changed, project.changed_parameters = True, changed
    # A seed table dropped behind regwatch's back is built again, whatever the record says (a pack
    # change alone never reloads a seed: their hashes are the seeds' own) ...
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("DROP TABLE reference.partner_institutions CASCADE")
    result = transform.build(D2, settings, pack.apr_convention, changed, pack.currency)
    assert result.parse == "full: config vars, config profile, or config target have changed"
    assert result.seeds == SEEDS
    # ... and the next day under that pack reuses the parse again, and the seeds as recorded.
    again = transform.build(D3, settings, pack.apr_convention, changed, pack.currency)
    assert again.parse == "partial"
    assert again.seeds == 0


def test_the_business_date_is_required(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without regwatch's date, compiling a model fails with a message naming it, not a null date."""
    import json

    from dbt.cli.main import dbtRunner

    settings = project.settings
    pack = load_pack(settings.pack_dir)
    variables = {
        "apr_convention": pack.apr_convention,
        "reporting_currency": pack.currency,
        # the parameters of the last build (the saved parse is that build's)
        "pack": dict(
            sorted(
                project.changed_parameters.items()
                if project.pack_changed
                else ((name, p.value) for name, p in pack.parameters.items())
            )
        ),
    }
    # the profile as the builds render it: paths relative to the warehouse's folder, dbt run there
    for name, value in transform._warehouse_environment(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(settings.warehouse_path.parent)
    monkeypatch.delenv("REGWATCH_BUSINESS_DATE", raising=False)
    # The builds' saved parse (same vars, as transform.build writes them, and the same profile):
    # dbt re-parses only what changed instead of the whole project (the date is read at execute
    # time, never while parsing, so the saved parse is no help to a missing date).
    compile_target = (settings.var_dir / "dbt" / "compile-target").absolute()
    shutil.copytree(settings.dbt_target_dir, compile_target, dirs_exist_ok=True)
    # dbt-duckdb keeps the warehouse open after the call (keep_open), under the relative path every
    # var/ shares: closed as regwatch.transform closes it, or the next build in this process would
    # write into this test's warehouse.
    with contextlib.ExitStack() as close:
        close.callback(transform._close_dbt_duckdb)
        result = dbtRunner().invoke(
            [
                "compile",
                "--project-dir",
                str(settings.dbt_project_dir),
                "--profiles-dir",
                str(settings.dbt_project_dir),
                "--target-path",
                str(compile_target),
                "--log-path",
                str(settings.var_dir / "dbt" / "logs"),
                "--vars",
                json.dumps(variables, default=str),
                "--select",
                "rpt_disclosure_indicators",
                "--quiet",
                "--log-level",
                "none",
            ]
        )
    assert not result.success
    assert "REGWATCH_BUSINESS_DATE" in str(result.exception or result.result)


def test_models_read_the_date_only_while_executing() -> None:
    """The date never enters dbt's parse: only the business_date macro reads it, under ``execute``."""
    project = REPO_ROOT / "dbt_project"
    readers = [
        path.relative_to(project).as_posix()
        for folder in ("models", "macros", "tests")
        for path in sorted((project / folder).rglob("*"))
        if path.suffix in {".sql", ".py", ".yml"}
        and ("REGWATCH_BUSINESS_DATE" in path.read_text() or "var('business_date'" in path.read_text())
    ]
    assert readers == ["macros/business_date.sql"]
