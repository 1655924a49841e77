"""KubeObject: one Kubernetes object from a manifest file, a live cluster or an image, with field lines.

Manifest parsing records the 1-based line of every field so findings point at the entry at fault (an
env var's `- name:` line, a Secret's `kind:` line, an RBAC rule's list item). Live objects have no lines;
they are located by `Kind/namespace/name[/...]` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from collections.abc import Callable, Mapping

FieldPath = tuple[str | int, ...]
_T = TypeVar("_T")


class once(Generic[_T]):  # lower case: a decorator, like `functools.cached_property`
    """`functools.cached_property` without its lock: Python 3.11's takes a lock shared by every instance
    on each first read, several times the cost of the computation here (a large manifest tree builds tens
    of thousands of objects). A race computes the same value twice, which is harmless for these."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> _T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@dataclass
class KubeObject:
    body: dict[str, Any]
    source: str = "manifest"  # "manifest" | "cluster"
    path: str | None = None  # manifest file (relative to the scan root)
    lines: Mapping[FieldPath, int] = field(default_factory=dict)  # field path -> line of its key/item
    doc_line: int | None = None  # first line of the document in the file
    # Values its hygiene findings flag as credentials (hashed in them): a name that repeats one is
    # redacted in every finding of the object's file or cluster (see `Scrubber`).
    flagged: list[bytes | str] = field(default_factory=list, repr=False)

    # Read once per object (the body is not changed after parsing): every check and finding asks again.
    @once
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @once
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    def line(self, *path: str | int) -> int | None:
        """Line of `path`, or of its nearest ancestor that has one, or of the document."""
        lines = self.lines
        while path:
            line = lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return lines.get((), self.doc_line)

    @once
    def _ref(self) -> str:
        meta = self.metadata
        return "/".join((self.kind or "Object", str(meta.get("namespace") or "") or "-",
                         str(meta.get("name") or "") or "-"))

    def ref(self, *suffix: str) -> str:
        """`Kind/namespace/name[/suffix...]` — how findings name the object (namespace `-` if none)."""
        return "/".join((self._ref, *suffix)) if suffix else self._ref
