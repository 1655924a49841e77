"""Line numbers and line bounds of offsets in a scanned buffer."""

from __future__ import annotations

import re
from bisect import bisect_right


class NewlineIndex:
    """Line numbers and line bounds for offsets, built lazily (most buffers have no match)."""

    __slots__ = ("_counted", "_last", "_nl", "allow_marks", "data")
    _COUNT_FIRST = 64  # the first lookups count newlines in C; the index pays off only after that

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._nl: list[int] | None = None
        self._counted = 0
        self._last = (0, 1)  # (offset, line) of the last counted lookup: counting resumes from there
        self.allow_marks: object = None  # the buffer's inline allow markers, found on first use (engine.policy)

    @property
    def nl(self) -> list[int]:
        if self._nl is None:
            self._nl = [m.start() for m in re.finditer(b"\n", self.data)]
        return self._nl

    def line(self, offset: int) -> int:
        if self._nl is None and self._counted < self._COUNT_FIRST:
            self._counted += 1
            offset = max(offset, 0)
            base, line = self._last if offset >= self._last[0] else (0, 1)
            line += self.data.count(b"\n", base, offset)
            self._last = (offset, line)
            return line
        return bisect_right(self.nl, offset - 1) + 1 if offset else 1

    def line_start(self, line: int) -> int:
        if line <= 1:
            return 0
        nl = self.nl
        return nl[line - 2] + 1 if line - 2 < len(nl) else len(self.data)

    def line_end(self, line: int) -> int:
        nl = self.nl
        return nl[line - 1] if 0 < line <= len(nl) else len(self.data)

