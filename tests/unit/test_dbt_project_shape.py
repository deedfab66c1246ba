"""The dbt project's shape: YAML beside its models, mart folders named after rule families.

As in mattermost-data-warehouse, each folder of models holds one ``_<folder>__models.yml``
documenting exactly the models in that folder (and its dbt unit tests sit beside the
models too), so a newcomer who opens a model's folder finds its grain, contract and tests.
The marts are grouped by the rule family that reads them (``checks/<pack>/<family>.yml``;
the watch-list rules ``<pack>.aml.watchlist_*`` read ``marts/screening/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT

MODELS = REPO_ROOT / "dbt_project" / "models"
SEEDS = REPO_ROOT / "dbt_project" / "seeds"
MART_FOLDERS = {"rate_caps", "aml", "screening", "disclosures"}


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _models() -> dict[str, Path]:
    return {p.stem: p.parent for p in MODELS.rglob("*") if p.suffix in {".sql", ".py"}}


def test_every_model_is_documented_once_in_its_folders_models_yml() -> None:
    models = _models()
    documented: dict[str, list[Path]] = {}
    for path in MODELS.rglob("*.yml"):
        for model in _yaml(path).get("models", []):
            documented.setdefault(str(model["name"]), []).append(path)
    misplaced = {
        name: [str(p.relative_to(MODELS)) for p in documented.get(name, [])]
        for name, folder in models.items()
        if documented.get(name) != [folder / f"_{folder.name}__models.yml"]
    }
    assert misplaced == {}, "each model is documented in _<folder>__models.yml beside it"
    assert sorted(set(documented) - set(models)) == [], "YAML documents a model that does not exist"


def test_one_models_yml_per_folder() -> None:
    for folder in {p.parent for p in MODELS.rglob("*.yml")}:
        names = sorted(p.name for p in folder.glob("*__models.yml"))
        assert names in ([], [f"_{folder.name}__models.yml"]), f"{folder}: {names}"
    for folder in {p.parent for p in SEEDS.rglob("*.yml")}:
        names = sorted(p.name for p in folder.glob("*.yml"))
        assert names == [f"_{folder.name}__seeds.yml"], f"{folder}: {names}"


def test_unit_tests_sit_beside_their_model() -> None:
    models = _models()
    for path in MODELS.rglob("*.yml"):
        for test in _yaml(path).get("unit_tests", []):
            assert models[str(test["model"])] == path.parent, f"{test['name']} in {path}"


def test_mart_folders_are_rule_families_and_rules_read_marts() -> None:
    marts = MODELS / "marts"
    assert {p.name for p in marts.iterdir() if p.is_dir()} == MART_FOLDERS
    assert sorted(p.name for p in marts.iterdir() if p.is_file()) == []
    models = _models()
    for path in sorted((REPO_ROOT / "checks").glob("*/*.yml")):
        for rule in _yaml(path).get("rules", []):
            folder = models[str(rule["model"])]
            assert folder.parent == marts, f"{rule['id']} reads {rule['model']} outside models/marts/"
