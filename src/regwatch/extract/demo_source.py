"""Load a landing tree into PostgreSQL or MySQL/MariaDB as a platform's own OLTP database would hold it.

The example source of ``sources.yml`` (``platform_demo``) and the extract tests: one
typed table per contract file, keyed by the contract key, each row stamped with
``committed_at`` (the business date's evening in the platform's time zone). Loading
date by date upserts (a restated loan version or schedule row is updated in place and
committed again); the watch list is replaced whole, as its publisher replaces it.

    python -m regwatch.extract.demo_source --landing var/landing --uri postgresql://... [--through D]
    python -m regwatch.extract.demo_source --landing var/landing --uri mysql://user@host/db

The URI's scheme picks the database (``mysql://`` and ``mariadb://`` are one kind).
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from regwatch.contract import CONTRACTS, FileContract

#: PostgreSQL type of each logical contract type (money wide enough for any real amount).
PG_TYPES = {
    "string": "text",
    "enum": "text",
    "currency": "text",
    "integer": "integer",
    "decimal": "numeric(24,2)",
    "rate": "numeric(16,8)",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}
#: MySQL/MariaDB type of each logical contract type (``TIMESTAMP``: committed_at, read in UTC).
MYSQL_TYPES = {
    "string": "TEXT",
    "enum": "VARCHAR(64)",
    "currency": "CHAR(3)",
    "integer": "INT",
    "decimal": "DECIMAL(24,2)",
    "rate": "DECIMAL(16,8)",
    "date": "DATE",
    "timestamp": "DATETIME",
    "boolean": "BOOLEAN",
}
#: The watch list is replaced whole by each delivery; everything else is upserted by key.
SNAPSHOT_TABLES = ("watchlist",)
#: When a date's rows were committed: 20:00 in the platform's time zone.
COMMIT_TIME = "20:00:00"
ZONE = "Asia/Shanghai"


def table_ddl(contract: FileContract) -> str:
    columns = [f'"{c.name}" {PG_TYPES[c.type]}' for c in contract.columns]
    key = ", ".join(f'"{k}"' for k in contract.key)
    return (
        f"CREATE TABLE IF NOT EXISTS {contract.name} ({', '.join(columns)}, "
        f"committed_at timestamptz NOT NULL, PRIMARY KEY ({key}))"
    )


def mysql_table_ddl(contract: FileContract) -> str:
    """The MySQL table of a contract file (a key column is a VARCHAR: TEXT cannot be a key)."""
    columns = []
    for c in contract.columns:
        kind = "VARCHAR(255)" if c.name in contract.key and c.type == "string" else MYSQL_TYPES[c.type]
        columns.append(f"`{c.name}` {kind}")
    key = ", ".join(f"`{k}`" for k in contract.key)
    return (
        f"CREATE TABLE IF NOT EXISTS {contract.name} ({', '.join(columns)}, "
        f"committed_at TIMESTAMP(6) NOT NULL, PRIMARY KEY ({key})) DEFAULT CHARSET = utf8mb4"
    )


def sources_yaml(
    source: str = "platform_demo", uri_env: str = "REGWATCH_SOURCE_URI", kind: str = "postgresql"
) -> str:
    """The ``sources.yml`` text that extracts every contract file from these tables."""
    lines = [
        "# The databases `regwatch extract --source NAME` reads (README: Extract from your database).",
        "# A connection is named, never written here: the URI comes from the environment variable",
        "# uri_env, else from the Airflow connection airflow_conn_id. One SELECT per contract file,",
        "# with its watermark column and key. This example is the demo platform loaded into",
        "# PostgreSQL by `python -m regwatch.extract.demo_source` (written by its sources_yaml()).",
        "sources:",
        f"  {source}:",
        f"    kind: {kind}",
        f"    uri_env: {uri_env}",
        "    airflow_conn_id: regwatch_platform",
        "    overlap_seconds: 3600",
        f"    timezone: {ZONE}",
        "    tables:",
    ]
    for name, contract in CONTRACTS.items():
        columns = ", ".join(contract.column_names)
        lines += [
            f"      {name}:",
            f"        query: SELECT {columns}, committed_at FROM {name}",
            "        watermark: committed_at",
            f"        key: [{', '.join(contract.key)}]",
        ]
        if name in SNAPSHOT_TABLES:
            lines.append("        mode: snapshot")
    return "\n".join(lines) + "\n"


def load_day(uri: str, landing: Path, business_date: date) -> dict[str, int]:
    """Upsert the date folder's CSV files into the database; rows per table."""
    if uri.split(":", 1)[0].split("+", 1)[0] in ("mysql", "mariadb"):
        return _load_day_mysql(uri, landing, business_date)
    import adbc_driver_postgresql.dbapi as adbc_pg

    folder = landing / business_date.isoformat()
    counts: dict[str, int] = {}
    db = duckdb.connect()
    with adbc_pg.connect(uri) as connection:
        cursor = connection.cursor()
        for name, contract in CONTRACTS.items():
            cursor.execute(table_ddl(contract))
            path = folder / f"{name}.csv"
            if not path.is_file():
                continue
            names = contract.column_names
            literal = str(path).replace("'", "''")
            staged = db.sql(
                f"SELECT {', '.join(names)} FROM read_csv('{literal}', header = true, all_varchar = true)"
            ).to_arrow_table()
            cursor.execute(f"DROP TABLE IF EXISTS stage_{name}")
            cursor.adbc_ingest(f"stage_{name}", staged, mode="create", temporary=True)
            values = ", ".join(
                f'CAST(NULLIF("{c.name}", \'\') AS {PG_TYPES[c.type]}) AS "{c.name}"'
                for c in contract.columns
            )
            key = ", ".join(f'"{k}"' for k in contract.key)
            committed = (
                f"CAST('{business_date.isoformat()} {COMMIT_TIME}' AS timestamp) AT TIME ZONE '{ZONE}'"
            )
            if name in SNAPSHOT_TABLES:
                cursor.execute(f"DELETE FROM {name}")
            updates = ", ".join(
                f'"{c}" = EXCLUDED."{c}"' for c in (*names, "committed_at") if c not in contract.key
            )
            cursor.execute(
                f"INSERT INTO {name} SELECT DISTINCT ON ({key}) * FROM "
                f"(SELECT {values}, {committed} AS committed_at FROM stage_{name}) s ORDER BY {key} "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
            )
            counts[name] = staged.num_rows
        connection.commit()
    db.close()
    return counts


