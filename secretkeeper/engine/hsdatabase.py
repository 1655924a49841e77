"""A compiled Hyperscan database: the serialized bytes (cached on disk, sent to workers) and the loaded one.

Hyperscan is optional: without it (`hyperscan` is None) the engine prefilters with `re` (engine.keywords).
"""

from __future__ import annotations

from typing import Any

try:  # pragma: no cover - both branches run in tests
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None

# Part of every database's cache key: a change to how expressions are derived invalidates old entries.
CACHE_FORMAT = 9


class Database:
    """Holds a serialized Hyperscan block database (`db_bytes`) and the live one (`db`, with its scratch).

    Compiled databases do not pickle: workers receive the bytes and load their own copy."""

    db_bytes: bytes = b""
    db: Any = None

    def _load_db(self) -> None:
        self.db = None
        if self.db_bytes:
            self.db = hyperscan.loadb(self.db_bytes, hyperscan.HS_MODE_BLOCK)
            self.db.scratch = hyperscan.Scratch(self.db)

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "db"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._load_db()
