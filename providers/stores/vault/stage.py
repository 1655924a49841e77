"""stage and staged: the pending value lives in the journal entry, not at the data path, so no reader of
the secret (External Secrets, Vault agents) can see it before it is verified and promoted.

A staged version is named by the data version it will become: the current version + 1, which promote
writes with check-and-set on the current version, so the name holds unless someone else writes first (and
then promote refuses).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from providers.base import SecretVersion
from providers.errors import Conflict
from providers.stores.vault.codec import decode, encode
from providers.stores.vault.journal_entry import JournalEntry, Pending, load, save
from providers.stores.vault.kv import KV


def stage(kv: KV, secret: str, journal: str, data: Mapping[str, bytes], token: str) -> SecretVersion:
    """Stages `data` under `token`; a repeat returns what `token` staged before (its data, not these).
    Conflict when the journal's record belongs to another rotation (it holds the lock)."""
    values = encode(secret, data)
    entry = load(kv, journal)
    found = _by_token(kv, secret, entry, token)
    if found is not None:
        return found
    if entry.record is not None and entry.record.token != token:
        raise _held(kv, secret, entry)
    meta = kv.metadata(secret)
    pending = Pending(token, str((meta.current if meta else 0) + 1), datetime.now(UTC), values)
    try:
        save(kv, entry, pending=pending)
    except Conflict:
        entry = load(kv, journal)
        found = _by_token(kv, secret, entry, token)
        if found is None:
            raise _held(kv, secret, entry) from None
        return found
    return pending.secret_version(secret)


def staged(kv: KV, secret: str, journal: str, token: str) -> SecretVersion | None:
    """What `stage(token)` left: the pending version, or, once promoted, the version it became."""
    return _by_token(kv, secret, load(kv, journal), token)


def _by_token(kv: KV, secret: str, entry: JournalEntry, token: str) -> SecretVersion | None:
    if entry.pending is not None and entry.pending.token == token:
        return entry.pending.secret_version(secret)
    if entry.promoted is not None and entry.promoted.token == token:
        promoted = kv.read(secret, int(entry.promoted.version))
        if promoted is not None and promoted.data is not None:
            return SecretVersion(str(promoted.version.number), decode(secret, promoted.data),
                                 promoted.version.created)
    return None


def _held(kv: KV, secret: str, entry: JournalEntry) -> Conflict:
    where = f"vault {kv.vault.address}: {secret}"
    if entry.record is None:
        return Conflict(f"{where}: another run staged a value meanwhile")
    return Conflict(f"{where} is being rotated by {entry.record.holder} (rotation {entry.record.token})",
                    holder=entry.record)
