"""Crash points: where a test may kill the process at once, as `kill -9` would, to prove that the next run
resumes or rolls back whatever the crash left.

    SECRETKEEPER_CRASH_AT=after:staged         die right after the engine's `staged` step
    SECRETKEEPER_CRASH_AT=store-request:3      die right after the process's 3rd request to a store backend

The engine calls `reached(f"after:{step}")` after each step; every store calls `reached("store-request")`
right after each request it makes to its backend. Unset (every real run), `reached` only reads the
environment.
"""

from __future__ import annotations

import os

ENV = "SECRETKEEPER_CRASH_AT"
_STORE_REQUEST = "store-request"

_requests = {"n": 0}  # store requests made by this process so far


def reached(name: str) -> None:
    """Exit the process at once (status 137, no cleanup, no buffered output flushed) when `ENV` names this
    point: `name` itself, or `store-request:N` when this is the Nth store request."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    if name == _STORE_REQUEST:
        _requests["n"] += 1
        if wanted == f"{_STORE_REQUEST}:{_requests['n']}":
            os._exit(137)
    elif wanted == name:
        os._exit(137)
