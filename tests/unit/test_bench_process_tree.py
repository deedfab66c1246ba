"""bench/process_tree.py: a step's CPU seconds and memory include the processes it leaves behind.

pyspark starts Spark's JVM as a child of the step process and never waits for it, so
``os.wait4`` of the step alone missed the JVM's CPU (issue 19's engine comparison).
"""

from __future__ import annotations

import os
import subprocess
import sys

from bench import process_tree

#: A grandchild started and never waited for: ~1 CPU-s of work and 200 MiB, then it
#: outlives its parent by half a second (the parent exits at once).
ORPHANING_CHILD = r"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", '''
import time
start = time.process_time()
while time.process_time() - start < 1.0:
    pass
block = bytearray(200 * 2**20)
time.sleep(0.5)
'''])
"""


def test_the_tree_total_includes_a_grandchild_that_wait4_misses() -> None:
    usage = process_tree.run([sys.executable, "-c", ORPHANING_CHILD], interval=0.05)
    assert usage.returncode == 0
    assert usage.command_cpu_seconds < 0.5  # what os.wait4 of the child alone says
    assert len(usage.orphans) == 1
    assert usage.orphans[0].cpu_seconds >= 0.9
    assert usage.cpu_seconds >= usage.command_cpu_seconds + 0.9
    assert usage.peak_rss_mib >= 200
    assert not usage.outlived


def test_wait4_alone_misses_the_grandchild() -> None:
    """The old accounting, for contrast: the same child reaped with os.wait4 only."""
    child = subprocess.Popen([sys.executable, "-c", ORPHANING_CHILD])
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    assert usage.ru_utime + usage.ru_stime < 0.5


def test_a_waited_for_grandchild_is_counted_once() -> None:
    """A descendant its parent reaps is in the parent's usage already: not counted twice."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
    waiting = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn!r}], check=True)"
    usage = process_tree.run([sys.executable, "-c", waiting], interval=0.05)
    assert usage.returncode == 0 and not usage.orphans
    assert 0.5 <= usage.cpu_seconds == usage.command_cpu_seconds < 1.5


def test_the_exit_code_and_no_subreaper_left_on() -> None:
    usage = process_tree.run([sys.executable, "-c", "raise SystemExit(3)"])
    assert usage.returncode == 3
    # this process is a subreaper only while a command runs: an orphan of a later child goes to init
    assert process_tree._subreaper_on() is False
