"""The edits a migration makes to one object, as data: the planner writes them, and they are applied
either to the parsed body (live patches, Kustomize patches) or spliced into the original text
(`splice.py`). One list, two appliers: the file and the cluster get the same change.

Paths are field paths from the object's root (`("spec", "template", "spec", "containers", 0, "env", 2)`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from secretkeeper.kube.objects import FieldPath


@dataclass(frozen=True)
class SetScalar:
    """Replace the scalar at `path` (an env var's `name` or literal `value`)."""
    path: FieldPath
    value: str


@dataclass(frozen=True)
class ReplaceEntry:
    """Replace the mapping entry `path` (its key and value) with `key: value` (`valueFrom:` -> `value:`)."""
    path: FieldPath
    key: str
    value: str


@dataclass(frozen=True)
class RemoveItem:
    """Remove the list item at `path`."""
    path: FieldPath


@dataclass(frozen=True)
class EmptyList:
    """Every item of the list at `path` goes: it becomes `[]`."""
    path: FieldPath


@dataclass(frozen=True)
class AppendItem:
    """Append `value` to the existing list at `path`."""
    path: FieldPath
    value: Any


@dataclass(frozen=True)
class AddKey:
    """Add `key: value` to the existing mapping at `path` (which has no such key)."""
    path: FieldPath
    key: str
    value: Any


Op = SetScalar | ReplaceEntry | RemoveItem | EmptyList | AppendItem | AddKey


def _at(body: Any, path: FieldPath) -> Any:
    for part in path:
        body = body[part]
    return body


def apply_ops(body: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    """A copy of `body` with `ops` applied. Removals go last and from the highest index, so every path
    names what it named in the original."""
    out = copy.deepcopy(body)
    removals: list[RemoveItem] = []
    for op in ops:
        if isinstance(op, RemoveItem):
            removals.append(op)
            continue
        parent = _at(out, op.path[:-1]) if op.path else None
        if isinstance(op, SetScalar):
            parent[op.path[-1]] = op.value
        elif isinstance(op, ReplaceEntry):
            items = list(parent.items())
            at = [k for k, _ in items].index(op.path[-1])
            items[at] = (op.key, op.value)
            parent.clear()
            parent.update(items)
        elif isinstance(op, EmptyList):
            parent[op.path[-1]] = []
        elif isinstance(op, AppendItem):
            _at(out, op.path).append(copy.deepcopy(op.value))
        elif isinstance(op, AddKey):
            _at(out, op.path)[op.key] = copy.deepcopy(op.value)
    for op in sorted(removals, key=lambda r: r.path, reverse=True):
        del _at(out, op.path[:-1])[op.path[-1]]
    return out
