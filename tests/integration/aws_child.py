"""What the AWS crash and race tests run in a child process, through the store's verbs only.

    python -m tests.integration.aws_child rotate   # stdin: {"endpoint", "path", "token", "previous", "new"}
    python -m tests.integration.aws_child lock     # stdin: {"endpoint", "path", "holder"}, then "go"

`rotate` is the rotation's store sequence (journal started -> stage -> journal staged -> promote -> journal
promoted -> clear), resumable from the journal like the engine's: a test kills it after any store
request (SECRETKEEPER_CRASH_AT=store-request:N) and then resumes it in-process with a fresh store.
`lock` prints "ready" once its client is made, takes the journal when told "go" (so two children start
their requests together) and prints whether it won, or who holds the lock.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import JournalRecord, Step
from tests.integration.aws_server import make_store

WHEN = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # fixed: a resumed run must build the very same records


def record(path: str, step: Step, token: str, previous: str | None, holder: str = "crash-test") -> JournalRecord:
    pending = token if step in (Step.STAGED, Step.PROMOTED) else None
    return JournalRecord(path, step, token, holder, WHEN, WHEN, pending=pending, previous=previous)


def rotate(store: Any, path: str, token: str, new: Mapping[str, bytes], previous: str | None) -> None:
    journal = store.journal(path)
    started, staged, promoted = (record(path, step, token, previous)
                                 for step in (Step.STARTED, Step.STAGED, Step.PROMOTED))
    held = journal.read()
    if held is None:
        done = store.staged(path, token)
        if done is not None and "AWSCURRENT" in done.stages:
            return  # finished before, journal cleared
        journal.write(started, expect=None)
        held = started
    if held == started:
        store.stage(path, new, token=token)
        journal.write(staged, expect=started)
        held = staged
    if held == staged:
        store.promote(path, token, expect_current=previous)
        journal.write(promoted, expect=staged)
        held = promoted
    journal.clear(expect=promoted)


def lock(store: Any, path: str, holder: str) -> dict[str, Any]:
    from providers.errors import Conflict

    journal = store.journal(path)
    mine = record(path, Step.STARTED, "race", None, holder=holder)
    assert store.api.client  # made now, not in the race
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        journal.write(mine, expect=None)
    except Conflict as exc:
        return {"won": False, "holder": exc.holder.holder if exc.holder else None}
    return {"won": True}


def main(mode: str) -> None:
    args = json.loads(sys.stdin.readline())
    store = make_store(args["endpoint"])
    if mode == "rotate":
        rotate(store, args["path"], args["token"], {k: v.encode() for k, v in args["new"].items()},
               args["previous"])
    else:
        print(json.dumps(lock(store, args["path"], args["holder"])))


if __name__ == "__main__":
    main(sys.argv[1])
