"""`regwatch extract` against a private PostgreSQL 15 and a private MariaDB 10.11 (the
machine's own server binaries): every test runs on both.

The watermark logic is tested on the source tables the demo loader creates
(regwatch.extract.demo_source), one database per test; a date is "sealed" here by the
same call seal_ledger makes (the full pipeline is exercised in test_extract_e2e.py).
The MariaDB runs are marked ``mariadb`` and skipped when mariadb-server is not installed
(``make system-deps`` installs it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc_pg
import duckdb
import pymysql
import pytest
import yaml
from click.testing import CliRunner

from regwatch.config import Settings
from regwatch.extract import state
from regwatch.extract.databases import mysql_connect_args
from regwatch.extract.demo_source import load_day, sources_yaml
from regwatch.extract.run import ExtractError, extract_day
from regwatch.extract.sources import Source, SourceConfigError, load_sources, plain_uri
from tests import mariadb, postgres
from tests.conftest import GOOD_ROWS, REPO_ROOT

pytestmark = pytest.mark.integration

D1, D2, D3 = date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4)
ENV = "REGWATCH_TEST_SOURCE_URI"


@dataclass(frozen=True)
class Backend:
    """One kind of source database: its server and the few SQL spellings the tests need."""

    kind: str
    server: str  # the URI of the server's first database

    def url(self, database: str) -> str:
        return self.server.rsplit("/", 1)[0] + f"/{database}"

    def create(self, database: str) -> str:
        self.sql(self.server, f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
        return self.url(database)

    def sql(self, uri: str, *statements: str) -> None:
        if self.kind == "postgresql":
            with adbc_pg.connect(uri, autocommit=True) as con:
                for statement in statements:
                    con.cursor().execute(statement)
            return
        con = pymysql.connect(
            **mysql_connect_args(uri), autocommit=True, init_command="SET time_zone = '+00:00'"
        )
        with con, con.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def at(self, utc: str) -> str:
        """A committed_at value given in UTC."""
        return f"TIMESTAMPTZ '{utc}+00'" if self.kind == "postgresql" else f"TIMESTAMP '{utc}'"

    def series(self, first: int, last: int) -> str:
        """A FROM clause of the integers first..last as column n."""
        if self.kind == "postgresql":
            return f"generate_series({first}, {last}) n"
        return f"(SELECT seq AS n FROM seq_{first}_to_{last}) s"

    def grant_reader(self, uri: str) -> str:
        """A login that may read loans only; its URI."""
        if self.kind == "postgresql":
            self.sql(uri, "CREATE ROLE reader LOGIN", "GRANT SELECT ON loans TO reader")
        else:
            database = uri.rsplit("/", 1)[1]
            self.sql(
                uri,
                "CREATE USER IF NOT EXISTS 'reader'@'%'",
                f"GRANT SELECT ON {database}.loans TO 'reader'@'%'",
            )
        return uri.replace("regwatch@", "reader@")

    @property
    def denied(self) -> str:
        return "permission denied" if self.kind == "postgresql" else "command denied"


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                postgres.server_bin() is None, reason="no PostgreSQL server binaries (set PG_BIN)"
            ),
        ),
        pytest.param(
            "mariadb",
            marks=[
                pytest.mark.mariadb,
                pytest.mark.skipif(
                    mariadb.server_bin() is None,
                    reason="no MariaDB server (make system-deps: mariadb-server)",
                ),
            ],
        ),
    ],
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    start = postgres.private_cluster if request.param == "postgresql" else mariadb.private_server
    with start("first") as server:
        yield Backend(request.param, server)


@pytest.fixture
def uri(backend: Backend, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for this test; its URI is in the source's environment variable."""
    name = "t_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    url = backend.create(name)
    monkeypatch.setenv(ENV, url)
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, project_root=REPO_ROOT, var_dir=tmp_path / "var")


@pytest.fixture
def source(tmp_path: Path, backend: Backend) -> Source:
    path = tmp_path / "sources.yml"
    path.write_text(sources_yaml("platform", uri_env=ENV, kind=backend.kind))
    return load_sources(path)["platform"]


