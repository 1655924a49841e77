"""What a compiled pattern can match, read from its parse tree: width, newlines, first bytes, literal prefix.

Each answer is conservative (unknown -> the safe side), so the engine may use it to skip work, never to
miss a match.
"""

from __future__ import annotations

import re
from typing import Any
import re._constants as c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]

# How far back from a prefilter end offset a match may start, for patterns of unbounded width.
_MAX_LOOKBACK = 16384


def max_width(pattern: re.Pattern[bytes]) -> int:
    """The longest match `pattern` can make, capped at how far back the engine ever looks."""
    try:
        _lo, hi = sre_parse.parse(pattern.pattern, pattern.flags).getwidth()
    except Exception:
        return _MAX_LOOKBACK
    return min(int(hi), _MAX_LOOKBACK)


_NEWLINE_FREE_CATEGORIES = frozenset(
    ("CATEGORY_WORD", "CATEGORY_DIGIT", "CATEGORY_NOT_SPACE", "CATEGORY_UNI_WORD", "CATEGORY_UNI_DIGIT",
     "CATEGORY_UNI_NOT_SPACE")
)


def can_match_newline(pattern: re.Pattern[bytes]) -> bool:
    """False only when the pattern provably never consumes a newline (conservative: unknown -> True).

    A match of such a pattern lies on one line, so it can be confirmed on the prefilter hit's line alone.
    """
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return True
    dotall = bool(tree.state.flags & re.DOTALL)

    def walk(seq: list) -> bool:
        for op, av in seq:
            if op is c.LITERAL:
                found = av == 10
            elif op is c.NOT_LITERAL:
                found = av != 10
            elif op is c.ANY:
                found = dotall
            elif op is c.IN:
                found = _class_has_newline(av)
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                found = walk(av[2])
            elif op is c.SUBPATTERN:
                found = walk(av[3])
            elif op is c.BRANCH:
                found = any(walk(b) for b in av[1])
            elif op is c.ATOMIC_GROUP:
                found = walk(av)
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                found = False  # zero-width
            else:
                return True
            if found:
                return True
        return False

    return walk(tree)


def max_newlines(pattern: re.Pattern[bytes]) -> int | None:
    """The most newlines one match of `pattern` can consume, or None when unbounded or unknown.

    A match then starts at most that many lines before the line it ends on: the engine confirms a
    multi-line rule from there, not from its full width back (k8s-env-named-value: two lines, not 16 KB).
    Lookarounds count as zero-width, as for can_match_newline (the window ends at its line's end).
    """
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return None
    dotall = bool(tree.state.flags & re.DOTALL)

    def one(op: Any, av: Any) -> bool | None:
        """Whether a single-character item can match a newline (None: not a single-character item)."""
        if op is c.LITERAL:
            return av == 10
        if op is c.NOT_LITERAL:
            return av != 10
        if op is c.ANY:
            return dotall
        if op is c.IN:
            return _class_has_newline(av)
        return None

    def walk(seq: Any) -> int | None:
        total = 0
        for op, av in seq:
            hit = one(op, av)
            if hit is not None:
                total += 1 if hit else 0
                continue
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                inner = walk(av[2])
                if inner is None:
                    return None
                if inner:
                    if av[1] is c.MAXREPEAT:
                        return None
                    total += inner * av[1]
            elif op is c.SUBPATTERN:
                inner = walk(av[3])
                if inner is None:
                    return None
                total += inner
            elif op is c.BRANCH:
                counts = [walk(b) for b in av[1]]
                if any(n is None for n in counts):
                    return None
                total += max(counts, default=0)
            elif op is c.ATOMIC_GROUP:
                inner = walk(av)
                if inner is None:
                    return None
                total += inner
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue  # zero-width
            else:
                return None  # back-references, conditionals: unknown
        return total

    return walk(tree)


def _class_has_newline(items: Any) -> bool:
    negate = hit = False
    for op, av in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            hit |= av == 10
        elif op is c.RANGE:
            hit |= av[0] <= 10 <= av[1]
        elif op is c.CATEGORY:
            hit |= str(av) not in _NEWLINE_FREE_CATEGORIES
        else:
            return True
    return hit != negate


def literal_prefix(pattern: re.Pattern[bytes]) -> bytes:
    """The bytes every match of `pattern` starts with (case-sensitive), or b"" when there are none."""
    if pattern.flags & re.IGNORECASE:
        return b""
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return b""
    out = bytearray()
    for op, av in tree:
        if str(op) != "LITERAL":
            break
        out.append(av)
    return bytes(out)


_ASCII_WORD = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_CATEGORY_BYTES = {
    "CATEGORY_DIGIT": frozenset(b"0123456789"),
    "CATEGORY_SPACE": frozenset(b" \t\n\r\x0b\x0c"),
    "CATEGORY_WORD": _ASCII_WORD,
}


def first_bytes(pattern: re.Pattern[bytes]) -> bytes | None:
    """A 256-byte table, 1 at each byte a match of `pattern` can begin with; None when that cannot be
    worked out (or the pattern can match empty). Lookarounds and anchors at the start are skipped over,
    so the set is a superset of the true one: safe for ruling positions out."""

    class Unknown(Exception):
        pass

    def fold(chars: set[int], icase: bool) -> set[int]:
        return chars | {b ^ 0x20 for b in chars if 65 <= (b & ~0x20) <= 90} if icase else chars

    def in_class(items: list, icase: bool) -> set[int]:
        out: set[int] = set()
        negate = False
        for op, av in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                out.add(av)
            elif op is c.RANGE:
                out.update(range(av[0], av[1] + 1))
            elif op is c.CATEGORY:
                name = str(av)
                base = name.replace("_NOT_", "_")
                if base not in _CATEGORY_BYTES:
                    raise Unknown
                chars = _CATEGORY_BYTES[base]
                out.update(chars if name == base else set(range(256)) - chars)
            else:
                raise Unknown
        out = fold(out, icase)
        return set(range(256)) - out if negate else out

    def seq(items: list, icase: bool) -> tuple[set[int], bool]:
        """(first bytes, whether `items` can match empty)."""
        first: set[int] = set()
        for op, av in items:
            if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue  # zero-width: the next item decides
            if op is c.LITERAL:
                return first | fold({av}, icase), False
            if op is c.NOT_LITERAL:
                return first | (set(range(256)) - fold({av}, icase)), False
            if op is c.ANY:
                return set(range(256)), False
            if op is c.IN:
                return first | in_class(av, icase), False
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                sub, empty = seq(list(av[2]), icase)
                first |= sub
                if av[0] >= 1 and not empty:
                    return first, False
                continue
            if op in (c.SUBPATTERN, c.ATOMIC_GROUP):
                sub_items, flags = av, icase
                if op is c.SUBPATTERN:  # a group may turn case-folding on or off for its items
                    _group, add, remove, sub_items = av
                    flags = (icase or bool(add & re.IGNORECASE)) and not (remove & re.IGNORECASE)
                sub, empty = seq(list(sub_items), flags)
                first |= sub
                if not empty:
                    return first, False
                continue
            if op is c.BRANCH:
                empty_any = False
                for branch in av[1]:
                    sub, empty = seq(list(branch), icase)
                    first |= sub
                    empty_any |= empty
                if not empty_any:
                    return first, False
                continue
            raise Unknown
        return first, True

    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
        chars, empty = seq(list(tree), bool(tree.state.flags & re.IGNORECASE))
    except Exception:  # Unknown, or a pattern `re` itself cannot parse
        return None
    if empty or len(chars) == 256:
        return None
    return bytes(1 if b in chars else 0 for b in range(256))
