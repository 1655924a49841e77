"""The rotation lock: a secret's journal record in its store, written with compare-and-set.

Whoever writes the record holds the lock; every later write is a compare-and-set against the record last
written, so a holder that lost its lock learns it at its next step. A record is stale, and taken over at
once, when its lease expired (the holder renews it at each step) or when its holder ran on this host and
its process is gone. A live holder is never taken over: the loser says who holds the lock.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from providers.base import Journal, JournalRecord, Step
from providers.errors import Conflict

LEASE = timedelta(minutes=15)  # longer than any one step; renewed at each


def now() -> datetime:
    return datetime.now(UTC)


class LockHeld(Exception):
    """Another rotator holds the lock: `holder` is its record (None when the store could not say)."""

    def __init__(self, holder: JournalRecord | None) -> None:
        super().__init__(describe_holder(holder))
        self.holder = holder


def describe_holder(record: JournalRecord | None) -> str:
    if record is None:
        return "held by another rotator"
    lease = f", lease until {record.lease_until.isoformat(timespec='seconds')}" if record.lease_until else ""
    return (f"held by {record.holder} since {record.started.isoformat(timespec='seconds')} "
            f"(step {record.step.value}{lease})")


def this_holder() -> tuple[str, str, int]:
    """(who, host, pid) of this process: `who` is what a loser is told."""
    host, pid = socket.gethostname(), os.getpid()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"{user}@{host} pid {pid}", host, pid


def holder_gone(who: str) -> bool:
    """A holder named as `this_holder` names one (`user@host pid N`) that ran on this host and is gone."""
    name, _, pid = who.rpartition(" pid ")
    host = name.rpartition("@")[2]
    return bool(host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)))


def is_stale(record: JournalRecord, at: datetime) -> bool:
    if record.lease_until is not None and record.lease_until <= at:
        return True
    host = socket.gethostname()
    return bool(record.host == host and record.pid and not _alive(record.pid))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Lock:
    """The lock on one secret's rotation, held through its journal record."""

    def __init__(self, journal: Journal, secret: str) -> None:
        self.journal, self.secret = journal, secret
        self.record: JournalRecord | None = None

    def take(self, token: str) -> JournalRecord:
        """A new rotation's `started` record; raises LockHeld, or Conflict carrying a stale record to
        take over."""
        who, host, pid = this_holder()
        at = now()
        record = JournalRecord(secret=self.secret, step=Step.STARTED, token=token, holder=who, started=at,
                               updated=at, host=host, pid=pid, lease_until=at + LEASE)
        self.journal.write(record, expect=None)
        self.record = record
        return record

    def take_over(self, stale: JournalRecord) -> JournalRecord:
        """The stale record, now ours: same rotation, same step and token; `updated` keeps when the step
        was reached. Raises LockHeld when another rotator took it over first."""
        who, host, pid = this_holder()
        record = replace(stale, holder=who, host=host, pid=pid, lease_until=now() + LEASE)
        try:
            self.journal.write(record, expect=stale)
        except Conflict as exc:
            raise LockHeld(exc.holder) from None
        self.record = record
        return record

    def advance(self, step: Step, **changes: object) -> JournalRecord:
        """Record the step reached and renew the lease; raises LockHeld when the lock was lost."""
        assert self.record is not None
        at = now()
        record = replace(self.record, step=step, updated=at, lease_until=at + LEASE, **changes)  # type: ignore[arg-type]
        self._write(record)
        return record

    def park(self) -> JournalRecord:
        """Keep the record but free the lock (lease ends now): a promoted rotation waiting for the previous
        credential's grace period, finished by a later run."""
        assert self.record is not None
        record = replace(self.record, lease_until=now())
        self._write(record)
        return record

    def release(self) -> None:
        assert self.record is not None
        try:
            self.journal.clear(expect=self.record)
        except Conflict as exc:
            raise LockHeld(exc.holder) from None
        self.record = None

    def _write(self, record: JournalRecord) -> None:
        try:
            self.journal.write(record, expect=self.record)
        except Conflict as exc:
            raise LockHeld(exc.holder) from None
        self.record = record
