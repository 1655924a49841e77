"""What a local store says about its secrets without its key: status from metadata, and status notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from providers.base import StoreStatus
from providers.errors import NotFound
import providers.stores.local.files as files
from providers.stores.local.lock import locked
from providers.stores.local.versions import load_meta

if TYPE_CHECKING:  # pragma: no cover
    from providers.stores.local.store import LocalStore


def statuses(store: LocalStore, paths: Sequence[str]) -> dict[str, StoreStatus]:
    """One metadata file and one journal lookup per path; nothing is decrypted."""
    out = {}
    for path in paths:
        directory = files.secret_dir(store.root, path)
        journal = (directory / "journal.json").exists()
        meta = load_meta(store, path, directory)
        if meta is None:
            out[path] = StoreStatus(path, exists=False, in_progress=journal)
            continue
        current = meta.versions.get(meta.current) if meta.current else None
        out[path] = StoreStatus(path, exists=current is not None, current=meta.current,
                                updated=current.created if current else None, previous=meta.previous,
                                in_progress=journal or bool(meta.pending()), metadata=dict(meta.notes))
    return out


def annotate(store: LocalStore, path: str, notes: Mapping[str, str]) -> None:
    """Merge `notes` into the secret's status notes; a note set to "" is removed."""
    directory = files.secret_dir(store.root, path)
    if not directory.is_dir():
        raise NotFound(f"{store.where(path)}: no such secret")
    with locked(directory):
        meta = load_meta(store, path, directory)
        if meta is None:
            raise NotFound(f"{store.where(path)}: no such secret")
        merged = {k: v for k, v in {**meta.notes, **notes}.items() if v != ""}
        if merged != meta.notes:
            meta.notes = merged
            files.write_json(directory / "meta.json", meta.to_doc())
