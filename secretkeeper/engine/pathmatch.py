"""Which path-gated rules (credential files recognised by name) apply to a path, at ~1 µs per file.

The path patterns end in `[^/]*`-style parts that Python's `re.search` retries from every position of
the path (over 100 µs per file for the catalog, as much as scanning its bytes). One Hyperscan database
answers for all of them in one pass; paths that are not ASCII (where Python's Unicode `\\w` and
Hyperscan's byte semantics differ) and patterns Hyperscan rejects use `re`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import secretkeeper.engine.hscache as hscache

try:  # pragma: no cover - both branches run in tests
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None


def _collect(pattern: int, _start: int, _end: int, _flags: int, hits: list[int]) -> None:
    hits.append(pattern)


class PathMatcher(hscache.Database):
    def __init__(self, patterns: Sequence[re.Pattern[str]], use_cache: bool = True) -> None:
        self.patterns = list(patterns)
        self.by_re: list[int] = list(range(len(self.patterns)))  # indexes always tested with re
        if _hs is not None and self.patterns:
            key = hashlib.sha256(json.dumps([getattr(_hs, "__version__", "?"),
                                             [(p.pattern, p.flags) for p in self.patterns]]).encode())
            path = hscache.cache_dir() / f"paths-{key.hexdigest()[:32]}.db"
            self.by_re, self.db_bytes = hscache.cached(path, use_cache, self._compile)
            self._load_db()

    def _compile(self) -> tuple[list[int], bytes]:
        ok, by_re = [], []
        for i, p in enumerate(self.patterns):
            flags = _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY
            flags |= _hs.HS_FLAG_CASELESS if p.flags & re.IGNORECASE else 0
            flags |= _hs.HS_FLAG_DOTALL if p.flags & re.DOTALL else 0
            flags |= _hs.HS_FLAG_MULTILINE if p.flags & re.MULTILINE else 0
            try:
                _hs.Database().compile(expressions=[p.pattern.encode("ascii")], ids=[i], elements=1, flags=[flags])
            except Exception:  # non-ASCII text, or a construct Hyperscan lacks (lookarounds...)
                by_re.append(i)
                continue
            ok.append((i, p.pattern.encode("ascii"), flags))
        if not ok:
            return by_re, b""
        db = _hs.Database()
        db.compile(expressions=[e for _, e, _ in ok], ids=[i for i, _, _ in ok], elements=len(ok),
                   flags=[f for _, _, f in ok])
        return by_re, _hs.dumpb(db)

    def matching(self, path: str) -> list[int]:
        """Indexes of the patterns that `re.search` would find in `path`, in pattern order."""
        if self.db is None or not path.isascii():
            return [i for i, p in enumerate(self.patterns) if p.search(path)]
        hits: list[int] = []
        # Positional arguments: the binding's keyword parsing costs as much as scanning a path.
        self.db.scan(path.encode("ascii"), _collect, 0, hits, self.db.scratch)
        if self.by_re:
            hits.extend(i for i in self.by_re if self.patterns[i].search(path))
        if len(hits) > 1:
            hits.sort()
        return hits
