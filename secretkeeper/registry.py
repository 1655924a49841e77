"""Named implementations of one kind (validators, store types, issuer types), registered by decorator.

A name registers once: two modules claiming the same name is a programming error, refused when the second
one is imported, instead of one silently replacing the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind  # names the registry in errors: "validator", "store type"
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@VALIDATORS.register("crc32-base62")`."""

        def add(item: T) -> T:
            if name in self._items:
                raise RuntimeError(f"{self.kind} {name!r} registered twice: by {_origin(self._items[name])} "
                                   f"and by {_origin(item)}")
            self._items[name] = item
            return item

        return add

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _origin(item: Any) -> str:
    return f"{getattr(item, '__module__', '?')}.{getattr(item, '__qualname__', type(item).__qualname__)}"
