"""Helpers the tests share: raw rows written straight into the warehouse, queries on it, and
directories built once per test session.

Integration tests that exercise dbt on hand-made rows insert them into ``raw.*`` (as the
ingest step would, with the four lineage columns) and read the models back.

Generated platforms (and the ``var/`` of the days run on them) are built once per test
session with :func:`built_once`, shared by the pytest-xdist workers, and treated as
read-only; a test that changes data works on :func:`private_copy` (a directory copy of a
built warehouse costs milliseconds, a rebuild tens of seconds).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.rules import RulePack
from tests.conftest import REPO_ROOT


def project_copy(root: Path) -> Settings:
    """A copy of the project's content folders under ``root`` (tests may edit its models) and an empty warehouse."""
    for folder in ("dbt_project", "checks", "reports"):
        shutil.copytree(
            REPO_ROOT / folder, root / "project" / folder, ignore=shutil.ignore_patterns("target", "logs")
        )
    settings = Settings(project_root=root / "project", var_dir=root / "var", landing_dir=root / "landing")
    with warehouse.connect(settings.warehouse_path):
        pass
    return settings


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    table: str,
    day: date,
    rows: Sequence[tuple[object, ...]],
    load_id: str | None = None,
    source_file: str | None = None,
) -> None:
    """Append ``rows`` to ``raw.<table>`` as the load of ``day`` (row numbers from 1)."""
    for number, row in enumerate(rows, start=1):
        marks = ", ".join("?" for _ in range(len(row) + 4))
        con.execute(
            f"INSERT INTO raw.{table} VALUES ({marks})",
            [*row, load_id or f"load-{day}", day, source_file or f"{day}/{table}.csv", number],
        )


def raw_loan(
    loan_id: str,
    *,
    borrower: str = "C1",
    contract: date = date(2025, 6, 2),
    principal: str = "12000.00",
    currency: str = "CNY",
    term_months: int = 12,
    method: str = "equal_installment",
    rate: str = "0.12",
    upfront: str = "0",
    status: str = "active",
    written_off: date | None = None,
    updated: str = "2025-06-02 09:00:00",
) -> tuple[object, ...]:
    """One row of ``raw.loans`` (contract columns in order): an individual's loan, disbursed on its contract date."""
    return (
        loan_id,
        borrower,
        "individual",
        "P",
        None,
        False,
        contract,
        contract,
        Decimal(principal),
        currency,
        term_months,
        method,
        Decimal(rate),
        Decimal(upfront),
        status,
        written_off,
        updated,
    )


def reading(pack: RulePack, *models: str) -> RulePack:
    """``pack`` with only the rules that read one of ``models``: the rules a test runs on a
    warehouse where only those marts' lineage was built (``transform.build(select=lineage(...))``)."""
    return pack.model_copy(update={"rules": tuple(r for r in pack.rules if r.model in models)})


def lineage(*models: str) -> tuple[str, ...]:
    """dbt selectors of ``models`` with every parent (seeds, staging, intermediate models)."""
    return tuple(f"+{model}" for model in models)


