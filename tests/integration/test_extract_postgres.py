"""`regwatch extract` against a private PostgreSQL 15 (the machine's own server binaries).

The watermark logic is tested on the source tables the demo loader creates
(regwatch.extract.demo_source), one database per test; a date is "sealed" here by the
same call seal_ledger makes (the full pipeline is exercised in test_extract_e2e.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc_pg
import duckdb
import pytest
import yaml
from click.testing import CliRunner

from regwatch.config import Settings
from regwatch.extract import state
from regwatch.extract.demo_source import load_day, sources_yaml
from regwatch.extract.postgres import ExtractError, extract_day
from regwatch.extract.sources import Source, SourceConfigError, load_sources, plain_uri
from tests.conftest import GOOD_ROWS, REPO_ROOT
from tests.postgres import private_cluster, server_bin

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(server_bin() is None, reason="no PostgreSQL server binaries (set PG_BIN)"),
]

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)
ENV = "REGWATCH_TEST_SOURCE_URI"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with private_cluster("first") as uri:
        yield uri


@pytest.fixture
def uri(cluster: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for this test; its URI is in the source's environment variable."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    with adbc_pg.connect(cluster, autocommit=True) as con:
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        con.cursor().execute(f"CREATE DATABASE {name}")
    url = cluster.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv(ENV, url)
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, project_root=REPO_ROOT, var_dir=tmp_path / "var")


@pytest.fixture
def source(tmp_path: Path) -> Source:
    path = tmp_path / "sources.yml"
    path.write_text(sources_yaml("platform", uri_env=ENV))
    return load_sources(path)["platform"]


def _landing(root: Path, day: date, rows: dict[str, str] | None = None) -> Path:
    folder = root / day.isoformat()
    folder.mkdir(parents=True)
    for name, text in (rows or GOOD_ROWS).items():
        (folder / f"{name}.csv").write_text(text)
    return root


def _sql(uri: str, *statements: str) -> None:
    with adbc_pg.connect(uri) as con:
        for statement in statements:
            con.cursor().execute(statement)
        con.commit()


def _seal(settings: Settings, day: date) -> None:
    """What seal_ledger does once D's run with this delivery is sealed."""
    block = yaml.safe_load((settings.landing_for(day) / "_delivery.yml").read_text())["extract"]
    state.seal(settings, block, day, f"run-{day}")


def _rows(settings: Settings, day: date, name: str) -> list[tuple[object, ...]]:
    path = settings.landing_for(day) / f"{name}.parquet"
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_first_extract_delivers_every_row_as_text_ingest_reads(
    uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    _sql(
        uri,
        # an amount no DOUBLE holds to the cent, and a loan version stamped in another zone
        "UPDATE transactions SET amount = 123456789012345.67",
    )
    result = extract_day(settings, source, D1)
    folder = settings.landing_for(D1)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["_delivery.yml", *(f"{n}.parquet" for n in GOOD_ROWS)]
    )
    assert result.rows == len(GOOD_ROWS)
    (txn,) = _rows(settings, D1, "transactions")
    assert txn[:5] == ("T1", "A1", "2025-06-02 11:00:00", "credit", "123456789012345.67")
    block = yaml.safe_load((folder / "_delivery.yml").read_text())["extract"]
    assert block["source"] == "platform" and block["since_sealed_date"] is None
    assert block["tables"]["loans"]["query"].startswith("SELECT loan_id")
    assert block["tables"]["loans"]["cutoff"] == "2025-06-02T16:00:00+00:00"  # D+1 00:00 Asia/Shanghai
    assert block["tables"]["loans"]["rows"] == 1