def _load_day_mysql(uri: str, landing: Path, business_date: date) -> dict[str, int]:
    import pymysql

    from regwatch.extract.databases import mysql_connect_args

    folder = landing / business_date.isoformat()
    evening = datetime.fromisoformat(f"{business_date.isoformat()} {COMMIT_TIME}").replace(
        tzinfo=ZoneInfo(ZONE)
    )
    committed = evening.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    counts: dict[str, int] = {}
    db = duckdb.connect()
    connection = pymysql.connect(
        **mysql_connect_args(uri), charset="utf8mb4", init_command="SET time_zone = '+00:00'"
    )
    with connection, connection.cursor() as cursor:
        for name, contract in CONTRACTS.items():
            cursor.execute(mysql_table_ddl(contract))
            path = folder / f"{name}.csv"
            if not path.is_file():
                continue
            literal = str(path).replace("'", "''")
            values = ", ".join(
                f"CASE lower(\"{c.name}\") WHEN 'true' THEN '1' WHEN 'false' THEN '0' "
                f"ELSE NULLIF(\"{c.name}\", '') END"
                if c.type == "boolean"
                else f"NULLIF(\"{c.name}\", '')"
                for c in contract.columns
            )
            rows: list[tuple[Any, ...]] = [
                (*r, committed)
                for r in db.sql(
                    f"SELECT {values} FROM read_csv('{literal}', header = true, all_varchar = true)"
                ).fetchall()
            ]
            if name in SNAPSHOT_TABLES:
                cursor.execute(f"DELETE FROM {name}")
            names = [*contract.column_names, "committed_at"]
            updates = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in names if c not in contract.key)
            cursor.executemany(
                f"INSERT INTO {name} ({', '.join(f'`{c}`' for c in names)}) "
                f"VALUES ({', '.join(['%s'] * len(names))}) ON DUPLICATE KEY UPDATE {updates}",
                rows,
            )
            counts[name] = len(rows)
        connection.commit()
    db.close()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--through", type=date.fromisoformat, default=None, help="last date to load")
    args = parser.parse_args(argv)
    days = sorted(
        date.fromisoformat(p.name)
        for p in args.landing.iterdir()
        if p.is_dir()
        and p.name[:1].isdigit()
        and (args.through is None or p.name <= args.through.isoformat())
    )
    for day in days:
        counts = load_day(args.uri, args.landing, day)
        print(f"{day}: {sum(counts.values()):,} rows ({', '.join(f'{n} {c}' for n, c in counts.items())})")


if __name__ == "__main__":
    main()
