"""CPU seconds and peak memory of a command's whole process tree (Linux), for the benchmarks.

``os.wait4`` on a child gives its own usage plus that of the descendants *it* waited for.
A process the child starts and never reaps is lost to it: pyspark starts Spark's JVM as a
child of the step process and leaves it running when the step exits (the JVM exits on its
own when its stdin closes), so a Spark step's ``wait4`` counted the Python side only.

:func:`run` makes this process a child subreaper (``PR_SET_CHILD_SUBREAPER``) while the command
runs: a descendant whose parent exits is re-parented here instead of to init, and is reaped
here with ``os.wait4``, its usage (and its own reaped descendants') added. Every process of
the tree is so counted exactly once: by its own reaping here, or inside the usage of the
ancestor that reaped it. Memory is sampled every ``interval`` seconds from ``/proc``: the sum of
the tree's proportional set sizes at each sample (the tree's footprint: the Python step and its
JVM side by side, a page shared by forked processes counted once), and each reaped process's
own peak resident set (``ru_maxrss``) as a floor under it.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Reaped:
    """One process reaped here: the command itself or an orphan of its tree."""

    pid: int
    name: str
    cpu_seconds: float
    peak_rss_mib: float
    exit_code: int


@dataclass
class TreeUsage:
    returncode: int
    wall_seconds: float
    #: user + system seconds of every process of the tree (see the module's docstring)
    cpu_seconds: float
    #: what ``os.wait4`` of the command alone reports (no orphan)
    command_cpu_seconds: float
    #: the largest sampled sum of the tree's proportional set sizes, at least the largest process's own peak
    peak_rss_mib: float
    #: the processes reaped here besides the command (e.g. ``java``), each with its own usage
    orphans: list[Reaped] = field(default_factory=list)
    #: orphans still running ``linger`` seconds after the command: their last sampled CPU is counted
    outlived: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0


def _subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _subreaper_on() -> bool:
    """Whether this process is a child subreaper now."""
    flag = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    return bool(flag.value)


def _stat(pid: int) -> tuple[int, float, int, str] | None:
    """(parent pid, own user + system CPU seconds, resident bytes, name) of ``pid``, or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 of proc(5): state; ppid 4, utime 14, stime 15, rss 24
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE, name


def _pss(pid: int, rss: int) -> int:
    """The proportional set size of ``pid`` in bytes (a page shared by n processes counts 1/n in each:
    forked workers are not counted twice), or its resident set where the kernel does not say."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return rss


def _processes() -> dict[int, tuple[int, float, int, str]]:
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                table[int(entry.name)] = stat
    return table


def _descendants(table: dict[int, tuple[int, float, int, str]], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _reaped(pid: int, status: int, usage: Any, name: str) -> Reaped:
    return Reaped(
        pid=pid,
        name=name,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,
        exit_code=os.waitstatus_to_exitcode(status),
    )


def run(
    command: list[str],
    *,
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | None = None,
    env: dict[str, str] | None = None,
    interval: float = 0.5,
    linger: float = 120.0,
) -> TreeUsage:
    """Run ``command`` to its end and account for its whole process tree (see the module's docstring).

    After the command exits, its orphans (re-parented here) are waited for up to ``linger``
    seconds each; one still running then is left alone and its last sampled CPU counted.
    """
    me = os.getpid()
    before = {pid for pid, stat in _processes().items() if stat[0] == me}
    subreaper = _subreaper(True)
    names: dict[int, str] = {}
    seen_cpu: dict[int, float] = {}
    peak = [0]
    samples = [0]
    done = threading.Event()

    def tree() -> tuple[dict[int, tuple[int, float, int, str]], set[int]]:
        table = _processes()
        roots = {pid for pid, stat in table.items() if stat[0] == me} - before
        return table, _descendants(table, roots)

    def sample() -> None:
        table, pids = tree()
        total = 0
        for pid in pids:
            _ppid, cpu, rss, name = table[pid]
            names[pid], seen_cpu[pid] = name, cpu
            total += _pss(pid, rss)
        peak[0] = max(peak[0], total)
        samples[0] += 1

    def sampler() -> None:
        while not done.wait(interval):
            sample()

    started = time.perf_counter()
    try:
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            main = _reaped(child.pid, status, usage, names.get(child.pid, Path(command[0]).name))
            orphans: list[Reaped] = []
            outlived: list[dict[str, Any]] = []
            # The orphans, now children of this process: reap each (a JVM exits once its stdin
            # closes); an orphan's own orphans come here when it exits, so look again.
            left = {main.pid}
            while True:
                waiting = {p for p, s in _processes().items() if s[0] == me} - before - left
                if not waiting:
                    break
                for pid in sorted(waiting):
                    left.add(pid)
                    deadline = time.perf_counter() + linger
                    while True:
                        got, status, usage = os.wait4(pid, os.WNOHANG)
                        if got == pid:
                            orphans.append(_reaped(pid, status, usage, names.get(pid, "?")))
                            break
                        if time.perf_counter() > deadline:
                            name = names.get(pid, "?")
                            outlived.append({"pid": pid, "name": name, "cpu_seconds": seen_cpu.get(pid, 0.0)})
                            break
                        time.sleep(0.1)
        finally:
            done.set()
            thread.join()
    finally:
        if subreaper:
            _subreaper(False)
    largest = max([main.peak_rss_mib, *(o.peak_rss_mib for o in orphans)])
    return TreeUsage(
        returncode=main.exit_code,
        wall_seconds=wall,
        cpu_seconds=main.cpu_seconds
        + sum(o.cpu_seconds for o in orphans)
        + sum(o["cpu_seconds"] for o in outlived),
        command_cpu_seconds=main.cpu_seconds,
        peak_rss_mib=max(peak[0] / 2**20, largest),
        orphans=orphans,
        outlived=outlived,
        samples=samples[0],
    )
