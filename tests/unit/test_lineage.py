"""OpenLineage events of a sealed run: what they name, that they are a function of the
manifest, and that they are sealed beside it (audit verify notices an altered file)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from regwatch.config import Settings
from regwatch.ledger import lineage, manifests
from regwatch.ledger.archive import Archive
from tests.conftest import REPO_ROOT

INPUTS = [
    {
        "file_name": "loans",
        "path": "/data/landing/2025-06-02/loans.parquet",
        "sha256": "a" * 64,
        "rows_read": 3,
        "rows_loaded": 3,
        "rows_quarantined": 0,
    },
    {
        "file_name": "transactions",
        "path": "/data/landing/2025-06-02/transactions.parquet",
        "sha256": "b" * 64,
        "rows_read": 5,
        "rows_loaded": 4,
        "rows_quarantined": 1,
    },
]


def _block(kind: str) -> dict[str, object]:
    return {
        "source": "platform",
        "kind": kind,
        "dataset_namespace": "postgres://db.internal:5432" if kind == "postgresql" else "mysql://db:3306",
        "database": "lending",
        "tables": {
            "loans": {"query": "SELECT loan_id, committed_at FROM loans", "rows": 3, "delivered": True},
            "transactions": {
                "query": "SELECT t.txn_id FROM ledger.transactions t JOIN accounts a ON a.id = t.account_id",
                "rows": 5,
                "delivered": True,
            },
        },
    }


def _events(kind: str = "postgresql", extract: bool = True) -> list[dict[str, object]]:
    made = lineage.events(
        run_id="20250602-abc",
        business_date="2025-06-02",
        sealed_at="2026-12-07T10:00:00+00:00",
        warehouse=Path("/data/var/warehouse.duckdb"),
        inputs=INPUTS,
        extract=_block(kind) if extract else None,
    )
    return [json.loads(line) for line in lineage.serialize(made).decode().splitlines()]


def test_extract_and_load_events_name_the_database_hop() -> None:
    extract, load = _events()
    assert extract["eventType"] == load["eventType"] == "COMPLETE"
    assert extract["job"]["name"] == "regwatch.extract.platform"
    assert [(d["namespace"], d["name"]) for d in extract["inputs"]] == [
        ("postgres://db.internal:5432", "lending.ledger.transactions"),
        ("postgres://db.internal:5432", "lending.public.accounts"),
        ("postgres://db.internal:5432", "lending.public.loans"),
    ]
    assert [d["name"] for d in extract["outputs"]] == [i["path"] for i in INPUTS]
    assert "SELECT loan_id" in extract["job"]["facets"]["sql"]["query"]
    assert load["job"]["name"] == "regwatch.load"
    assert [(d["namespace"], d["name"]) for d in load["inputs"]] == [("file", i["path"]) for i in INPUTS]
    outputs = {d["name"]: d["outputFacets"]["outputStatistics"]["rowCount"] for d in load["outputs"]}
    assert outputs == {"raw.loans": 3, "raw.transactions": 4, "quarantine.rows": 1}
    assert {d["namespace"] for d in load["outputs"]} == {"duckdb:///data/var/warehouse.duckdb"}
    # both are children of the regwatch run, about the business date
    assert extract["run"]["facets"]["parent"] == load["run"]["facets"]["parent"]
    assert load["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2025-06-02T00:00:00Z"


def test_mysql_names_are_database_dot_table_and_a_file_delivery_has_only_the_load() -> None:
    extract, _load = _events("mysql")
    assert [d["name"] for d in extract["inputs"]] == [
        "ledger.transactions",
        "lending.accounts",
        "lending.loans",
    ]
    (load,) = _events(extract=False)
    assert load["job"]["name"] == "regwatch.load"


def test_events_are_a_function_of_the_run() -> None:
    assert _events() == _events()
    one, two = (
        lineage.serialize(
            lineage.events(
                run_id="20250602-abc",
                business_date="2025-06-02",
                sealed_at="2026-12-07T10:00:00+00:00",
                warehouse=Path("/w.duckdb"),
                inputs=INPUTS,
                extract=_block("postgresql"),
            )
        )
        for _ in range(2)
    )
    assert one == two


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, project_root=REPO_ROOT, var_dir=tmp_path / "var")


def test_sealed_beside_the_manifest_and_verified(settings: Settings) -> None:
    archive = Archive.of(settings)
    staging = settings.staging_reports_dir("r1")
    out = staging / "2025-06-02" / "daily_exceptions.csv"
    out.parent.mkdir(parents=True)
    out.write_text("rule_id\n")
    seen: list[str] = []

    def events(sealed_at: str) -> bytes:
        seen.append(sealed_at)
        made = lineage.events(
            run_id="r1",
            business_date="2025-06-02",
            sealed_at=sealed_at,
            warehouse=settings.warehouse_path,
            inputs=INPUTS,
            extract=None,
        )
        return lineage.serialize(made)

    manifest = manifests.seal(
        settings,
        business_date=date(2025, 6, 2),
        run_id="r1",
        pack_name="cn",
        pack_version="1",
        pack_sha256="p",
        code_version="c",
        inputs=[{"file_name": "loans", "path": "loans.csv", "sha256": archive.put(b"loans")}],
        outputs=[out],
        outputs_root=staging,
        tool_versions={},
        lineage=events,
    )
    body = json.loads(manifest.read_text())
    beside = manifest.with_name(manifest.stem + ".lineage.jsonl")
    assert body["lineage"] == {
        "path": f"ledger/{beside.name}",
        "sha256": archive.put(beside.read_bytes()),
        "events": 1,
    }
    assert seen == [body["sealed_at"]]  # the events' time is the manifest's
    assert json.loads(beside.read_text())["eventTime"] == body["sealed_at"]
    assert manifests.verify(settings).ok
    beside.write_text(beside.read_text().replace("raw.loans", "raw.l0ans"))
    assert manifests.verify(settings).problems == (
        f"{manifest.name}: lineage events ledger/{beside.name} were altered",
    )
