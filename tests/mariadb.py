"""A private MariaDB server for the extract tests: Debian's ``mariadb-server`` binaries
(``make system-deps`` installs them), a throw-away data folder, 127.0.0.1 and a free port
(about 5 s to start).

As root the server runs as the ``mysql`` user. Without the binaries the tests that need
one are skipped, saying why. The user ``regwatch`` (no password, every privilege) is the
one the tests connect as.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> tuple[Path, Path] | None:
    """(mariadbd, mariadb-install-db), or None when mariadb-server is not installed."""
    daemon = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    return (Path(daemon), Path(install)) if daemon and install else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_server(database: str = "platform") -> Iterator[str]:
    """Start a server, create ``database``, yield its URI; stop and delete it afterwards."""
    import pymysql

    found = server_bin()
    if found is None:
        raise FileNotFoundError("no MariaDB server binaries (apt-get install mariadb-server)")
    daemon, install = found
    owner = ["--user=mysql"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="regwatch-mariadb-"))
    if owner:
        shutil.chown(root, "mysql", "mysql")
    data, sock, port = root / "data", root / "mysqld.sock", _free_port()
    subprocess.run(
        [
            str(install),
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *owner,
        ],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            str(daemon),
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=0",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={root / 'error.log'}",
            *owner,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (root / "error.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"MariaDB did not start:\n{log}") from None
                time.sleep(0.2)
        with admin, admin.cursor() as cursor:
            cursor.execute("DELETE FROM mysql.global_priv WHERE User = ''")  # no anonymous users
            cursor.execute("FLUSH PRIVILEGES")
            cursor.execute("CREATE USER 'regwatch'@'%'")
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'regwatch'@'%' WITH GRANT OPTION")
            cursor.execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        yield f"mysql://regwatch@127.0.0.1:{port}/{database}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)
