"""Crash points for tests: `reached(name)` kills the process at once when SECRETKEEPER_CRASH_AT names it.

`SECRETKEEPER_CRASH_AT=NAME` crashes the first time `reached(NAME)` runs; `store-request:N` crashes right
after the Nth store request of the process (stores call `reached("store-request")` after each request).
Exit status 137, as after `kill -9`: no cleanup, no flush, no finally block runs.
"""

from __future__ import annotations

import os

_counts: dict[str, int] = {}


def reached(name: str) -> None:
    target = os.environ.get("SECRETKEEPER_CRASH_AT")
    if not target:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if target == name or target == f"{name}:{_counts[name]}":
        os._exit(137)