def test_incremental_moves_exactly_the_rows_updated_and_inserted(
    uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    d1_evening = "TIMESTAMP '2025-06-02 20:00:00' AT TIME ZONE 'Asia/Shanghai'"
    d2_evening = "TIMESTAMP '2025-06-03 20:00:00' AT TIME ZONE 'Asia/Shanghai'"
    _sql(
        uri,
        "INSERT INTO schedules SELECT 'L1', n, DATE '2025-07-02' + n, 10.00, 1.00, 0.00, "
        f"{d1_evening} FROM generate_series(2, 1501) n",
    )
    assert extract_day(settings, source, D1).rows == 1500 + len(GOOD_ROWS)
    _seal(settings, D1)
    _sql(
        uri,
        f"UPDATE schedules SET fee_due = 0.50, committed_at = {d2_evening} WHERE installment_no <= 1000",
        "INSERT INTO transactions SELECT 'TX' || n, 'A1', TIMESTAMP '2025-06-03 09:00:00', 'debit', 5.00, "
        f"'CNY', 'transfer', 'B9', 'Li Lei', 'CN', 'rent', {d2_evening} FROM generate_series(1, 1000) n",
    )
    result = extract_day(settings, source, D2)
    moved = {t.file_name: t.rows for t in result.tables}
    assert moved["schedules"] == 1000 and moved["transactions"] == 1000
    assert result.rows == 2000
    assert {t.file_name for t in result.tables if not t.delivered} == {"watchlist"}  # no new list version
    assert result.base_date == D1


def test_a_killed_extract_rerun_loads_nothing_twice(
    uri: str, settings: Settings, source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regwatch.extract import postgres

    load_day(uri, _landing(tmp_path / "files", D1), D1)
    extract_day(settings, source, D1)
    _seal(settings, D1)
    _sql(
        uri,
        "UPDATE loans SET status = 'settled', "
        "committed_at = TIMESTAMP '2025-06-03 20:00:00' AT TIME ZONE 'Asia/Shanghai'",
    )
    first = extract_day(settings, source, D2)
    manifest = (settings.landing_for(D2) / "_delivery.yml").read_bytes()

    real = postgres._extract_table
    calls = {"n": 0}

    def dies_on_the_third_table(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(postgres, "_extract_table", dies_on_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        extract_day(settings, source, D2)
    # The killed extract left D2 as the complete earlier extract, and no half-built folder.
    assert (settings.landing_for(D2) / "_delivery.yml").read_bytes() == manifest
    assert not [p for p in settings.landing_dir.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(postgres, "_extract_table", real)
    again = extract_day(settings, source, D2)  # the watermark did not move: the same rows, same bytes
    assert (settings.landing_for(D2) / "_delivery.yml").read_bytes() == manifest
    assert again.rows == first.rows == 1


def test_a_late_commit_inside_the_overlap_window_is_delivered_once(
    uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    extract_day(settings, source, D1)
    _seal(settings, D1)
    # committed after D1's extract, stamped 30 minutes before D1's watermark (12:00 UTC)
    _sql(
        uri,
        "INSERT INTO transactions SELECT 'LATE', 'A1', TIMESTAMP '2025-06-02 19:00:00', 'credit', 9.00, "
        "'CNY', 'transfer', 'B9', 'Li Lei', 'CN', 'rent', TIMESTAMPTZ '2025-06-02 11:30:00+00'",
    )
    extract_day(settings, source, D2)
    assert [r[0] for r in _rows(settings, D2, "transactions")] == ["LATE"]  # T1 (same key, same mark) is not
    _seal(settings, D2)
    extract_day(settings, source, D3)
    assert _rows(settings, D3, "transactions") == []


def test_an_unsealed_earlier_extract_blocks_the_next_date(
    uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    extract_day(settings, source, D1)
    with pytest.raises(state.ExtractStateError, match="extract of 2025-06-02 is not sealed yet"):
        extract_day(settings, source, D2)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("DROP TABLE fundings", "source platform, table fundings: .*fundings.* does not exist"),
        ("ALTER TABLE accounts DROP COLUMN phone", "source platform, table accounts: .*phone"),
        (
            "DELETE FROM repayments",  # a restore from an older backup: the sealed watermark is gone
            None,
        ),
    ],
)
def test_source_faults_are_one_line_naming_the_source_and_table(
    uri: str, settings: Settings, source: Source, tmp_path: Path, damage: str, message: str | None
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    extract_day(settings, source, D1)
    _seal(settings, D1)
    _sql(uri, damage)
    if message is None:
        _sql(
            uri,
            "INSERT INTO repayments SELECT 'OLD', 'L1', TIMESTAMP '2025-05-02 10:00:00', NULL, 0, 0, 0, 0, "
            "'borrower', TIMESTAMPTZ '2025-05-02 10:00:00+00'",
        )
        message = "source platform, table repayments: the watermark went backwards"
    before = sorted(p.name for p in settings.landing_dir.iterdir())
    with pytest.raises(ExtractError, match=message):
        extract_day(settings, source, D2)
    assert sorted(p.name for p in settings.landing_dir.iterdir()) == before  # nothing half-written


def test_permission_denied_and_unreachable_exit_1_with_one_line(
    uri: str, cluster: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regwatch.cli import main

    load_day(uri, _landing(tmp_path / "files", D1), D1)
    _sql(uri, "CREATE ROLE reader LOGIN", "GRANT SELECT ON loans TO reader")
    sources = tmp_path / "sources.yml"
    sources.write_text(sources_yaml("platform", uri_env=ENV))
    monkeypatch.setenv("REGWATCH_VAR", str(settings.var_dir))
    monkeypatch.setenv(ENV, uri.replace("regwatch@", "reader@"))
    args = ["extract", "--business-date", "2025-06-02", "--source", "platform", "--sources", str(sources)]
    denied = CliRunner().invoke(main, args)
    assert denied.exit_code == 1
    assert "source platform, table" in denied.stderr and "permission denied" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1
    host, _port = cluster.split("@", 1)[1].split("/", 1)[0].split(":")
    monkeypatch.setenv(ENV, f"postgresql://regwatch@{host}:1/nowhere")
    unreachable = CliRunner().invoke(main, args)
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith("regwatch: error: source platform: cannot connect")
    missing = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "none.yml")])
    assert missing.exit_code == 2  # no sources file: bad usage


def test_the_checked_in_sources_file_loads_and_names_no_secret() -> None:
    text = (REPO_ROOT / "sources.yml").read_text()
    sources = load_sources(REPO_ROOT / "sources.yml")
    assert set(sources["platform_demo"].tables[i].file_name for i in range(8)) == set(GOOD_ROWS) | {
        "watchlist"
    }
    assert "://" not in text and "password" not in text.lower()
    assert text == sources_yaml()  # written by demo_source.sources_yaml: the two never disagree


def test_bad_sources_file_is_bad_usage(tmp_path: Path) -> None:
    path = tmp_path / "sources.yml"
    path.write_text("sources:\n  x:\n    kind: oracle\n")
    with pytest.raises(SourceConfigError, match="kind must be postgresql"):
        load_sources(path)
    assert plain_uri("postgresql+psycopg://u@h:5/db") == "postgresql://u@h:5/db"
    assert plain_uri("postgres://u@h/db") == "postgresql://u@h/db"
