"""A private PostgreSQL cluster for the extract tests: the machine's own server binaries,
a throw-away data folder, 127.0.0.1 and a free port (about 5 s to start).

As root the cluster runs as the ``postgres`` user (initdb refuses root). Without server
binaries the tests that need one are skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path | None:
    """The folder with initdb and pg_ctl (PG_BIN, else the newest /usr/lib/postgresql/*/bin)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def private_cluster(database: str = "platform") -> Iterator[str]:
    """Start a cluster, create ``database``, yield its URI; stop and delete it afterwards."""
    bindir = server_bin()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl): set PG_BIN")
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="regwatch-pg-"))
    if owner:
        shutil.chown(root, owner)
    data, port = root / "data", _free_port()
    run = {"check": True, "capture_output": True}
    subprocess.run(
        _as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "regwatch",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-locale",
            ],
            owner,
        ),
        **run,  # type: ignore[arg-type]
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_owner(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
            owner,
        ),
        **run,  # type: ignore[arg-type]
    )
    try:
        import adbc_driver_postgresql.dbapi as adbc_pg

        with adbc_pg.connect(f"postgresql://regwatch@127.0.0.1:{port}/postgres", autocommit=True) as con:
            con.cursor().execute(f"CREATE DATABASE {database}")
        yield f"postgresql://regwatch@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
