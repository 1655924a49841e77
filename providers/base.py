"""What rotation talks to: a Store (where a managed secret lives) and an Issuer (who makes and retires the
credential), the records they exchange, and the registries that name their types.

Values travel only inside `SecretVersion.data`, whose repr shows key names, never values; the journal
record holds version ids, never data, so it can be persisted and logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from secretkeeper.registry import Registry


@dataclass(frozen=True, repr=False)
class SecretVersion:
    """One version of a managed secret as its store holds it."""

    version: str  # the store's own id: a Vault version number, an AWS VersionId, a local counter
    data: Mapping[str, bytes] = field(hash=False)  # key name -> raw value
    created: datetime
    stages: frozenset[str] = frozenset()  # the store's labels for it, e.g. AWSCURRENT, AWSPENDING

    def __repr__(self) -> str:  # also str(): a version printed or logged shows which keys, not what
        stages = ", ".join(sorted(self.stages))
        return (f"SecretVersion(version={self.version!r}, keys={sorted(self.data)}, "
                f"created={self.created.isoformat()}, stages=[{stages}])")


class Step(str, Enum):
    """How far a rotation got; the order of the state machine."""

    STARTED = "started"
    ISSUED = "issued"
    STAGED = "staged"
    VERIFIED = "verified"
    SYNCED = "synced"
    PROMOTED = "promoted"
    DONE = "done"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class JournalRecord:
    """Where one secret's rotation stands, persisted beside the secret: the next run resumes or rolls back
    a rotation that was killed, and the record's owner is the lock's holder."""

    secret: str  # the managed secret's name in the config
    step: Step
    token: str  # this rotation's idempotency token (AWS ClientRequestToken): a retry stages the same version
    holder: str  # who runs it, e.g. "ci@runner-7 pid 4121": what a loser of the lock is told
    started: datetime
    updated: datetime
    pending: str | None = None  # version id of the new value, once staged
    previous: str | None = None  # version id that was current when the rotation started
    host: str = ""  # where the holder runs: a holder on this host whose pid is gone is dead at once
    pid: int = 0
    lease_until: datetime | None = None  # the holder renews it at every step; past it, anyone may take over
    error: str | None = None  # why a rotation is rolling back (one line, never a value)

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["step"] = self.step.value
        doc["started"], doc["updated"] = self.started.isoformat(), self.updated.isoformat()
        doc["lease_until"] = self.lease_until.isoformat() if self.lease_until else None
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JournalRecord:
        """Raises ValueError naming what is wrong (never echoing the text: a corrupt journal could hold
        anything)."""
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError("rotation journal record is not valid JSON") from None
        names = {f.name for f in fields(cls)}
        if not isinstance(doc, dict) or set(doc) != names:
            got = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"rotation journal record has keys {got}, expected {sorted(names)}")
        parsed = dict(doc)
        for name, parse in (("step", Step), ("started", datetime.fromisoformat),
                            ("updated", datetime.fromisoformat), ("lease_until", datetime.fromisoformat)):
            if name == "lease_until" and doc[name] is None:
                continue
            try:
                parsed[name] = parse(doc[name])
            except (TypeError, ValueError):
                raise ValueError(f"rotation journal record: {name} is not valid") from None
        return cls(**parsed)


@dataclass(frozen=True)
class StoreStatus:
    """What a store can say about a managed secret cheaply (a bulk listing where the store has one): enough
    for `rotate --due` to decide that nothing is due without reading any value."""

    path: str
    exists: bool
    current: str | None = None  # the current version's id
    updated: datetime | None = None  # when the current version was written
    previous: str | None = None  # the version current before it (what a grace period keeps working)
    in_progress: bool = False  # a rotation journal (or an AWSPENDING version that is not current) exists
    metadata: Mapping[str, str] = field(default_factory=dict)  # the store's status notes: never values
    refused: str | None = None  # why the store will not let secretkeeper rotate it (e.g. AWS rotates it), or None


class Journal(Protocol):
    """A secret's rotation journal in its store. Writes are compare-and-set against the record last read,
    so of two rotators starting together exactly one write succeeds: the journal is also the lock.
    A lost compare-and-set raises providers.errors.Conflict carrying the record that won."""

    def read(self) -> JournalRecord | None: ...

    def write(self, record: JournalRecord, *, expect: JournalRecord | None) -> None: ...

    def clear(self, *, expect: JournalRecord) -> None: ...


class Store(Protocol):
    """Where a managed secret lives (providers/stores). A staged version is not yet what readers get.

    Every method is safe to repeat after a crash: `stage` with the same token returns the version already
    staged under it (with its data) instead of staging another; `discard` of a version that is gone and
    `promote` of the version that is already current do nothing. Errors are providers.errors types, one
    line each, naming the store and path, never a value.

    A store may also offer `identity() -> str | None`: who it acts as (the Vault token's display name,
    the AWS caller ARN), answered within a few seconds or None; the audit trail asks it best-effort."""

    name: str  # the store's name in the config

    def read(self, path: str, version: str | None = None) -> SecretVersion: ...  # current, or NotFound

    def stage(self, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion: ...

    def staged(self, path: str, token: str) -> SecretVersion | None: ...  # what `stage(token)` left, if any

    def promote(self, path: str, version: str, *, expect_current: str | None) -> None: ...  # compare-and-set

    def discard(self, path: str, version: str) -> None: ...

    def journal(self, path: str) -> Journal: ...

    def status(self, paths: Sequence[str]) -> Mapping[str, StoreStatus]: ...  # few requests for many paths

    def annotate(self, path: str, notes: Mapping[str, str]) -> None: ...  # status notes (last rotation, next due)


class Issuer(Protocol):
    """Who makes the credential itself, and retires the previous one (providers/issuers). Errors are
    providers.errors.IssuerError (VerifyFailed from `verify`), one line, never a value."""

    grace: timedelta  # how long the previous credential keeps working after promotion, before `retire`

    def keys(self) -> Sequence[str]: ...  # the keys a version holds; empty: any (a static secret)

    def describe(self) -> str: ...  # what it issues, one line for `rotate --dry-run`

    def needs(self) -> Sequence[str]: ...  # what it needs to work (permissions, admin credentials, grants)

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]: ...

    def verify(self, data: Mapping[str, bytes]) -> None: ...  # raises if the new credential does not work

    def retire(self, old: SecretVersion) -> None: ...  # after every consumer has moved to the new one


class ManagedSecrets(Protocol):
    """What an issuer may read of the other managed secrets its config names (`admin: pg-admin`,
    `ca: internal-ca`): a run handles those first, so their current versions are there."""

    def current(self, name: str) -> SecretVersion: ...


# Each type is registered under the `type:` name the config uses. A store type builds its implementation
# from its name under `stores:` (its `Store.name`, which its errors show) and its validated section:
# `STORES[section.type](name, section)`. An issuer type builds from the whole `secrets[i]` entry (its
# `issuer:` section, `keys`, `name`) and the run's other managed secrets.
STORES: Registry[Callable[[str, Any], Store]] = Registry("store type")
ISSUERS: Registry[Callable[[Any, ManagedSecrets], Issuer]] = Registry("issuer type")
