"""Run the scanner in a child process with its time and peak memory bounded: a regression of a hang or a
memory blow-up shows as a failed bound, never as a hung or swapping test run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FORMATS = ["text", "json", "sarif", "junit"]
# A wrapper that runs the scanner and reports its peak RSS (of the scanner and its workers) on stderr.
_MEASURE = ("import resource, subprocess, sys;"
            "p = subprocess.run(sys.argv[1:], capture_output=True);"
            "sys.stdout.buffer.write(p.stdout); sys.stderr.buffer.write(p.stderr);"
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
            "sys.exit(p.returncode)")


def bounded(args: list[str | os.PathLike[str]], *, seconds: float, max_mb: int = 600,
            cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `secretkeeper ARGS` in a child; fail if it takes longer than `seconds` or peaks above `max_mb`."""
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "secretkeeper", *map(str, args)]
    started = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                             env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, err = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the scanner too, not only the measuring wrapper
        child.communicate()
        pytest.fail(f"secretkeeper {' '.join(map(str, args))} ran over {seconds} s")
    proc = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    elapsed = time.monotonic() - started
    head, _, tail = proc.stderr.rpartition("MAXRSS")
    peak_mb = int(tail.split()[0]) // 1024
    assert peak_mb < max_mb, f"peaked at {peak_mb} MB (bound {max_mb} MB) in {elapsed:.1f} s"
    proc.stderr = head
    return proc


def one_line_error(proc: subprocess.CompletedProcess[str], *names: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for name in names:
        assert name in proc.stderr, proc.stderr
    return proc.stderr
