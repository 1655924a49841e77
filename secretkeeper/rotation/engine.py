"""The rotation of one managed secret: a state machine whose every step is recorded in the secret's
journal, in its store, before the next begins.

    lock (journal `started`) -> issue -> stage -> verify -> sync -> promote -> annotate -> retire -> clear

A run killed at any instant leaves a journal record that the next run resumes from: before anything was
staged it issues again under the same token (the store returns what that token staged, if anything);
staged, verified or synced, it goes forward; promoted, it finishes. Until promotion the store's current
version is the last good one, so readers never see an unverified value. A failure before promotion rolls
back: the staged version is retired and discarded, every target is written back to the current value, the
journal is cleared, and the run reports the error. A failure after promotion leaves the journal for the
next run to finish.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from providers.base import JournalRecord, SecretVersion, StoreStatus, Step
from providers.errors import Conflict, NotFound, NotYet, StoreError
from secretkeeper.errors import SecretkeeperError
from secretkeeper.rotation import crashpoints, policy
from secretkeeper.rotation.locks import Lock, LockHeld, describe_holder, is_stale, now
from secretkeeper.rotation.trail import Subject, Trail


# The token of a rotation started by `secretkeeper put` (a person's value, not the issuer's): a run that
# takes it over with nothing staged rolls it back instead of issuing. 40 characters: an AWS
# ClientRequestToken takes 32 to 64.
PUT_TOKEN = "put-"


class Outcome(str, Enum):
    ROTATED = "rotated"
    ROLLED_BACK = "rolled_back"  # failed before promotion; the last good version is current
    INCOMPLETE = "incomplete"  # failed, and left its journal: the next run finishes or rolls back
    HELD = "held"  # another rotator holds the lock
    SKIPPED = "skipped"  # nothing to do now
    REMINDER = "reminder"  # a static secret is due: a person sets it


@dataclass(frozen=True)
class Result:
    secret: str
    outcome: Outcome
    message: str

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.ROLLED_BACK, Outcome.INCOMPLETE)


def rotate(subject: Subject, trail: Trail, *, given: Mapping[str, bytes] | None = None,
           decided_on: StoreStatus | None = None) -> Result:
    """Rotate `subject`, or resume or roll back the rotation its journal holds. `given`: the new value
    (`secretkeeper put`) instead of the issuer's. `decided_on`: the status the caller found the secret
    due in; if another run rotated it meanwhile, there is nothing left to do."""
    if subject.cluster_lock is None:
        return _Rotation(subject, trail, given, decided_on).run()
    from secretkeeper.kube.lease import LeaseHeld

    try:
        with subject.cluster_lock():
            return _Rotation(subject, trail, given, decided_on).run()
    except LeaseHeld as held:  # taken before the store's lock: a loser touches nothing
        trail.step(subject, "lock", outcome="held", note=str(held))
        return Result(subject.name, Outcome.HELD, str(held))


class _Rotation:
    def __init__(self, subject: Subject, trail: Trail, given: Mapping[str, bytes] | None,
                 decided_on: StoreStatus | None) -> None:
        self.s, self.trail, self.given, self.decided_on = subject, trail, given, decided_on
        self.lock = Lock(subject.store.journal(subject.path), subject.name)

    def run(self) -> Result:
        try:
            fresh = self._take_lock()
        except LockHeld as held:
            self.trail.step(self.s, "lock", outcome="held", note=str(held))
            return Result(self.s.name, Outcome.HELD, str(held))
        except _Waiting as waiting:
            return Result(self.s.name, Outcome.SKIPPED, str(waiting))
        except SecretkeeperError as exc:
            self.trail.step(self.s, "lock", outcome="failed", error=str(exc))
            return Result(self.s.name, Outcome.INCOMPLETE, str(exc))
        record = self._record
        if not fresh and self.given is not None:
            # A crashed rotation holds the secret: it is finished or rolled back first, and the new value
            # waits for the next `put` (its token is not the crashed rotation's).
            self.given = None
            self.trail.say(f"{self.s.name}: a rotation left by a crashed run is resumed first; put again after it")
        if record.step == Step.ROLLED_BACK:
            return self._roll_back(record.error or "a rotation was rolling back")
        try:
            if _before_promotion(record.step):
                skipped = self._forward(fresh)
                if skipped is not None:
                    return skipped
        except LockHeld as held:
            return self._lost(held)
        except SecretkeeperError as exc:
            return self._roll_back(str(exc))
        return self._finish()

    @property
    def _record(self) -> JournalRecord:
        assert self.lock.record is not None
        return self.lock.record

    def _take_lock(self) -> bool:
        """True for a new rotation, False for one taken over from a dead or expired holder."""
        try:
            self.lock.take(self._new_token())
        except Conflict as exc:
            holder = exc.holder or self.lock.journal.read()
            if holder is None:  # cleared between our write and our read: one more try
                self.lock.take(self._new_token())
                return self._started(fresh=True)
            if holder.step == Step.PROMOTED and holder.updated + self.s.issuer.grace > now():
                raise _Waiting(f"promoted; the previous version {holder.previous} is retired after "
                               f"{(holder.updated + self.s.issuer.grace).isoformat(timespec='seconds')}") from None
            if not is_stale(holder, now()):
                raise LockHeld(holder) from None
            self.lock.take_over(holder)
            self.trail.step(self.s, "lock", outcome="taken-over", note=f"resuming at step {holder.step.value}, "
                            f"{describe_holder(holder).replace('held by', 'left by', 1)}", versions=self._versions())
            return self._started(fresh=False)
        return self._started(fresh=True)

    def _new_token(self) -> str:
        return f"{PUT_TOKEN}{uuid.uuid4()}" if self.given is not None else str(uuid.uuid4())

    def _started(self, fresh: bool) -> bool:
        if fresh:
            self.trail.step(self.s, "started", note=f"rotation {self._record.token}")
            crashpoints.reached("after:started")
        return fresh

    def _forward(self, fresh: bool) -> Result | None:
        store, path, record = self.s.store, self.s.path, self._record
        if record.step in (Step.STARTED, Step.ISSUED):  # nothing staged is recorded yet
            current = self._current()
            seen = current.version if current else None
            # The caller saw a rotation in progress (its journal is gone now: finished by its holder) or
            # another current version: another run did the work, between the status and the lock.
            moved = self.decided_on is not None and (self.decided_on.in_progress or seen != self.decided_on.current)
            if fresh and moved:
                self.lock.release()
                self.trail.step(self.s, "skipped", note="rotated by another run meanwhile")
                return Result(self.s.name, Outcome.SKIPPED, "rotated by another run meanwhile")
            staged = None if fresh else store.staged(path, record.token)
            if staged is None and not fresh and record.token.startswith(PUT_TOKEN):
                # A `put` killed before its value was staged: the value went with it, and issuing one
                # instead would be a rotation nobody asked for.
                raise SecretkeeperError(f"a `secretkeeper put` of {self.s.name} was killed before its value "
                                        "was stored: put it again")
            if staged is None:
                try:
                    data = self.given if self.given is not None else self.s.issuer.issue(current)
                except NotYet as waiting:  # a step of a change in several runs waits: nothing changed
                    self.lock.release()
                    self.trail.step(self.s, "waiting", outcome="skipped", note=str(waiting))
                    return Result(self.s.name, Outcome.SKIPPED, str(waiting))
                self._issuer_events()
                self.trail.step(self.s, "issued", note=f"keys {', '.join(sorted(data))}")
                crashpoints.reached("after:issued")
                staged = store.stage(path, data, token=record.token)
            record = self.lock.advance(Step.STAGED, pending=staged.version, previous=seen)
            self._stepped(Step.STAGED, f"version {staged.version}, not yet current")
        else:
            staged = store.staged(path, record.token)
            if staged is None:
                raise StoreError(f"{self.s.store_name}: {path}: the staged version {record.pending} is gone")
        if record.step == Step.STAGED:
            self.s.issuer.verify(staged.data)
            record = self.lock.advance(Step.VERIFIED)
            self._stepped(Step.VERIFIED)
        if record.step == Step.VERIFIED:
            self._sync(staged)
            record = self.lock.advance(Step.SYNCED)
            self._stepped(Step.SYNCED, f"{len(self.s.targets)} target(s) on version {staged.version}")
        store.promote(path, staged.version, expect_current=record.previous)
        self.lock.advance(Step.PROMOTED)
        self._stepped(Step.PROMOTED, f"version {staged.version} is current")
        return None

    def _finish(self) -> Result:
        record, versions = self._record, self._versions()
        try:
            self.s.store.annotate(self.s.path, self._notes(record))
            self.trail.step(self.s, "annotated", versions=self._versions())
            crashpoints.reached("after:annotated")
            waiting = self.s.drained() if record.previous is not None else None
            if waiting:
                self.lock.park()
                message = (f"version {record.previous} -> {record.pending}; the previous version is retired once "
                           f"its consumers moved off it ({waiting})")
                self.trail.step(self.s, "parked", note=message, versions=self._versions())
                return Result(self.s.name, Outcome.ROTATED, message)
            retire_at = record.updated + self.s.issuer.grace
            if record.previous is not None and now() < retire_at:
                self.lock.park()
                message = (f"version {record.previous} -> {record.pending}; the previous version is retired "
                           f"after {retire_at.isoformat(timespec='seconds')}")
                self.trail.step(self.s, "parked", note=message, versions=self._versions())
                return Result(self.s.name, Outcome.ROTATED, message)
            if record.previous is not None:
                self._retire(record.previous)
            self.lock.release()
        except LockHeld as held:
            return self._lost(held)
        except SecretkeeperError as exc:
            message = (f"version {record.pending} is current, but finishing failed: {exc}; "
                       "the next run finishes it")
            self._let_go()
            self.trail.step(self.s, "done", outcome="failed", error=message, versions=self._versions())
            return Result(self.s.name, Outcome.INCOMPLETE, message)
        message = f"version {record.previous or '(none)'} -> {record.pending}"
        self.trail.step(self.s, "done", note=message, versions=versions)
        crashpoints.reached("after:done")
        return Result(self.s.name, Outcome.ROTATED, message)

    def _roll_back(self, error: str) -> Result:
        """Undo a rotation that was not promoted; one that was (its promote answered with an error, or a
        person promoted it) is finished instead."""
        self.trail.step(self.s, "failed", outcome="failed", error=error, versions=self._versions())
        try:
            current = self._current()
            record = self._record
            staged = self.s.store.staged(self.s.path, record.token)
            if _promoted(current, staged):
                if _before_promotion(record.step):
                    self.lock.advance(Step.PROMOTED)
                return self._finish()
            if record.step != Step.ROLLED_BACK:
                self.lock.advance(Step.ROLLED_BACK, error=error)
                crashpoints.reached("after:rolled_back")
            if staged is not None:  # ours only: a newer write by someone else is current, and stays
                self.s.issuer.retire(staged)
                self._issuer_events()
                self.s.store.discard(self.s.path, staged.version)
            for target in self.s.targets:
                target.write(current) if current is not None else target.remove()
            versions = self._versions()
            self.lock.release()
        except LockHeld as held:
            return self._lost(held)
        except SecretkeeperError as exc:
            message = f"{error}; rolling back failed too: {exc}; the next run rolls back"
            self._let_go()
            self.trail.step(self.s, "rolled_back", outcome="failed", error=message, versions=self._versions())
            return Result(self.s.name, Outcome.INCOMPLETE, message)
        back_to = current.version if current is not None else "no version (the secret stays absent)"
        self.trail.step(self.s, "rolled_back", outcome="failed", error=error, note=f"back to {back_to}",
                        versions=versions)
        return Result(self.s.name, Outcome.ROLLED_BACK, f"{error}; rolled back to {back_to}")

    def _let_go(self) -> None:
        """Leave the journal for the next run, and the lock free for it at once (not after the lease)."""
        try:
            self.lock.park()
        except (LockHeld, SecretkeeperError):
            pass  # then the lease runs out by itself

    def _lost(self, held: LockHeld) -> Result:
        message = f"lost the lock mid-rotation ({held}): its new holder finishes the rotation"
        self.trail.step(self.s, "lock", outcome="lost", error=message)
        return Result(self.s.name, Outcome.INCOMPLETE, message)

    def _current(self) -> SecretVersion | None:
        try:
            return self.s.store.read(self.s.path)
        except NotFound:
            return None

    def _sync(self, version: SecretVersion) -> None:
        for target in self.s.targets:
            target.write(version)
            if not target.encrypted:
                self.trail.say(f"warning: {self.s.name}: {target.where} holds the secret NOT ENCRYPTED")

    def _retire(self, previous: str) -> None:
        try:
            old = self.s.store.read(self.s.path, previous)
        except NotFound:  # the store already let it go: nothing left to revoke through it
            self.trail.step(self.s, "retired", outcome="skipped", note=f"version {previous} is gone")
            return
        self.s.issuer.retire(old)
        self._issuer_events()
        self.trail.step(self.s, "retired", note=f"version {previous}", versions=self._versions())
        crashpoints.reached("after:retired")

    def _issuer_events(self) -> None:
        """What the issuer did beside its verb (a stale key deleted to make room): an audit record each."""
        drain = getattr(self.s.issuer, "drain_events", None)
        for step, note, detail in drain() if drain is not None else ():
            self.trail.step(self.s, step, note=note, versions={**self._versions(), **detail})

    def _notes(self, record: JournalRecord) -> dict[str, str]:
        rotated = record.updated
        notes = {policy.LAST_ROTATED: rotated.isoformat(timespec="seconds"), policy.ROTATION_ID: record.token,
                 policy.ISSUER: self.s.config.issuer.type}
        issuer_notes = getattr(self.s.issuer, "notes", None)
        if issuer_notes is not None and record.pending is not None:  # what the issuer knows of the new version
            notes = {**issuer_notes(self.s.store.read(self.s.path, record.pending).data), **notes}
        after = StoreStatus(self.s.path, exists=True, current=record.pending, previous=record.previous,
                            updated=rotated, metadata=notes)
        next_due = policy.next_due(self.s.config, after, rotated)
        if next_due is not None:  # a secret with no schedule gets no note: Vault refuses an empty one
            notes[policy.NEXT_DUE] = next_due.isoformat(timespec="seconds")
        return notes

    def _stepped(self, step: Step, note: str = "") -> None:
        self.trail.step(self.s, step.value, note=note, versions=self._versions())
        crashpoints.reached(f"after:{step.value}")

    def _versions(self) -> dict[str, str | None]:
        record = self.lock.record
        return {"previous": record.previous, "pending": record.pending} if record else {}


class _Waiting(Exception):
    """A promoted rotation's previous credential is still in its grace period."""


_ORDER = {step: i for i, step in enumerate(Step)}  # Step is a str enum: its values do not sort by step


def _promoted(current: SecretVersion | None, staged: SecretVersion | None) -> bool:
    """The current version is the one this rotation staged: the same version and the same value. The
    version alone is not enough: Vault names a staged version by the number it will take, and a write by
    someone else made after staging takes that number first."""
    return current is not None and staged is not None and current.version == staged.version \
        and dict(current.data) == dict(staged.data)


def _before_promotion(step: Step) -> bool:
    return _ORDER[step] < _ORDER[Step.PROMOTED]
