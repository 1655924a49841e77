"""Crash points for tests: the process dies at once (exit 137, like `kill -9`) where a test asks it to.

`SECRETKEEPER_CRASH_AT=NAME` kills the process when `reached(NAME)` is called; `store-request:N` kills it
right after the Nth store request of the process (each store calls `reached("store-request")` after
every request that can change its state), so a test can stop a rotation after every single one.
"""

from __future__ import annotations

import os

_counts: dict[str, int] = {}


def reached(name: str) -> None:
    target = os.environ.get("SECRETKEEPER_CRASH_AT")
    if not target:
        return
    if target == name:
        os._exit(137)
    _counts[name] = _counts.get(name, 0) + 1
    if target == f"{name}:{_counts[name]}":
        os._exit(137)
