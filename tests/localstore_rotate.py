"""A minimal resumable rotation over one local store, for the crash tests: what the engine will do, in
the fewest store calls that still exercise every state-changing file operation (journal writes, stage,
promote with pruning, discard, annotate, clear). Run as a script, it is the child a crash point kills:

    python -m tests.localstore_rotate ROOT OLD_PENDING_VERSION   (values come from the environment)
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from providers.base import JournalRecord, Step
from providers.errors import NotFound
from providers.stores.local.store import LocalStore

PATH, FIRST_PATH = "prod/payments/db", "prod/payments/new"


def open_store(root: Path) -> LocalStore:
    return LocalStore("local", root, root.with_name(root.name + ".key"), max_versions=2)


def rotate(store: LocalStore, path: str, data: dict[str, bytes], token: str) -> None:
    """Resume from the journal, or start: every step is either done already or repeated safely."""
    journal = store.journal(path)
    record = journal.read()
    mine = store.staged(path, token)
    if record is None and mine is not None and "current" in mine.stages:
        return  # finished before, journal cleared
    if record is None:
        try:
            previous = store.read(path).version
        except NotFound:
            previous = None
        now = datetime.now(UTC)
        record = JournalRecord(secret=path, step=Step.STARTED, token=token, holder="test", started=now,
                               updated=now, previous=previous, host="h", pid=os.getpid())
        journal.write(record, expect=None)
    version = store.stage(path, data, token=token)
    if record.step == Step.STARTED:
        record = advance(journal, record, step=Step.STAGED, pending=version.version)
    store.promote(path, version.version, expect_current=record.previous)
    if record.step == Step.STAGED:
        record = advance(journal, record, step=Step.PROMOTED)
    store.annotate(path, {"last-rotated": "2026-03-01T02:00:00+00:00", "rotation-id": token})
    journal.clear(expect=record)


def advance(journal, record: JournalRecord, **changes) -> JournalRecord:
    new = replace(record, updated=datetime.now(UTC), **changes)
    journal.write(new, expect=record)
    return new


def scenario(root: Path, abandoned: str | None) -> None:
    store = open_store(root)
    if abandoned:
        store.discard(PATH, abandoned)
    rotate(store, PATH, {"password": os.environb[b"NEW_VALUE"]}, "rotation-2")
    rotate(store, FIRST_PATH, {"password": os.environb[b"FIRST_VALUE"]}, "bootstrap-1")


if __name__ == "__main__":
    scenario(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