def _landing(root: Path, day: date, rows: dict[str, str] | None = None) -> Path:
    folder = root / day.isoformat()
    folder.mkdir(parents=True)
    for name, text in (rows or GOOD_ROWS).items():
        (folder / f"{name}.csv").write_text(text)
    return root


def _seal(settings: Settings, day: date) -> None:
    """What seal_ledger does once D's run with this delivery is sealed."""
    block = yaml.safe_load((settings.landing_for(day) / "_delivery.yml").read_text())["extract"]
    state.seal(settings, block, day, f"run-{day}")


def _first_day_extracted(
    uri: str, settings: Settings, source: Source, tmp_path: Path, seal: bool = True
) -> None:
    """D1's good rows loaded into the database and extracted, then sealed unless ``seal`` is False."""
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    extract_day(settings, source, D1)
    if seal:
        _seal(settings, D1)


def _rows(settings: Settings, day: date, name: str) -> list[tuple[object, ...]]:
    path = settings.landing_for(day) / f"{name}.parquet"
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()


D1_EVENING, D2_EVENING = "2025-06-02 12:00:00", "2025-06-03 12:00:00"  # 20:00 Asia/Shanghai, in UTC


def test_first_extract_delivers_every_row_as_text_ingest_reads(
    backend: Backend, uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    # an amount no DOUBLE holds to the cent
    backend.sql(uri, "UPDATE transactions SET amount = 123456789012345.67")
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
    assert block["kind"] == backend.kind
    assert block["tables"]["loans"]["query"].startswith("SELECT loan_id")
    assert block["tables"]["loans"]["cutoff"] == "2025-06-02T16:00:00+00:00"  # D+1 00:00 Asia/Shanghai
    assert block["tables"]["loans"]["rows"] == 1
    assert block["tables"]["loans"]["watermark"] == "2025-06-02T12:00:00+00:00"


def test_a_zoned_timestamp_column_is_delivered_in_utc(
    backend: Backend, uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    """txn_at held as an instant (PostgreSQL timestamptz, MySQL TIMESTAMP), written by a
    client in Asia/Shanghai: the delivery says 11:00 UTC, whatever the session's zone."""
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    if backend.kind == "postgresql":
        backend.sql(
            uri,
            "ALTER TABLE transactions ALTER COLUMN txn_at TYPE timestamptz USING txn_at AT TIME ZONE 'UTC'",
            "UPDATE transactions SET txn_at = TIMESTAMPTZ '2025-06-02 19:00:00+08'",
        )
    else:
        backend.sql(
            uri,
            "ALTER TABLE transactions MODIFY txn_at TIMESTAMP NULL",
            "SET time_zone = '+08:00'",
            "UPDATE transactions SET txn_at = '2025-06-02 19:00:00'",
        )
    extract_day(settings, source, D1)
    (txn,) = _rows(settings, D1, "transactions")
    assert txn[2] == "2025-06-02 11:00:00"


def test_incremental_moves_exactly_the_rows_updated_and_inserted(
    backend: Backend, uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    backend.sql(
        uri,
        "INSERT INTO schedules SELECT 'L1', n, DATE '2025-07-02', 10.00, 1.00, 0.00, "
        f"{backend.at(D1_EVENING)} FROM {backend.series(2, 1501)}",
    )
    assert extract_day(settings, source, D1).rows == 1500 + len(GOOD_ROWS)
    _seal(settings, D1)
    backend.sql(
        uri,
        f"UPDATE schedules SET fee_due = 0.50, committed_at = {backend.at(D2_EVENING)} "
        "WHERE installment_no <= 1000",
        "INSERT INTO transactions SELECT concat('TX', n), 'A1', TIMESTAMP '2025-06-03 09:00:00', 'debit', "
        f"5.00, 'CNY', 'transfer', 'B9', 'Li Lei', 'CN', 'rent', {backend.at(D2_EVENING)} "
        f"FROM {backend.series(1, 1000)}",
    )
    result = extract_day(settings, source, D2)
    moved = {t.file_name: t.rows for t in result.tables}
    assert moved["schedules"] == 1000 and moved["transactions"] == 1000
    assert result.rows == 2000
    assert {t.file_name for t in result.tables if not t.delivered} == {"watchlist"}  # no new list version
    assert result.base_date == D1


def test_a_killed_extract_rerun_loads_nothing_twice(
    backend: Backend,
    uri: str,
    settings: Settings,
    source: Source,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from regwatch.extract import run

    _first_day_extracted(uri, settings, source, tmp_path)
    backend.sql(uri, f"UPDATE loans SET status = 'settled', committed_at = {backend.at(D2_EVENING)}")
    first = extract_day(settings, source, D2)
    manifest = (settings.landing_for(D2) / "_delivery.yml").read_bytes()

    real = run._extract_table
    calls = {"n": 0}

    def dies_on_the_third_table(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "_extract_table", dies_on_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        extract_day(settings, source, D2)
    # The killed extract left D2 as the complete earlier extract, and no half-built folder.
    assert (settings.landing_for(D2) / "_delivery.yml").read_bytes() == manifest
    assert not [p for p in settings.landing_dir.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(run, "_extract_table", real)
    again = extract_day(settings, source, D2)  # the watermark did not move: the same rows, same bytes
    assert (settings.landing_for(D2) / "_delivery.yml").read_bytes() == manifest
    assert again.rows == first.rows == 1


def test_a_late_commit_inside_the_overlap_window_is_delivered_once(
    backend: Backend, uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    _first_day_extracted(uri, settings, source, tmp_path)
    # committed after D1's extract, stamped 30 minutes before D1's watermark (12:00 UTC)
    backend.sql(
        uri,
        "INSERT INTO transactions SELECT 'LATE', 'A1', TIMESTAMP '2025-06-02 19:00:00', 'credit', 9.00, "
        f"'CNY', 'transfer', 'B9', 'Li Lei', 'CN', 'rent', {backend.at('2025-06-02 11:30:00')}",
    )
    extract_day(settings, source, D2)
    assert [r[0] for r in _rows(settings, D2, "transactions")] == ["LATE"]  # T1 (same key, same mark) is not
    _seal(settings, D2)
    extract_day(settings, source, D3)
    assert _rows(settings, D3, "transactions") == []


def test_an_unsealed_earlier_extract_blocks_the_next_date(
    uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    _first_day_extracted(uri, settings, source, tmp_path, seal=False)
    with pytest.raises(state.ExtractStateError, match="extract of 2025-06-02 is not sealed yet"):
        extract_day(settings, source, D2)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("DROP TABLE fundings", "source platform, table fundings: .*fundings.* (does not|doesn't) exist"),
        ("ALTER TABLE accounts DROP COLUMN phone", "source platform, table accounts: .*phone"),
        (
            "DELETE FROM repayments",  # a restore from an older backup: the sealed watermark is gone
            None,
        ),
    ],
)
def test_source_faults_are_one_line_naming_the_source_and_table(
    backend: Backend,
    uri: str,
    settings: Settings,
    source: Source,
    tmp_path: Path,
    damage: str,
    message: str | None,
) -> None:
    _first_day_extracted(uri, settings, source, tmp_path)
    backend.sql(uri, damage)
    if message is None:
        backend.sql(
            uri,
            "INSERT INTO repayments SELECT 'OLD', 'L1', TIMESTAMP '2025-05-02 10:00:00', NULL, 0, 0, 0, 0, "
            f"'borrower', {backend.at('2025-05-02 10:00:00')}",
        )
        message = "source platform, table repayments: the watermark went backwards"
    before = sorted(p.name for p in settings.landing_dir.iterdir())
    with pytest.raises(ExtractError, match=message):
        extract_day(settings, source, D2)
    assert sorted(p.name for p in settings.landing_dir.iterdir()) == before  # nothing half-written


def test_permission_denied_and_unreachable_exit_1_with_one_line(
    backend: Backend, uri: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regwatch.cli import main

    load_day(uri, _landing(tmp_path / "files", D1), D1)
    sources = tmp_path / "sources.yml"
    sources.write_text(sources_yaml("platform", uri_env=ENV, kind=backend.kind))
    monkeypatch.setenv("REGWATCH_VAR", str(settings.var_dir))
    monkeypatch.setenv(ENV, backend.grant_reader(uri))
    args = ["extract", "--business-date", "2025-06-02", "--source", "platform", "--sources", str(sources)]
    denied = CliRunner().invoke(main, args)
    assert denied.exit_code == 1
    assert "source platform, table" in denied.stderr and backend.denied in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1
    scheme, rest = uri.split("://", 1)
    host = rest.split("@", 1)[1].split(":", 1)[0]
    monkeypatch.setenv(ENV, f"{scheme}://regwatch@{host}:1/nowhere")
    unreachable = CliRunner().invoke(main, args)
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith("regwatch: error: source platform: cannot connect")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    missing = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "none.yml")])
    assert missing.exit_code == 2  # no sources file: bad usage


@pytest.mark.mariadb
def test_mysql_text_in_latin1_and_gbk_columns_is_decoded(
    backend: Backend, uri: str, settings: Settings, source: Source, tmp_path: Path
) -> None:
    """A legacy MySQL schema: names in a gbk column, countries in latin1. The server converts
    each to the session's utf8mb4; the delivery holds the very characters."""
    if backend.kind == "postgresql":
        pytest.skip("column character sets are MySQL's")
    load_day(uri, _landing(tmp_path / "files", D1), D1)
    backend.sql(
        uri,
        "ALTER TABLE accounts MODIFY full_name TEXT CHARACTER SET gbk, "
        "MODIFY device_id VARCHAR(64) CHARACTER SET latin1",
        "UPDATE accounts SET full_name = '王芳', device_id = 'Café-Müller-ß'",
    )
    con = pymysql.connect(**mysql_connect_args(uri))
    with con, con.cursor() as cursor:  # stored as gbk and latin1 bytes, not UTF-8
        cursor.execute("SELECT HEX(full_name), HEX(device_id) FROM accounts")
        assert cursor.fetchall() == (("CDF5B7BC", "436166E92D4DFC6C6C65722DDF"),)
    extract_day(settings, source, D1)
    (account,) = _rows(settings, D1, "accounts")
    assert account[3] == "王芳" and account[7] == "Café-Müller-ß"


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
    with pytest.raises(SourceConfigError, match="kind must be one of postgresql, mysql, mariadb"):
        load_sources(path)
    assert plain_uri("postgresql+psycopg://u@h:5/db") == "postgresql://u@h:5/db"
    assert plain_uri("postgres://u@h/db") == "postgresql://u@h/db"
    assert plain_uri("mysql+pymysql://u@h/db") == "mysql://u@h/db"
    assert mysql_connect_args("mariadb://u:p%40ss@h:3307/db?unix_socket=/run/m.sock") == {
        "host": "h",
        "port": 3307,
        "user": "u",
        "password": "p@ss",
        "database": "db",
        "unix_socket": "/run/m.sock",
    }


@pytest.mark.parametrize(
    "manifest",
    [None, "encoding: gb18030\n", "extract: {source: other}\n", "extract: [broken\n"],
)
def test_an_extract_never_replaces_a_file_delivery_or_another_source(
    settings: Settings, tmp_path: Path, manifest: str | None
) -> None:
    """Checked before any connection: a date folder holding delivered files (with or without
    a manifest of its own, or another source's extract) is left alone."""
    folder = settings.landing_for(D1)
    folder.mkdir(parents=True)
    (folder / "loans.csv").write_text(GOOD_ROWS["loans"])
    if manifest is not None:
        (folder / "_delivery.yml").write_text(manifest)
    path = tmp_path / "sources.yml"
    path.write_text(sources_yaml("platform", uri_env="REGWATCH_UNSET_URI"))
    with pytest.raises(ExtractError, match="holds a file delivery"):
        extract_day(settings, load_sources(path)["platform"], D1)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["loans.csv", *(["_delivery.yml"] if manifest else [])]
    )
