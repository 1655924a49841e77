"""`python -m tests.rotation.memcli ARGS`: the `secretkeeper` command with the file-backed MemoryStore as
the `local` store type (its file: `<stores.local.path>/memstore.json`), for tests that run rotations in
other processes and kill them.

    MEMSTORE_FAIL=promote,annotate   these requests fail with a one-line StoreError
    MEMSTORE_DELAY=0.2               each request takes this long (to overlap runs, or kill one mid-way)
"""

import os
import sys
from pathlib import Path

from providers.base import STORES
from providers.errors import StoreError
from secretkeeper.cli import main
from tests.rotation.memstore import MemoryStore


def _open(name, cfg):
    store = MemoryStore(name, file=Path(cfg.path) / "memstore.json")
    for method in filter(None, os.environ.get("MEMSTORE_FAIL", "").split(",")):
        store.faults[method] = StoreError(f"local: {method} refused (MEMSTORE_FAIL)")
    store.delay = float(os.environ.get("MEMSTORE_DELAY", "0"))
    return store


def install() -> None:
    """The MemoryStore as the `local` store type of this process (one forked from a test's, too, where
    the real local store may be registered already)."""
    STORES._items["local"] = _open  # test infrastructure: replaces, never adds twice


if __name__ == "__main__":
    install()
    sys.exit(main())
