"""One writer at a time per ``var/``: the run lock, and the gate read-only commands pass.

Every step opens and closes DuckDB (dbt and GX open their own connections), so two
runs of one ``var/`` interleave step by step and fail in the middle (a raw DuckDB
``Could not set lock``, or dbt failing after the second run ingested). A writer
(``regwatch run``, ``demo``, ``rebuild``, each Airflow task of ``regwatch_daily``)
therefore holds ``var/run.lock`` for the whole of its work: an exclusive
``fcntl.flock`` on the file, whose content names the holder as JSON (pid, host,
command, business dates, since). A second writer fails at once, naming the holder.
The kernel releases a flock when its process dies, so a killed run never leaves a
lock that blocks; its JSON record stays behind and the next writer reports it.

Read-only commands (``alerts list``, ``rules evaluate``, ``filing``) never take the
run lock. They pass ``var/readers.lock`` instead: a shared flock while they read the
warehouse directly. A writer, once it holds the run lock, takes that gate
exclusively for the rest of its work (waiting for readers already inside, never
more than :data:`READERS_WAIT` seconds); a reader that finds the gate taken reads
the last sealed state (:mod:`regwatch.ledger.snapshot`) instead of the warehouse.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

LOCK_FILE = "run.lock"
READERS_FILE = "readers.lock"
#: How long a writer waits for read-only commands already reading the warehouse (seconds).
READERS_WAIT = 30.0

#: Locks this process holds, by lock file: (open descriptor, depth) so a nested hold is a no-op.
_held: dict[Path, tuple[int, int, int]] = {}


class RunLockedError(RuntimeError):
    """Another process holds the run lock of this ``var/``: one run at a time."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run lock, as its lock file records it."""

    pid: int
    host: str
    command: str
    business_dates: tuple[str, ...]
    since: str

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            return cls(
                int(data["pid"]),
                str(data["host"]),
                str(data.get("command", "regwatch")),
                tuple(str(d) for d in data.get("business_dates", [])),
                str(data["since"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def as_json(self) -> bytes:
        body = {
            "pid": self.pid,
            "host": self.host,
            "command": self.command,
            "business_dates": list(self.business_dates),
            "since": self.since,
        }
        return (json.dumps(body, sort_keys=True) + "\n").encode()

    @property
    def alive(self) -> bool | None:
        """Whether the holder process still runs (None: on another host, cannot tell)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except OSError as error:
            return error.errno == errno.EPERM
        return True

    def dates_text(self) -> str:
        if not self.business_dates:
            return "no business date"
        if len(self.business_dates) == 1:
            return f"business date {self.business_dates[0]}"
        return f"business dates {self.business_dates[0]} .. {self.business_dates[-1]}"

    def describe(self) -> str:
        age = ""
        try:
            seconds = (datetime.now(UTC) - datetime.fromisoformat(self.since)).total_seconds()
            age = f" ({_duration(seconds)} ago)"
        except ValueError:
            pass
        return f"pid {self.pid} on {self.host}, {self.command}, {self.dates_text()}, since {self.since}{age}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def current_holder(var_dir: Path) -> Holder | None:
    """The holder recorded in ``var/run.lock`` (a live one, or a dead run's leftover record)."""
    path = var_dir / LOCK_FILE
    try:
        return Holder.parse(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def _locked_message(path: Path, fd: int) -> str:
    holder = None
    for _ in range(5):  # the holder writes its record right after taking the lock
        holder = Holder.parse(_read(fd))
        if holder is not None:
            break
        time.sleep(0.02)
    where = path.parent
    if holder is None:
        return (
            f"another regwatch run holds the lock on {where} ({path} names no holder yet): wait for it to end"
        )
    text = f"another regwatch run holds the lock on {where}: {holder.describe()}"
    if holder.alive is False:
        return (
            f"{text}; that process has exited, but a process it started still holds {path} open: "
            f"end that process (fuser {path}) and run again"
        )
    return f"{text}; wait for it to end (one run at a time)"


@contextmanager
def hold(var_dir: Path, command: str, business_dates: Sequence[date] = ()) -> Iterator[Holder | None]:
    """Hold ``var/run.lock`` (and the readers' gate) for the whole block; RunLockedError if taken.

    Yields the record a dead earlier holder left behind (a run killed before it
    finished), or None. Nested holds in one process are no-ops (the outer one holds).
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = (var_dir / LOCK_FILE).resolve()
    if path in _held:
        fd, gate, depth = _held[path]
        _held[path] = (fd, gate, depth + 1)
        try:
            yield None
        finally:
            fd, gate, depth = _held[path]
            _held[path] = (fd, gate, depth - 1)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        message = _locked_message(path, fd)
        os.close(fd)
        raise RunLockedError(message) from None
    gate = -1
    try:
        previous = Holder.parse(_read(fd))
        holder = Holder(
            os.getpid(),
            socket.gethostname(),
            command,
            tuple(d.isoformat() for d in business_dates),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.as_json(), 0)
        os.fsync(fd)
        gate = _close_gate(var_dir)
        _held[path] = (fd, gate, 1)
        yield previous
    finally:
        _held.pop(path, None)
        if gate >= 0:
            os.close(gate)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _close_gate(var_dir: Path) -> int:
    """Take the readers' gate exclusively, waiting for read-only commands already inside."""
    fd = os.open(var_dir / READERS_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + READERS_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise RunLockedError(
                    f"read-only commands kept the warehouse in {var_dir} open for {READERS_WAIT:.0f} s: "
                    "run again when they are done"
                ) from None
            time.sleep(0.05)


@contextmanager
def reading(var_dir: Path) -> Iterator[bool]:
    """For a read-only command: True while it may open the warehouse directly (no writer is at
    work, and none will start until the block ends); False if a writer holds it (read the
    last sealed state instead). Never takes the run lock and never waits for a writer."""
    path = var_dir / READERS_FILE
    if (var_dir / LOCK_FILE).resolve() in _held:  # this process is the writer
        yield True
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only var/: nobody can be writing there
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def publishing(ledger_dir: Path, shared: bool = False) -> Iterator[None]:
    """The short lock between sealing a manifest and publishing its files (exclusive), and
    ``audit verify`` comparing published files with the chain (shared): verify never sees a
    manifest whose files are half published. Held for seconds at most, by both sides."""
    try:
        if not shared:
            ledger_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(ledger_dir / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if not shared:
            raise
        yield  # no ledger folder (or a read-only one): nothing is being sealed there
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
