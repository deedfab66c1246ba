"""The checked-in description of the platform databases regwatch extracts from (``sources.yml``).

One source is one database; each of its tables feeds one contract file with one SELECT,
a watermark column and the contract key. Connections are named, never written down:
an environment variable holding the URI, or an Airflow connection id, so no URI and no
password ever sits in the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import yaml

from regwatch.contract import CONTRACTS

Mode = Literal["incremental", "snapshot"]

#: Types a watermark column may have (the bound is cast to it in the query). On MySQL /
#: MariaDB ``timestamptz`` is a ``TIMESTAMP`` column (read in a UTC session), ``timestamp``
#: a ``DATETIME``.
WATERMARK_TYPES = ("timestamptz", "timestamp", "date", "bigint")
#: The databases regwatch reads (:mod:`regwatch.extract.databases`); mariadb is mysql's driver.
KINDS = ("postgresql", "mysql", "mariadb")


class SourceConfigError(ValueError):
    """``sources.yml`` does not describe a usable source (bad usage: exit 2)."""


@dataclass(frozen=True)
class TableSpec:
    """One contract file extracted from one SELECT.

    ``incremental``: the rows whose watermark lies after the last sealed watermark (less
    the source's overlap) and before the business date's cut-off, less the rows already
    delivered (same key, same watermark). ``snapshot``: the whole table as of its latest
    version before the cut-off, delivered only when that version is newer than the last
    sealed one (a watch list is replaced whole by its publisher).
    """

    file_name: str
    query: str
    watermark: str
    key: tuple[str, ...]
    mode: Mode = "incremental"
    watermark_type: str = "timestamptz"


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    tables: tuple[TableSpec, ...]
    #: The environment variable holding the connection URI (checked first).
    uri_env: str | None = None
    #: The Airflow connection id (used when ``uri_env`` is unset or empty).
    airflow_conn_id: str | None = None
    #: Late commits: rows up to this many seconds older than the last watermark are read again
    #: (and kept only if their key and watermark were not delivered before).
    overlap_seconds: int = 3600
    #: The platform's time zone: the business date D ends at D+1 00:00 there (the cut-off).
    timezone: str = "Asia/Shanghai"

    def table(self, file_name: str) -> TableSpec:
        for spec in self.tables:
            if spec.file_name == file_name:
                return spec
        raise SourceConfigError(f"source {self.name} has no table for {file_name}")


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _table(source: str, file_name: str, body: object) -> TableSpec:
    where = f"sources.yml: {source}.tables.{file_name}"
    if file_name not in CONTRACTS:
        raise SourceConfigError(f"{where}: no contract file of that name ({', '.join(CONTRACTS)})")
    if not isinstance(body, dict):
        raise SourceConfigError(f"{where}: expected a mapping with query, watermark and key")
    unknown = set(body) - {"query", "watermark", "key", "mode", "watermark_type"}
    if unknown:
        raise SourceConfigError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    query, watermark = body.get("query"), body.get("watermark")
    if not isinstance(query, str) or not query.strip():
        raise SourceConfigError(f"{where}: query must be one SELECT")
    if not isinstance(watermark, str) or not _IDENT.match(watermark):
        raise SourceConfigError(f"{where}: watermark must name one column of the query")
    key = body.get("key", list(CONTRACTS[file_name].key))
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not key or not all(isinstance(k, str) and _IDENT.match(k) for k in key):
        raise SourceConfigError(f"{where}: key must be a column name or a list of them")
    mode = body.get("mode", "incremental")
    if mode not in ("incremental", "snapshot"):
        raise SourceConfigError(f"{where}: mode must be incremental or snapshot")
    watermark_type = body.get("watermark_type", "timestamptz")
    if watermark_type not in WATERMARK_TYPES:
        raise SourceConfigError(f"{where}: watermark_type must be one of {', '.join(WATERMARK_TYPES)}")
    missing = [k for k in key if k not in CONTRACTS[file_name].column_names]
    if missing:
        raise SourceConfigError(f"{where}: key column {', '.join(missing)} is not a {file_name} column")
    return TableSpec(file_name, query.strip().rstrip(";"), watermark, tuple(key), mode, watermark_type)


def _source(name: str, body: object) -> Source:
    where = f"sources.yml: {name}"
    if not _NAME.match(name):
        raise SourceConfigError(f"{where}: a source name is lower-case letters, digits and _")
    if not isinstance(body, dict):
        raise SourceConfigError(f"{where}: expected a mapping")
    unknown = set(body) - {"kind", "uri_env", "airflow_conn_id", "overlap_seconds", "timezone", "tables"}
    if unknown:
        raise SourceConfigError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    kind = body.get("kind")
    if kind not in KINDS:
        raise SourceConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
    uri_env, conn_id = body.get("uri_env"), body.get("airflow_conn_id")
    if not uri_env and not conn_id:
        raise SourceConfigError(f"{where}: name the connection with uri_env or airflow_conn_id")
    tables = body.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise SourceConfigError(f"{where}: tables must map contract files to their SELECT")
    overlap = body.get("overlap_seconds", 3600)
    if not isinstance(overlap, int) or overlap < 0:
        raise SourceConfigError(f"{where}: overlap_seconds must be a whole number of seconds >= 0")
    return Source(
        name=name,
        kind=str(kind),
        tables=tuple(_table(name, str(f), t) for f, t in sorted(tables.items())),
        uri_env=str(uri_env) if uri_env else None,
        airflow_conn_id=str(conn_id) if conn_id else None,
        overlap_seconds=overlap,
        timezone=str(body.get("timezone", "Asia/Shanghai")),
    )


def load_sources(path: Path) -> dict[str, Source]:
    """Every source of ``path`` (``sources.yml``), checked; SourceConfigError on any fault."""
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SourceConfigError(f"{path}: no such file (the sources to extract from)") from error
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SourceConfigError(f"{path}: cannot be read: {str(error).splitlines()[0]}") from error
    if not isinstance(body, dict) or not isinstance(body.get("sources"), dict):
        raise SourceConfigError(f"{path}: expected a mapping with the key sources")
    return {str(n): _source(str(n), b) for n, b in body["sources"].items()}


def source_named(path: Path, name: str) -> Source:
    sources = load_sources(path)
    if name not in sources:
        raise SourceConfigError(f"{path}: no source {name} (sources: {', '.join(sorted(sources)) or 'none'})")
    return sources[name]


def plain_uri(uri: str) -> str:
    """A URI as the drivers take it: ``postgres://`` and SQLAlchemy driver suffixes
    (``postgresql+psycopg://``, what Airflow's PostgresHook.get_uri returns;
    ``mysql+pymysql://``) normalised."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, *parts[1:]))


def connection_uri(source: Source, env: Mapping[str, str] | None = None) -> str:
    """The source's URI from its environment variable, else from its Airflow connection."""
    env = os.environ if env is None else env
    if source.uri_env and env.get(source.uri_env):
        return plain_uri(env[source.uri_env])
    if source.airflow_conn_id:
        try:
            from airflow.sdk import BaseHook

            return plain_uri(BaseHook.get_connection(source.airflow_conn_id).get_uri())
        except Exception as error:  # no Airflow metadata, no such connection
            raise SourceConfigError(
                f"source {source.name}: Airflow connection {source.airflow_conn_id} not available: "
                f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
            ) from error
    raise SourceConfigError(f"source {source.name}: set {source.uri_env} to the database URI")
