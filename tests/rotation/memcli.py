"""`python -m tests.rotation.memcli ARGS`: the `secretkeeper` command with the file-backed MemoryStore as
the `local` store type (its file: `<stores.local.path>/memstore.json`), for tests that run rotations in
other processes and kill them."""

import sys
from pathlib import Path

from providers.base import STORES
from secretkeeper.cli import main
from tests.rotation.memstore import MemoryStore

STORES.register("local")(lambda cfg: MemoryStore(file=Path(cfg.path) / "memstore.json"))
sys.exit(main())
