"""One run at a time per var/ (issue 13, observation 6): the run lock and the readers' gate.

Each test holds the lock in a second Python process (a real flock held by another pid),
as a running ``regwatch run`` would, and checks what a second writer and a reader see.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch.cli import main
from regwatch.ledger import runlock

_HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import date
    from pathlib import Path
    from regwatch.ledger.runlock import hold
    var, mode = Path(sys.argv[1]), sys.argv[2]
    with hold(var, "regwatch run", [date(2025, 6, 5)]):
        if mode == "fork":  # a child inherits the open lock file, then the holder exits
            if os.fork() == 0:
                print("held", flush=True)
                time.sleep(60)
                os._exit(0)
            os._exit(0)
        print("held", flush=True)
        time.sleep(60)
    """
)


def _start_holder(var: Path, mode: str = "sleep") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(var), mode], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = _start_holder(tmp_path / "var")
    yield process
    process.kill()
    process.wait()


def test_a_second_writer_fails_at_once_naming_the_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    started = time.perf_counter()
    with pytest.raises(runlock.RunLockedError) as caught, runlock.hold(tmp_path / "var", "regwatch run"):
        pass
    assert time.perf_counter() - started < 1.0
    message = str(caught.value)
    assert f"pid {holder.pid} on {socket.gethostname()}" in message
    assert "regwatch run, business date 2025-06-05, since 20" in message
    assert "wait for it to end" in message


def test_regwatch_run_during_a_run_exits_1_in_under_a_second(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observation 6: today the second run starts and fails in the middle (DuckDB lock, dbt)."""
    monkeypatch.setenv("REGWATCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGWATCH_LANDING", str(tmp_path / "landing"))
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["run", "--business-date", "2025-06-05"])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1, result.output
    assert elapsed < 1.0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("regwatch: error: another regwatch run holds the lock")
    assert f"pid {holder.pid}" in lines[0] and "business date 2025-06-05" in lines[0]
    assert not (tmp_path / "var" / "warehouse.duckdb").exists()


def test_the_lock_is_free_again_when_the_holder_is_killed(tmp_path: Path) -> None:
    var = tmp_path / "var"
    process = _start_holder(var)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with runlock.hold(var, "regwatch run", [date(2025, 6, 6)]) as previous:
        assert previous is not None and previous.pid == process.pid and previous.alive is False
        assert "business date 2025-06-05" in previous.describe()
        assert runlock.current_holder(var) == runlock.Holder.parse((var / "run.lock").read_text())
        held = runlock.current_holder(var)
        assert held is not None and held.pid == os.getpid() and held.business_dates == ("2025-06-06",)
    assert (var / "run.lock").read_text() == ""  # released cleanly: no record left behind


def test_a_dead_holder_whose_child_keeps_the_file_is_named_so(tmp_path: Path) -> None:
    var = tmp_path / "var"
    process = _start_holder(var, "fork")
    process.wait()
    try:
        with pytest.raises(runlock.RunLockedError) as caught, runlock.hold(var, "regwatch run"):
            pass
        assert f"pid {process.pid}" in str(caught.value)
        assert "that process has exited, but a process it started still holds" in str(caught.value)
    finally:
        subprocess.run(["fuser", "-k", "-KILL", str(var / "run.lock")], capture_output=True, check=False)
        _wait_free(var)


def _wait_free(var: Path) -> None:
    for _ in range(100):
        try:
            with runlock.hold(var, "probe"):
                return
        except runlock.RunLockedError:
            time.sleep(0.05)
    raise AssertionError("the forked child still holds the lock")


def test_nested_holds_in_one_process_are_one_hold(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with runlock.hold(var, "regwatch demo"), runlock.hold(var, "regwatch run"):
        held = runlock.current_holder(var)
        assert held is not None and held.command == "regwatch demo"
    with runlock.hold(var, "again"):
        pass


def test_readers_never_wait_for_a_writer(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    started = time.perf_counter()
    with runlock.reading(tmp_path / "var") as direct:
        assert direct is False  # a writer is at work: read the last sealed state
    assert time.perf_counter() - started < 0.5


def test_a_writer_waits_for_readers_already_inside(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    with runlock.reading(var) as direct:
        assert direct is True
        code = (
            "import sys, time; from pathlib import Path; from regwatch.ledger.runlock import hold; "
            "print('ready', flush=True); "
            "t = time.perf_counter(); h = hold(Path(sys.argv[1]), 'regwatch run'); h.__enter__(); "
            "print(round(time.perf_counter() - t, 2))"
        )
        writer = subprocess.Popen([sys.executable, "-c", code, str(var)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        # The reader stays inside for 1 s from when the writer reaches the gate (its start-up,
        # slow on a loaded machine, is not part of the wait measured).
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        assert writer.poll() is None  # still waiting at the gate
    out, _ = writer.communicate(timeout=30)
    assert float(out) >= 0.5
