"""read: the current version of a secret, or a given one. A version number that only the journal holds
(staged, not promoted yet) reads as that pending value."""

from __future__ import annotations

from providers.base import SecretVersion
from providers.errors import NotFound
from providers.stores.vault.codec import decode
from providers.stores.vault.journal_entry import load
from providers.stores.vault.kv import KV


def read(kv: KV, secret: str, journal: str, version: str | None = None) -> SecretVersion:
    where = f"vault {kv.vault.address}: {kv.mount}/data/{secret}"
    if version is not None and (not version.isdigit() or int(version) < 1):
        raise NotFound(f"{where} has no version {version!r} (Vault versions are numbers from 1)")
    entry = kv.read(secret, int(version) if version is not None else None)
    if entry is not None and entry.data is not None:
        stages = frozenset({"current"}) if version is None else frozenset()
        return SecretVersion(str(entry.version.number), decode(secret, entry.data), entry.version.created, stages)
    if version is not None:
        pending = load(kv, journal).pending
        if pending is not None and pending.version == version:
            return pending.secret_version(secret)
    which = f"version {version}" if version is not None else "current version"
    if entry is None and version is None:
        raise NotFound(f"{where} does not exist")
    raise NotFound(f"{where}: {which} is {'deleted' if entry is not None else 'not there'}")
