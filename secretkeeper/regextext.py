"""Reading regex source text (not compiling it): where a character class or a group ends.

The rule loader (confirmation patterns, below) and the engine (the expressions Hyperscan runs) both walk
pattern text and must step over `[...]` as a unit, including `[]...]`, `[^]...]` and escaped `\\]`.
"""

from __future__ import annotations


def class_end(pattern: str, i: int) -> int:
    """Index just past the character class that opens at `pattern[i] == "["`."""
    j = i + 1
    if pattern[j : j + 1] == "^":
        j += 1
    if pattern[j : j + 1] == "]":  # a `]` first in the class is a literal
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def atom_end(pattern: str, i: int) -> int:
    """Index just past the atom at `pattern[i]`: an escape, a whole character class, or one character.

    Every pass that rewrites pattern text steps with this, so `\\(` and `[(|]` are never read as syntax."""
    if pattern[i] == "\\":
        return i + 2
    if pattern[i] == "[":
        return class_end(pattern, i)
    return i + 1


def group_end(pattern: str, i: int) -> int:
    """Index just past the group that opens at `pattern[i] == "("`, or -1 when it is never closed."""
    depth, j = 0, i
    while j < len(pattern):
        c = pattern[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = class_end(pattern, j)
            continue
        depth += c == "("
        depth -= c == ")"
        j += 1
        if depth == 0:
            return j
    return -1


_LITERAL_ALT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def factor_alternations(pattern: str) -> str:
    """The same regex with every `(?:word|word|...)` group of plain literals written as a prefix tree.

    Python's `re` gives case-insensitive alternations no fast rejection: at each start position it enters
    every branch in turn, so a 45-word `(?i)(?:access|auth|...)` costs ~1 µs per byte of a line. Factored
    (`a(?:ccess|uth|...)|b(?:...)`), a position fails after one test per first letter. The language and
    the order in which alternatives are tried are unchanged: branches that start with different letters
    cannot match at the same position, and within a branch the original order is kept.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("(?:", i):
            j = pattern.find(")", i + 3)
            body = pattern[i + 3 : j] if j > 0 else ""
            words = body.split("|")
            if j > 0 and len(words) >= 2 and all(w and _LITERAL_ALT.issuperset(w) for w in words):
                out.append(f"(?:{_trie(words)})")
                i = j + 1
                continue
        j = atom_end(pattern, i)
        out.append(pattern[i:j])
        i = j
    return "".join(out)


def _trie(words: list[str]) -> str:
    groups: dict[str, list[str]] = {}  # by lower-cased first letter, in order of first appearance
    for w in words:
        groups.setdefault(w[:1].lower(), []).append(w)
    parts = []
    for group in groups.values():
        if len(group) == 1 or len({w[0] for w in group}) != 1:
            parts.append("|".join(group))  # one word, or first letters differing in case: as written
            continue
        rests = [w[1:] for w in group]
        if "" in rests[:-1]:  # an empty branch before others: factoring would change the try order
            parts.append("|".join(group))
        elif rests[-1] == "":
            inner = rests[:-1]
            sub = _trie(inner) if len(inner) > 1 else inner[0]
            parts.append(f"{group[0][0]}(?:{sub})?")
        else:
            parts.append(f"{group[0][0]}(?:{_trie(rests)})" if len(rests) > 1 else group[0])
    return "|".join(parts)
