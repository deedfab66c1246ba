"""The source databases regwatch extracts from, one class per kind: how to connect, read one
consistent snapshot, compare a watermark column with a bound, and stream a SELECT as Arrow.

Both kinds hand over every value the way the database prints it, never through a float:

- **PostgreSQL** (``kind: postgresql``): ADBC (libpq's binary COPY) streams Arrow record
  batches; ``numeric`` arrives as a string column, ``timestamptz`` as a UTC timestamp.
- **MySQL / MariaDB** (``kind: mysql`` or ``mariadb``): PyMySQL over the text protocol
  with an unbuffered cursor, every value kept as the text the server sent (``DECIMAL``
  digits as printed; no Python converter runs). The session reads ``utf8mb4`` so the
  server converts each column from its own character set (``latin1``, ``gbk``, ...) into
  Unicode, and ``time_zone = '+00:00'`` so ``TIMESTAMP`` columns are printed in UTC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

#: Rows per Arrow record batch read from a MySQL server.
MYSQL_BATCH_ROWS = 50_000


class SourceDatabase(ABC):
    """One open connection to a source, inside one read-only snapshot."""

    kind: str

    @abstractmethod
    def begin(self) -> None:
        """Start the read-only, repeatable-read transaction every table is read in."""

    @abstractmethod
    def quote(self, name: str) -> str:
        """``name`` as a quoted identifier."""

    @abstractmethod
    def compare(self, column: str, op: str, bound: str, watermark_type: str) -> tuple[str, list[Any]]:
        """SQL comparing ``column`` with the bound (our own ISO text), and its parameters."""

    @abstractmethod
    def fetch(self, sql: str, params: list[Any]) -> pa.RecordBatchReader:
        """Stream the rows of ``sql``; the reader must be read to its end before the next fetch."""

    @abstractmethod
    def close(self) -> None: ...


def describe_error(error: BaseException) -> str:
    """One line for a driver error (PyMySQL's carry the server's error code first)."""
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):
        return f"{str(args[1]).splitlines()[0]} (MySQL error {args[0]})"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def dataset_namespace(kind: str, uri: str) -> tuple[str, str]:
    """(OpenLineage namespace, database) of a source: ``postgres://host:port`` or
    ``mysql://host:port`` and the database name; never the user or password."""
    parts = urlsplit(uri)
    scheme = "postgres" if kind == "postgresql" else "mysql"
    port = parts.port or (5432 if kind == "postgresql" else 3306)
    return f"{scheme}://{parts.hostname or 'localhost'}:{port}", unquote(parts.path.lstrip("/"))


def open_database(kind: str, uri: str) -> SourceDatabase:
    """Connect to the source (driver errors propagate: the caller names the source)."""
    if kind == "postgresql":
        return PostgresDatabase(uri)
    return MySQLDatabase(uri)


# ------------------------------------------------------------------ PostgreSQL


class PostgresDatabase(SourceDatabase):
    kind = "postgresql"

    def __init__(self, uri: str) -> None:
        import adbc_driver_postgresql.dbapi as adbc_pg

        self._connection = adbc_pg.connect(uri)
        self._cursor = self._connection.cursor()
        self._params = 0

    def begin(self) -> None:
        self._cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def compare(self, column: str, op: str, bound: str, watermark_type: str) -> tuple[str, list[Any]]:
        self._params += 1
        return f"{column} {op} CAST(${self._params} AS {watermark_type})", [bound]

    def fetch(self, sql: str, params: list[Any]) -> pa.RecordBatchReader:
        self._params = 0
        self._cursor.execute(sql, tuple(params) if params else None)
        reader: pa.RecordBatchReader = self._cursor.fetch_record_batch()
        return reader

    def close(self) -> None:
        try:
            self._connection.rollback()  # read only: nothing to keep
        finally:
            self._connection.close()


# ------------------------------------------------------------------ MySQL / MariaDB


def mysql_connect_args(uri: str) -> dict[str, Any]:
    """PyMySQL's keyword arguments for ``mysql://user:password@host:port/database``
    (``mariadb://`` and a SQLAlchemy driver suffix such as ``mysql+pymysql://`` too;
    ``?unix_socket=/path`` for a local socket)."""
    parts = urlsplit(uri)
    if parts.scheme.split("+", 1)[0] not in ("mysql", "mariadb"):
        raise ValueError(f"not a MySQL URI: {parts.scheme}://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    args: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else "",
        "database": unquote(parts.path.lstrip("/")) or None,
    }
    if "unix_socket" in query:
        args["unix_socket"] = query["unix_socket"]
    return args


def _mysql_bound(bound: str, watermark_type: str) -> str | int:
    """Our ISO bound as MySQL compares it: a ``TIMESTAMP`` column in the UTC session."""
    if watermark_type == "timestamptz":
        value = datetime.fromisoformat(bound)
        value = value.astimezone(UTC) if value.tzinfo else value
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if watermark_type == "timestamp":
        return datetime.fromisoformat(bound).isoformat(sep=" ", timespec="microseconds")
    if watermark_type == "date":
        return bound
    return int(bound)


class MySQLDatabase(SourceDatabase):
    kind = "mysql"

    def __init__(self, uri: str) -> None:
        import pymysql
        from pymysql import converters

        # Encoders only (for literals): no decoder, so every value stays the text the server sent.
        encoders: dict[Any, Any] = {k: v for k, v in converters.conversions.items() if not isinstance(k, int)}
        self._connection = pymysql.connect(
            **mysql_connect_args(uri),
            charset="utf8mb4",
            conv=encoders,
            autocommit=False,
            init_command="SET time_zone = '+00:00'",
            connect_timeout=15,
        )

    def begin(self) -> None:
        with self._connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def compare(self, column: str, op: str, bound: str, watermark_type: str) -> tuple[str, list[Any]]:
        # Inlined as an escaped literal: the user's query may hold a % that PyMySQL's
        # parameter formatting would take for a placeholder.
        literal = self._connection.literal(_mysql_bound(bound, watermark_type))
        return f"{column} {op} {literal}", []

    def fetch(self, sql: str, params: list[Any]) -> pa.RecordBatchReader:
        import pymysql.cursors

        cursor = pymysql.cursors.SSCursor(self._connection)
        cursor.execute(sql)
        names = [str(d[0]) for d in cursor.description or ()]
        schema = pa.schema([(name, pa.string()) for name in names])

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                while rows := cursor.fetchmany(MYSQL_BATCH_ROWS):
                    columns = list(zip(*rows, strict=True))
                    yield pa.record_batch(
                        [pa.array(_text(names[i], c), pa.string()) for i, c in enumerate(columns)],
                        schema=schema,
                    )
            finally:
                cursor.close()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def close(self) -> None:
        try:
            self._connection.rollback()
        finally:
            self._connection.close()


def _text(name: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A column's values as text; a binary column (bytes) must hold UTF-8 text."""
    if not any(isinstance(v, bytes) for v in values):
        return values
    try:
        return tuple(v.decode("utf-8") if isinstance(v, bytes) else v for v in values)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"column {name} is binary and not UTF-8 text (declare its character set, or CONVERT it in the query)"
        ) from error
