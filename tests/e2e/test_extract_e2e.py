"""Issue 18's acceptance: a platform loaded into PostgreSQL (and into MariaDB, when
mariadb-server is installed), extracted and run for three business days, gives the very
exceptions, alerts and report rows of the same platform delivered as files; the watermark
advances with each seal; a rerun needs no database.

The file delivery is the session's sealed platform (tests/conftest.py: its three dates run
once per session, read only here). A typed database cannot hold the malformed rows the
generator plants (the file path quarantines them: tested elsewhere), so the database is
loaded with the delivered files less the rows ``_truth/malformed.csv`` lists: exactly the
rows the file delivery loaded.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.extract import state
from regwatch.extract.demo_source import load_day, sources_yaml
from regwatch.extract.run import extract_day
from regwatch.extract.sources import load_sources
from regwatch.pipeline import run_day
from tests import mariadb, postgres
from tests.conftest import REPO_ROOT, SEALED_DAYS, SealedPlatform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = SEALED_DAYS
ENV = "REGWATCH_E2E_SOURCE_URI"
RUN_ID = re.compile(r"\b\d{8}-[0-9a-f]{12}\b|\b[0-9a-f]{64}\b")


def _well_formed(landing: Path, target: Path) -> Path:
    """``landing``'s DAYS less the malformed rows its truth lists (row n is line n + 1: the
    generated files quote nothing, so a record is a line)."""
    with (landing / "_truth" / "malformed.csv").open(newline="") as handle:
        bad = {(r["business_date"], r["file"], int(r["row_number"])) for r in csv.DictReader(handle)}
    for day in DAYS:
        (target / str(day)).mkdir(parents=True)
        for path in sorted((landing / str(day)).iterdir()):
            lines = path.read_bytes().splitlines(keepends=True)
            kept = [line for n, line in enumerate(lines) if (str(day), path.stem, n) not in bad]
            (target / str(day) / path.name).write_bytes(b"".join(kept))
    assert {day for day, _, _ in bad} & {str(d) for d in DAYS}  # there were rows to leave out
    return target


@pytest.fixture(scope="module")
def by_file(sealed_platform: SealedPlatform, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The platform delivered as files, run for the three days (the session's sealed platform,
    read only); its landing here is the rows the file delivery loaded, which the database holds."""
    root = tmp_path_factory.mktemp("extract-e2e-files")
    return Settings.from_env(
        {},
        project_root=REPO_ROOT,
        render_pdf=False,
        var_dir=sealed_platform.var,
        landing_dir=_well_formed(sealed_platform.landing, root / "well_formed"),
    )


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(postgres.server_bin() is None, reason="no PostgreSQL server binaries"),
        ),
        pytest.param(
            "mariadb",
            marks=[
                pytest.mark.mariadb,
                pytest.mark.skipif(
                    mariadb.server_bin() is None, reason="no MariaDB server (make system-deps)"
                ),
            ],
        ),
    ],
)
def runs(
    request: pytest.FixtureRequest, by_file: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Settings]]:
    """The same platform loaded into the database date by date, extracted and run."""
    kind = request.param
    root = tmp_path_factory.mktemp(f"extract-e2e-{kind}")
    by_extract = Settings.from_env({}, project_root=REPO_ROOT, render_pdf=False, var_dir=root / "by_extract")
    (root / "sources.yml").write_text(sources_yaml("platform", uri_env=ENV, kind=kind))
    source = load_sources(root / "sources.yml")["platform"]
    server = postgres.private_cluster if kind == "postgresql" else mariadb.private_server
    with server("platform") as uri, pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, uri)
        for day in DAYS:
            load_day(uri, by_file.landing_dir, day)
            extract_day(by_extract, source, day)
            run_day(day, by_extract)
    yield by_file, by_extract


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _text(path: Path) -> str:
    return RUN_ID.sub("<id>", path.read_text(encoding="utf-8-sig"))


def test_exceptions_and_alerts_equal_the_file_delivery(runs: tuple[Settings, Settings]) -> None:
    by_file, by_extract = runs
    exceptions = (
        "SELECT business_date, rule_id, severity, entity_key, message, evidence "
        "FROM results.exceptions ORDER BY ALL"
    )
    alerts = (
        "SELECT business_date, alert_key, rule_id, status, severity, first_seen, days_open, message, evidence "
        "FROM results.alert_days ORDER BY ALL"
    )
    assert len(_rows(by_file, exceptions)) > 50
    assert _rows(by_extract, exceptions) == _rows(by_file, exceptions)
    assert _rows(by_extract, alerts) == _rows(by_file, alerts)


def test_report_rows_equal_the_file_delivery(runs: tuple[Settings, Settings]) -> None:
    """The daily CSVs and the large-value JSON, byte for byte once run ids and input hashes
    are set aside (they name the delivered files, which are Parquet here and CSV there)."""
    for day in DAYS:
        for name in ("daily_exceptions.csv", "large_value_transactions.csv", "large_value_transactions.json"):
            a, b = (_text(s.published_reports_dir / day.isoformat() / name) for s in runs)
            assert b == a, f"{day} {name}"


def test_the_watermark_advanced_with_each_seal(runs: tuple[Settings, Settings]) -> None:
    _, by_extract = runs
    sealed = json.loads((state.source_dir(by_extract, "platform") / "sealed.json").read_text())
    assert sorted(sealed) == [d.isoformat() for d in DAYS]
    loads = _rows(by_extract, "SELECT DISTINCT source_file FROM results.load_log ORDER BY 1")
    assert all(str(r[0]).endswith(".parquet") for r in loads)
