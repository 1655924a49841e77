"""Children started through secretkeeper/children.py end with their parent, and a Ctrl-C that comes while
one is being started waits until the starter knows of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from secretkeeper.children import starting

# A parent that starts a long `sleep` the way the scanner starts git, reports its pid, and waits.
_PARENT = """
import subprocess, sys, time
from secretkeeper.children import starting
with starting() as arm:
    child = subprocess.Popen(["sleep", "60"], preexec_fn=arm)
print(child.pid, flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (an orphan waiting for init to reap it: it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_dies_with_its_parent_even_when_the_parent_is_sigkilled():
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not _gone(child)
    parent.kill()  # no `finally` runs: only the kernel can stop the child now
    parent.wait()
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail("the child outlived its parent")


def test_a_ctrl_c_while_a_child_starts_is_raised_once_it_is_known():
    started = []
    with pytest.raises(KeyboardInterrupt), starting():
        # To this thread, which holds it: sent to the process, a thread another test left running could take
        # it (the next test covers that case with a thread of its own).
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        started.append("child")  # the block ran to its end: the starter could register the child
    assert started == ["child"]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, ())  # and signals come in again


def test_a_ctrl_c_that_another_thread_takes_waits_too():
    """With a progress bar's thread running, the kernel hands the signal to that thread while this one
    holds it; Python still runs the handler in the main thread: not before the block ends."""
    idle = threading.Event()
    other = threading.Thread(target=idle.wait)
    other.start()
    started = []
    try:
        with pytest.raises(KeyboardInterrupt), starting():
            assert other.ident is not None
            signal.pthread_kill(other.ident, signal.SIGINT)
            time.sleep(0.2)  # time for the handler to run, were it let
            started.append("child")
    finally:
        idle.set()
        other.join()
    assert started == ["child"]
