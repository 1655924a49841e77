"""status: what `rotate --due` needs for each secret without reading any value: two metadata requests
(the data path's and the journal entry's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers.base import StoreStatus
from providers.stores.vault.annotate import notes_of
from providers.stores.vault.kv import KV


def status(kv: KV, paths: Sequence[tuple[str, str, str]]) -> Mapping[str, StoreStatus]:
    """`paths`: (the path as asked, the secret's KV path, its journal's KV path)."""
    out: dict[str, StoreStatus] = {}
    for asked, secret, journal in paths:
        meta = kv.metadata(secret)
        entry = kv.metadata(journal)
        live = meta.live if meta is not None else None
        previous = meta.previous if meta is not None else None
        out[asked] = StoreStatus(
            asked, exists=live is not None, current=str(live.number) if live else None,
            previous=str(previous.number) if previous else None,
            updated=live.created if live else None, in_progress=entry is not None and entry.live is not None,
            metadata=notes_of(meta.custom) if meta is not None else {})
    return out
