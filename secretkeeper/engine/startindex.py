"""Start indexes: where a line rule's matches can begin on a long hit line, found by Hyperscan.

A start index is a database of the rule's start expression (engine.hsexpr) kept with the table of
bytes a match can begin with (engine.regexfacts).
"""

from __future__ import annotations

import hashlib
import json
import re
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterable

from secretkeeper import cache
from secretkeeper.engine.hsdatabase import CACHE_FORMAT, Database, hyperscan
from secretkeeper.engine.hsexpr import start_expression
from secretkeeper.engine.regexfacts import first_bytes

# Shorter lines are searched by `re` from their start: a Hyperscan call on a line costs ~10k cycles
# (measured in cycles, not instructions: its set-up runs at about one instruction a cycle).
START_INDEX_FROM = 32


class StartIndex(Database):
    """Where a line rule's matches can start on its hit lines, found by Hyperscan (start of match).

    Python's `re` has no fast way to find where a pattern such as `(?i)(?:pub)?[_.-]?(?:access|...)token`
    begins: it tries the whole alternation at every byte of a line (~2,000 instructions a byte for the
    generic token rule). `matches` returns what `pattern.finditer` returns on each line, but tries only
    the positions inside the [start, end) spans of the prefix matches this database reports.
    """

    def __init__(self, regex: str, use_cache: bool) -> None:
        """The index for a rule's `regex`; `db` is None when it has none. Cached on disk with the
        derivation itself (parsing a generic rule's regex costs more than loading the database)."""
        key = hashlib.sha256(json.dumps([CACHE_FORMAT, getattr(hyperscan, "__version__", "?"), "start", regex]).encode())
        path = cache.cache_dir() / f"start-{key.hexdigest()[:32]}.db"
        header, self.db_bytes = cache.cached(path, use_cache, lambda: _compile_start_entry(regex))
        self._load_db()
        # Kept with the database: working the table out parses the regex (~2M instructions a rule).
        first = header.get("first") if isinstance(header, dict) else None
        self.first = bytes.fromhex(first) if self.db is not None and first else None

    def matches(self, pattern: re.Pattern[bytes], data: bytes, windows: list[tuple[int, int]]) -> Iterable[re.Match[bytes]]:
        """`pattern.finditer(data, lo, hi)` for each window (whole lines)."""
        match = pattern.match
        db, scratch = self.db, self.db.scratch
        first = self.first
        for lo, hi in windows:
            if hi - lo < START_INDEX_FROM:
                yield from pattern.finditer(data, lo, hi)
                continue
            spans: list[tuple[int, int]] = []
            db.scan(data[lo:hi], _collect_span, 0, spans, scratch)
            if not spans:
                continue
            # Every match starts inside a reported [start, end): try those positions, in order, and
            # nothing else (a search would try every byte from the first of them to the line's end).
            spans.sort()
            nxt = 0  # positions before this (in the line) are done: tried, or inside a match
            for start, end in spans:
                p = start if start > nxt else nxt
                while p < end:
                    # A byte no match begins with is passed over without a match attempt (~3k each).
                    m = match(data, lo + p, hi) if first is None or first[data[lo + p]] else None
                    if m is None:
                        p += 1
                        continue
                    yield m
                    p = m.end() - lo
                    if p == m.start() - lo:  # empty (not for indexed rules): step on, as finditer does
                        p += 1
                nxt = p if p > nxt else nxt


def _collect_span(_id: int, start: int, end: int, _flags: int, spans: list[tuple[int, int]]) -> None:
    spans.append((start, end))


def _compile_start_entry(regex: str) -> tuple[dict[str, str | None], bytes]:
    """The cache entry of a start index: its first-byte table (hex) and its database."""
    db = _compile_start(regex)
    first = first_bytes(re.compile(regex.encode("utf-8"))) if db else None
    return {"first": first.hex() if first is not None else None}, db


def _compile_start(regex: str) -> bytes:
    """The serialized start database for `regex`, or b"" when it has none: no start expression,
    Hyperscan cannot report its starts, or `regex` can match empty (finditer's stepping after an empty
    match is not modelled)."""
    expr = start_expression(regex)
    try:
        if expr is None or sre_parse.parse(regex.encode("utf-8")).getwidth()[0] == 0:
            return b""
        db = hyperscan.Database()
        db.compile(expressions=[expr.encode("utf-8")], ids=[0], elements=1,
                   flags=[hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_MULTILINE])
        return hyperscan.dumpb(db)
    except Exception:
        return b""
