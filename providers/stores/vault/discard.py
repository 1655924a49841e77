"""discard: the staged value leaves the journal entry (a rotation rolled back); the data path is never
touched. Discarding what is not staged (any more) does nothing."""

from __future__ import annotations

from providers.stores.vault.journal_entry import drop_pending, load
from providers.stores.vault.kv import KV


def discard(kv: KV, journal: str, version: str) -> None:
    drop_pending(kv, load(kv, journal), version)
