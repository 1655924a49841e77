"""A compiled Hyperscan database: the serialized bytes and the loaded one."""

from __future__ import annotations

from typing import Any


class Database:
    """Holds a serialized Hyperscan block database (`db_bytes`) and the live one (`db`, with its scratch).

    Compiled databases do not pickle: workers receive the bytes and load their own copy."""

    db_bytes: bytes = b""
    db: Any = None

    def _load_db(self) -> None:
        self.db = None
        if self.db_bytes:
            import hyperscan

            self.db = hyperscan.loadb(self.db_bytes, hyperscan.HS_MODE_BLOCK)
            self.db.scratch = hyperscan.Scratch(self.db)

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "db"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._load_db()