def query(settings: Settings, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """All rows of ``sql`` (with ``params``) on the settings' warehouse, opened read-only and closed again."""
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The directory ``name``, made by ``build(path)`` once per test session.

    Under pytest-xdist every worker has its own session fixtures; the directory lives in
    the session's shared temporary root and the first worker to ask builds it under a
    file lock while the others wait, so a platform is generated and run once per
    ``make test``. ``name`` must say everything the build depends on (generator
    arguments, pack, dates): equal names share one build. Treat the result as read-only.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-of-<user>/pytest-<n>/: one per session, shared by the workers
    root = base / "built-once"
    root.mkdir(parents=True, exist_ok=True)
    target, done = root / name, root / f"{name}.done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)  # a build that failed half-way
            target.mkdir()
            build(target)
            done.touch()
    return target


def private_copy(source: Path, target: Path) -> Path:
    """A copy of a built directory (a platform's landing/ or var/) that a test may change."""
    shutil.copytree(source, target, symlinks=True)
    return target


Row = tuple[object, ...]


def raw_account(
    account_id: str, customer_id: str, status: str = "active", updated: str = "2025-01-01 00:00:00"
) -> Row:
    """One row of ``raw.accounts`` (contract columns in order): an individual's account, no device."""
    return (
        account_id,
        customer_id,
        "individual",
        "Test Person",
        "110101199003074477",
        "13812345678",
        "CN",
        None,
        "2023-01-05 10:00:00",
        status,
        updated,
    )


def built_marts(
    root: Path,
    business_date: date,
    pack: RulePack,
    marts: Sequence[str],
    loads: Mapping[date, Mapping[str, Sequence[Row]]],
) -> Settings:
    """A warehouse under ``root`` holding ``loads`` (load date -> raw table -> rows) with only the
    lineage of ``marts`` built as of ``business_date`` under ``pack``'s parameters (no PDF)."""
    from regwatch import transform

    settings = Settings(
        project_root=REPO_ROOT, render_pdf=False, var_dir=root / "var", landing_dir=root / "landing"
    )
    with warehouse.connect(settings.warehouse_path) as con:
        for day, tables in loads.items():
            for table, rows in tables.items():
                insert_raw(con, table, day, rows)
    parameters = {name: p.value for name, p in pack.parameters.items()}
    key = f"pack-{pack.name}-{hashlib.sha256(repr(sorted(parameters.items())).encode()).hexdigest()[:12]}"
    with saved_parse(settings, key):
        transform.build(business_date, settings, pack_parameters=parameters, select=lineage(*marts))
    return settings


def fired(exceptions: pd.DataFrame, rule: str) -> set[str]:
    """The entity keys ``rule`` (its id, or the slug after ``cn.aml.``) fired on."""
    rule_id = rule if "." in rule else f"cn.aml.{rule}"
    return set(exceptions.loc[exceptions.rule_id == rule_id, "entity_key"])


def deliver(landing: Path, day: date, files: Mapping[str, str | bytes]) -> Path:
    """``files`` (name without ``.csv`` -> CSV text or bytes) written as the delivery of ``day``
    under ``landing``; returns ``landing``."""
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / f"{name}.csv"
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return landing


def ran_day(var: Path, landing: Path, day: date, pack: str = "cn") -> Settings:
    """``day`` of ``landing`` run through every pipeline step under ``pack`` into ``var`` (no PDF)."""
    from regwatch import pipeline

    settings = Settings(project_root=REPO_ROOT, render_pdf=False, var_dir=var, landing_dir=landing, pack=pack)
    with saved_parse(settings, f"pack-{pack}"):
        pipeline.run_day(day, settings)
    return settings


#: The folder where dbt's saved parses are shared by the session's tests (and its xdist workers);
#: set by the session fixture ``_shared_dbt_parses`` in conftest. None: nothing is shared.
SHARED_PARSES: list[Path] = []


@contextmanager
def saved_parse(settings: Settings, key: str) -> Iterator[None]:
    """dbt's saved parse of the project shared between the fresh ``var/`` folders of a session.

    A fresh ``var/`` has no ``target/partial_parse.msgpack``, so its first build parses the whole
    project (5-7 CPU-s) although an earlier test parsed the same files with the same vars. Before
    the block, the saved parse another build left under ``key`` (a name for the vars: the pack,
    its parameters) is copied into ``settings``' dbt target; after it, the block's own is kept
    under ``key`` if none is yet. dbt checks a saved parse itself (project files, vars, profile,
    dbt version) and parses in full when it does not match, so a wrong ``key`` costs time, never
    a wrong result; the profile's paths are relative to the warehouse's folder
    (regwatch.transform), so the parse of one ``var/`` is valid in another.
    """
    name = "partial_parse.msgpack"
    own = settings.dbt_target_dir / name
    shared = SHARED_PARSES[0] / f"{key}.msgpack" if SHARED_PARSES else None
    if shared is not None and shared.is_file() and not own.exists():
        own.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared, own)
    yield
    if shared is not None and own.is_file() and not shared.exists():
        partial = shared.with_name(f"{shared.name}.{os.getpid()}")
        shutil.copyfile(own, partial)
        partial.replace(shared)  # atomic: another worker may be reading it
