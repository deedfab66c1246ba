"""Watermarks: what each source has delivered, advanced only when a date's load is sealed.

``var/extract/<source>/<D>/batch.json`` describes the extract of D (per table: the
bounds read, the watermark reached, the rows delivered) and ``<table>.keys.parquet``
the (key, watermark) pairs delivered inside the overlap window. Both are written by
``regwatch extract`` and count only once ``seal_ledger`` has sealed D's run with exactly
that delivery (``sealed.json``): a failed or killed run leaves the watermark where it
was, so the next extract reads the same rows again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from regwatch.config import Settings
from regwatch.files import write_atomic
from regwatch.ledger.archive import Archive


class ExtractStateError(RuntimeError):
    """The watermark history does not allow this extract (an earlier extract not sealed yet)."""


@dataclass(frozen=True)
class Base:
    """Where D's extract starts: the sealed extracts before D, newest first.

    Their ``batch.json`` files are read only as far as an extract needs them (the newest
    for the watermark; the overlap window's few), never the whole history.
    """

    folder: Path
    dates: tuple[date, ...]
    _cache: dict[date, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sealed_date(self) -> date | None:
        return self.dates[0] if self.dates else None

    def batch(self, day: date) -> dict[str, Any]:
        if day not in self._cache:
            path = self.folder / day.isoformat() / "batch.json"
            self._cache[day] = json.loads(path.read_text(encoding="utf-8"))
        return self._cache[day]

    def batches(self) -> Iterator[tuple[date, dict[str, Any]]]:
        """(date, batch.json) of each sealed extract, newest first, read lazily."""
        for day in self.dates:
            yield day, self.batch(day)

    def watermark(self, table: str) -> str | None:
        """The table's watermark after the last sealed batch (None: never extracted)."""
        if not self.dates:
            return None
        entry = self.batch(self.dates[0])["tables"].get(table)
        return None if entry is None else entry.get("watermark")


def source_dir(settings: Settings, source: str) -> Path:
    return settings.var_dir / "extract" / source


def batch_dir(settings: Settings, source: str, business_date: date) -> Path:
    return source_dir(settings, source) / business_date.isoformat()


def _sealed(settings: Settings, source: str) -> dict[str, str]:
    path = source_dir(settings, source) / "sealed.json"
    if not path.is_file():
        return {}
    body = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in body.items()}


def base_for(settings: Settings, source: str, business_date: date) -> Base:
    """The sealed state D's extract starts from; refuses while an earlier extract waits for its seal."""
    sealed = _sealed(settings, source)
    before = sorted(d for d in sealed if d < business_date.isoformat())
    last = before[-1] if before else None
    root = source_dir(settings, source)
    pending = sorted(
        p.name
        for p in (root.iterdir() if root.is_dir() else ())
        if p.is_dir() and (last or "") < p.name < business_date.isoformat() and p.name not in sealed
    )
    if pending:
        raise ExtractStateError(
            f"source {source}: the extract of {pending[0]} is not sealed yet: run "
            f"`regwatch run --business-date {pending[0]}` first (its rows would be delivered twice)"
        )
    return Base(root, tuple(date.fromisoformat(d) for d in reversed(before)))


def write_batch(folder: Path, body: dict[str, Any]) -> None:
    write_atomic(
        folder / "batch.json",
        (json.dumps(body, indent=2, sort_keys=True) + "\n").encode(),
    )


def extract_block(
    settings: Settings, con: duckdb.DuckDBPyConnection, archive: Archive, business_date: date
) -> dict[str, Any] | None:
    """The ``extract`` block of the delivery manifest of D's current load (None: a file delivery).

    A ``var/`` that never extracted has nothing to advance and reads nothing here. Should the
    load record be missing from the archive, nothing advances either: the next extract then
    refuses loudly (this date's extract is not sealed), never delivers a row twice.
    """
    if not (settings.var_dir / "extract").is_dir():
        return None
    row = con.execute(
        "SELECT record_sha256 FROM raw.load_arrivals WHERE business_date = ? "
        "ORDER BY arrival_seq DESC LIMIT 1",
        [business_date],
    ).fetchone()
    if row is None or not archive.path(str(row[0])).is_file():
        return None
    record = json.loads(archive.get(str(row[0])))
    manifest = record.get("delivery_manifest")
    if not manifest:
        return None
    body = yaml.safe_load(archive.get(manifest["sha256"]).decode("utf-8"))
    block = body.get("extract") if isinstance(body, dict) else None
    return block if isinstance(block, dict) else None


def seal(settings: Settings, block: dict[str, Any], business_date: date, run_id: str) -> None:
    """Advance the source's watermark to D's batch: D's run with that delivery is sealed."""
    source = str(block["source"])
    path = batch_dir(settings, source, business_date) / "batch.json"
    if not path.is_file():  # sealed from an archive on another machine: nothing pending here
        return
    batch = json.loads(path.read_text(encoding="utf-8"))
    if batch.get("batch_id") != block.get("batch_id"):
        return  # landing/D was replaced by another extract since; that one advances on its seal
    sealed = _sealed(settings, source)
    sealed[business_date.isoformat()] = run_id
    write_atomic(
        source_dir(settings, source) / "sealed.json",
        (json.dumps(dict(sorted(sealed.items())), indent=2) + "\n").encode(),
    )
