"""The journal entry: one KV entry per managed secret (paths.py says where) that holds the rotation's
record, the pending value once staged, and which version the last promote made current.

Every write is a check-and-set on the version read, so of two writers exactly one wins. An entry left
with nothing to hold is ended by destroying the version that held it (the data is erased, not just marked
deleted); the next rotation's first write names that destroyed version as its check-and-set, or 0 when the
entry never existed, and is the lock again.

The entry keeps a single version (max_versions 1, set when it is created): older versions would keep
pending values, promoted or discarded, in the entry's history.

Its document: {"secretkeeper-journal": 1, "record": "<JournalRecord JSON>", "pending": {"token",
"version", "created", "data"}, "promoted": {"token", "version"}}, each part present only when set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from providers.base import JournalRecord, SecretVersion
from providers.errors import Conflict, StoreError
from providers.stores.vault.codec import decode
from providers.stores.vault.kv import KV

FORMAT = "secretkeeper-journal"


@dataclass(frozen=True)
class Pending:
    token: str  # the rotation's idempotency token
    version: str  # the data version it becomes when promoted: the current version + 1 when staged
    created: datetime
    data: dict[str, str] = field(repr=False)

    def secret_version(self, secret: str) -> SecretVersion:
        return SecretVersion(self.version, decode(secret, self.data), self.created, frozenset({"pending"}))


@dataclass(frozen=True)
class Promoted:
    token: str
    version: str


@dataclass(frozen=True)
class JournalEntry:
    path: str  # the entry's KV path
    cas: int  # what the next write names: the version read (live or gone), 0 when there is none
    live: bool  # a readable version holds it: a rotation is under way
    record: JournalRecord | None = None
    pending: Pending | None = None
    promoted: Promoted | None = None

    @property
    def empty(self) -> bool:
        return self.record is None and self.pending is None and self.promoted is None


def load(kv: KV, path: str) -> JournalEntry:
    entry = kv.read(path)
    if entry is None:
        return JournalEntry(path, 0, False)
    if entry.data is None:
        return JournalEntry(path, entry.version.number, False)
    try:
        return _parse(path, entry.version.number, entry.data)
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"vault {kv.vault.address}: {kv.mount}/data/{path} is not a secretkeeper rotation "
                         "journal (remove it to unlock the secret)") from None


def save(kv: KV, entry: JournalEntry, **changes: Any) -> None:
    """`entry` with `changes`, written with check-and-set on the version it was read at (Conflict when the
    entry moved since); ended instead when nothing is left in it."""
    new = replace(entry, **changes)
    if new.empty:
        end(kv, entry)
        return
    if entry.cas == 0:
        kv.set_metadata(entry.path, max_versions=1)
    kv.write(entry.path, _document(new), cas=entry.cas)


def drop_pending(kv: KV, entry: JournalEntry, version: str, promoted: Promoted | None = None) -> None:
    """Removes pending `version` from the entry (recording `promoted` when given). An entry that moved
    meanwhile is read again: what matters is that this pending value is gone."""
    for _ in range(3):
        if entry.pending is None or entry.pending.version != version:
            return
        try:
            save(kv, entry, pending=None, promoted=promoted or entry.promoted)
            return
        except Conflict:
            entry = load(kv, entry.path)
    raise Conflict(f"vault {kv.vault.address}: {kv.mount}/data/{entry.path} keeps changing", holder=entry.record)


def end(kv: KV, entry: JournalEntry) -> None:
    """Destroys the version read: a newer one written meanwhile by someone else stays."""
    if entry.live:
        kv.destroy(entry.path, [entry.cas])


def _document(entry: JournalEntry) -> dict[str, Any]:
    doc: dict[str, Any] = {FORMAT: 1}
    if entry.record is not None:
        doc["record"] = entry.record.to_json()
    if entry.pending is not None:
        p = entry.pending
        doc["pending"] = {"token": p.token, "version": p.version, "created": p.created.isoformat(),
                          "data": p.data}
    if entry.promoted is not None:
        doc["promoted"] = {"token": entry.promoted.token, "version": entry.promoted.version}
    return doc


def _parse(path: str, version: int, doc: dict[str, Any]) -> JournalEntry:
    if doc.get(FORMAT) != 1:
        raise ValueError("not a journal")
    record = JournalRecord.from_json(doc["record"]) if "record" in doc else None
    pending = promoted = None
    if "pending" in doc:
        p = doc["pending"]
        if not isinstance(p["data"], dict) or not all(isinstance(v, str) for v in p["data"].values()):
            raise ValueError("pending data is not a JSON object of strings")
        pending = Pending(str(p["token"]), str(p["version"]), datetime.fromisoformat(p["created"]), p["data"])
    if "promoted" in doc:
        promoted = Promoted(str(doc["promoted"]["token"]), str(doc["promoted"]["version"]))
    return JournalEntry(path, version, True, record, pending, promoted)
