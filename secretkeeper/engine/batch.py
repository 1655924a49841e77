"""Many small buffers prefiltered in one pass, then only those with a hit scanned on their own.

A Hyperscan call has a fixed cost that dominates for small buffers (most blobs of a git history): one
call per ~1 MB of joined buffers instead of one per buffer. Buffers are joined by a newline, NUL,
newline, which keeps every prefilter hit of every buffer unless a rule needs a buffer's very start or
end (`Detector.batchable`); with such a detector each buffer is scanned on its own as it is added.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Generic, TypeVar

from secretkeeper.engine.detector import Detector
from secretkeeper.engine.match import Match

K = TypeVar("K")

_SEPARATOR = b"\n\0\n"
# A rule with more hits than this in one batch marks every buffer, as a hit without a position does.
_MAX_ENDS = 64


class PrefilterBatch(Generic[K]):
    """Collects buffers (each with a key) and hands each one scanned to `on_scanned(key, data, matches)`,
    its matches as `detector.scan(data)` with no path finds them (maybe none: a buffer `also` accepts is
    scanned without a prefilter hit). Call `flush()` after the last `add`."""

    def __init__(self, detector: Detector, on_scanned: Callable[[K, bytes, list[Match]], None],
                 max_bytes: int = 1024 * 1024, also: Callable[[bytes], bool] | None = None,
                 also_marker: bytes | None = None) -> None:
        """`also_marker`: one of the engine's MARKERS that a buffer `also` accepts always holds, so `also`
        is asked only in batches where the prefilter saw it (not byte by byte through every batch)."""
        self.detector = detector
        self.on_scanned = on_scanned
        self.max_bytes = max_bytes
        self.also = also
        self.also_marker = also_marker
        self._items: list[tuple[K, bytes]] = []
        self._size = 0

    def add(self, key: K, data: bytes) -> None:
        if not self.detector.batchable:
            self._scan(key, data)
            return
        self._items.append((key, data))
        self._size += len(data) + len(_SEPARATOR)
        if self._size >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        """Prefilter the collected buffers together and scan each one that has a hit."""
        items, self._items, self._size = self._items, [], 0
        if not items:
            return
        starts, pos = [], 0
        for _, data in items:
            starts.append(pos)
            pos += len(data) + len(_SEPARATOR)
        marked: set[int] = set()
        markers: set[bytes] | None = set() if self.also is not None and self.also_marker is not None else None
        for ends in self.detector.prefilter_hits(_SEPARATOR.join(d for _, d in items), markers).values():
            if not ends or len(ends) > _MAX_ENDS:  # no position (keyword/always rules) or too many
                marked = set(range(len(items)))
                break
            marked.update(bisect_right(starts, end - 1) - 1 for end in ends)
        accepted: set[int] = set()
        if self.also is not None and (markers is None or self.also_marker in markers):
            accepted = {k for k, (_, data) in enumerate(items) if self.also(data)}
        for k in sorted(marked | accepted):
            key, data = items[k]
            self._scan(key, data, k in accepted)

    def _scan(self, key: K, data: bytes, accepted: bool | None = None) -> None:
        """`accepted`: what `also` said of the buffer, when it was asked already."""
        matches = self.detector.scan(data, None, any_context=True)
        if matches or (accepted if accepted is not None else self.also is not None and self.also(data)):
            self.on_scanned(key, data, matches)
