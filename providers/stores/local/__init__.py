"""The local store (`type: local`): AES-256-GCM encrypted files, the embedded default.

    store.py     LocalStore: the Store protocol over the modules below
    versions.py  read, stage, staged, promote, discard: the staged protocol
    journal.py   the rotation journal, compare-and-set under the secret's lock
    status.py    status from metadata alone (no key needed), status notes
    meta.py      a secret's meta.json: versions, current, previous, pending tokens, notes
    crypto.py    AES-256-GCM, each ciphertext bound to its store, path and version
    keyring.py   the key checked against the store's header (store.json)
    keys.py      the key from SECRETKEEPER_LOCAL_KEY or a 0600 key file made on first use
    files.py     the layout on disk; atomic writes, unlinks, 0700 directories (crash points)
    lock.py      the per-secret fcntl lock
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from providers.base import STORES
from providers.stores.local.store import LocalStore

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import LocalStore as LocalStoreConfig


@STORES.register("local")
def build(name: str, config: LocalStoreConfig) -> LocalStore:
    """Relative paths are taken from the working directory when the store is built."""
    return LocalStore(name, Path(config.path).absolute(), Path(config.key_path).absolute(),
                      config.max_versions)


__all__ = ["LocalStore", "build"]
