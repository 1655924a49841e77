"""Crash points kill the process like `kill -9` only where the environment says, and nowhere else."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = ("import sys; from secretkeeper.rotation.crashpoints import reached; "
          "[print(p, flush=True) or reached(p) for p in sys.argv[1:]]")


def run(env_value: str | None, *points: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": ":".join(sys.path)}
    if env_value is not None:
        env["SECRETKEEPER_CRASH_AT"] = env_value
    return subprocess.run([sys.executable, "-c", SCRIPT, *points], capture_output=True, text=True, env=env,
                          check=False)


@pytest.mark.parametrize("wanted, died_after", [
    (None, None),
    ("after:staged", "after:staged"),
    ("after:promoted", None),
    ("store-request:1", 1),
    ("store-request:3", 3),
])
def test_the_process_dies_exactly_where_the_environment_says(wanted, died_after):
    points = ["store-request", "after:started", "store-request", "after:staged", "store-request"]
    res = run(wanted, *points)
    if died_after is None:
        assert res.returncode == 0 and res.stdout.split() == points
    elif isinstance(died_after, int):  # the Nth store request, counted across the whole process
        printed = res.stdout.split()
        assert res.returncode == 137 and printed.count("store-request") == died_after
        assert printed[-1] == "store-request"
    else:
        assert res.returncode == 137 and res.stdout.split()[-1] == died_after
        assert res.stdout.split() == points[:points.index(died_after) + 1]
