"""The detection engine: every rule compiled once, one multi-pattern pass, then confirmation.

1. Prefilter: all rule regexes in one Hyperscan database (exact where Hyperscan supports the pattern,
   `HS_FLAG_PREFILTER` approximation where it does not), so scanning cost does not grow with the rule
   count. Without Hyperscan, one combined regex of every rule's keywords does the same job, slower.
2. Confirm: the rule's own Python regex runs only in line-aligned windows around the prefilter hits,
   and on a hit line only where a rule's start database says a match can begin (`_StartIndex`).
3. Keep: secret group length, entropy floor, value filters, allowlists, validator, inline ignores.
4. Resolve overlaps: a generic rule yields to a specific rule that matched the same secret.

Rules gated on a path (credential files recognised by name) skip the prefilter and run when the path
matches; rules anchored `near` another rule run only around that rule's matches (paired secrets).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Sequence

import secretkeeper.engine.hscache as hscache
import secretkeeper.engine.rxcache as rxcache
from secretkeeper.filters import FILTERS, is_documented_example, is_placeholder, shannon_entropy
from secretkeeper.engine.pathmatch import PathMatcher
from secretkeeper.engine.regextext import atom_end, class_end, group_end
from secretkeeper.rules import Allowlist, Rule, confirmation_pattern
from secretkeeper.tabular import TABLE_SUFFIXES, named_value, table_cells
from secretkeeper.validators import registry as validator_registry

try:  # pragma: no cover - exercised through both backends in tests
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None

log = logging.getLogger(__name__)

# How far back from a prefilter end offset a match may start, for patterns of unbounded width.
_MAX_LOOKBACK = 16384
_ALLOW_MARKERS = (b"secretkeeper:allow", b"gitleaks:allow", b"pragma: allowlist secret", b"nosec: secret")
_ALLOW_NEXTLINE = b"pragma: allowlist nextline secret"
_ALLOW_RE = re.compile(b"|".join(re.escape(m) for m in _ALLOW_MARKERS))
_ALLOW_NEXTLINE_RE = re.compile(re.escape(_ALLOW_NEXTLINE))
CACHE_FORMAT = 9
# A trailing `CLASS{m,n}` (or `+`, `*`), optionally closing groups, at the very end of a pattern.
# Byte strings other stages ask about ("does this file hold a Kubernetes object / a certificate?"),
# answered by the prefilter's pass over the data instead of one more `in` search each.
MARKERS = (b"apiVersion", b"-----BEGIN CERTIFICATE-----")
_TAIL_RE = re.compile(r"(\[(?:\\.|[^\]\\])+\]|\\[wWdDsS]|\.)(\{(\d+),(\d*)\}|\+|\*)(\)*)$")


@dataclass(frozen=True, slots=True)
class Match:
    """A confirmed secret in a buffer. Offsets are into the scanned bytes; `line` is 1-based."""

    rule: Rule
    start: int  # of the secret
    end: int
    secret: bytes
    line: int
    match_start: int

    @property
    def secret_sha256(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()


def _max_width(pattern: re.Pattern[bytes]) -> int:
    try:
        import re._parser as sre_parse  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python < 3.11 layout
        import sre_parse  # type: ignore[no-redef]
    try:
        _lo, hi = sre_parse.parse(pattern.pattern, pattern.flags).getwidth()
    except Exception:
        return _MAX_LOOKBACK
    return min(int(hi), _MAX_LOOKBACK)


_NEWLINE_FREE_CATEGORIES = frozenset(
    ("CATEGORY_WORD", "CATEGORY_DIGIT", "CATEGORY_NOT_SPACE", "CATEGORY_UNI_WORD", "CATEGORY_UNI_DIGIT",
     "CATEGORY_UNI_NOT_SPACE")
)


def _can_match_newline(pattern: re.Pattern[bytes]) -> bool:
    """False only when the pattern provably never consumes a newline (conservative: unknown -> True).

    A match of such a pattern lies on one line, so it can be confirmed on the prefilter hit's line alone.
    """
    import re._constants as c  # type: ignore[import-not-found]
    import re._parser as sre_parse  # type: ignore[import-not-found]

    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return True
    dotall = bool(tree.state.flags & re.DOTALL)

    def in_class(items: list) -> bool:
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

    def walk(seq: list) -> bool:
        for op, av in seq:
            if op is c.LITERAL:
                found = av == 10
            elif op is c.NOT_LITERAL:
                found = av != 10
            elif op is c.ANY:
                found = dotall
            elif op is c.IN:
                found = in_class(av)
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


def _prefilter_expr(regex: str) -> str:
    """The pattern Hyperscan runs: a trailing variable repeat cut to its minimum.

    Hyperscan reports every end offset of every match, so `(?P<secret>[^\\s]{16,200})` at the end of a
    pattern costs up to 185 Python callbacks per secret. Cut to `{16}`, it reports the same match
    starts once each. Only done when the repeated atom cannot match a newline: the real match then ends
    on the same line, which the confirmation window (up to the end of that line) already covers.
    """
    m = _TAIL_RE.search(regex)
    if not m or regex[: m.start()].endswith("\\"):
        return regex
    atom, low = m.group(1), m.group(3)
    try:
        if re.fullmatch(atom.encode("utf-8"), b"\n"):
            return regex
    except re.error:
        return regex
    n = int(low) if low is not None else (1 if m.group(2) == "+" else 0)
    if n == 0:  # Hyperscan rejects `{0}`; dropping the atom could leave an empty pattern
        return regex
    return f"{regex[: m.start()]}{atom}{{{n}}}{m.group(5)}"


_FLAGS_RE = re.compile(r"^\(\?[aiLmsux]+\)")
_QUANT_RE = re.compile(r"(?:\*|\+|\?|\{\d*(?:,\d*)?\})[?+]?")
_TRAILING_QUANT_RE = re.compile(r"(?<![(\\])(?:\*|\+|\?|\{\d*(?:,\d*)?\})[?+]?$")
_ZERO_WIDTH = ("(?=", "(?!", "(?<=", "(?<!", "\\b", "\\B", "^", "$", "\\A", "\\Z", "\\z")


def _split_items(body: str) -> list[str] | None:
    """Top-level items (atom + quantifier) of a regex; None when it has a top-level `|` or is odd."""
    items: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "|":
            return None
        if ch == "(":
            j = group_end(body, i)
            if j < 0:
                return None
        else:
            j = atom_end(body, i) + (2 if body.startswith("\\x", i) else 0)  # `\xHH` is one atom
        q = _QUANT_RE.match(body, j)
        if q:
            j = q.end()
        if j > n:
            return None
        items.append(body[i:j])
        i = j
    return items


def _optional(item: str) -> bool:
    q = _TRAILING_QUANT_RE.search(item)  # the item's own quantifier, not a `(?:` inside it
    if not q or item.endswith("\\" + q.group(0)):
        return False
    quant = q.group(0)
    if quant in ("*", "?", "*?", "??", "*+", "?+"):
        return True
    m = re.fullmatch(r"\{(\d*),\d*\}[?+]?|\{(0)\}[?+]?", quant)
    return m is not None and (m.group(1) in ("", "0") if m.group(1) is not None else True)


def _zero_width(item: str) -> bool:
    return (item.startswith(_ZERO_WIDTH[:4]) and item.endswith(")")) or item in _ZERO_WIDTH[4:]


def _newline_free(item: str, flags: str) -> bool:
    try:
        return not _can_match_newline(re.compile((flags + item).encode("utf-8")))
    except re.error:
        return False


def _trim_for_prefilter(regex: str) -> str:
    """Drop what Hyperscan does not need to find every real match end.

    Leading optional items and zero-width assertions: a suffix of a match ends where the match ends.
    Trailing assertions and optional items that cannot span a line: the real end is then on the same
    line as the reported one, which every confirmation window covers. Leading `[\\w.-]{0,40}?`-style
    items and trailing lookaheads are what make a Hyperscan database slow (every position active) and
    noisy (a callback per byte of a long run).
    """
    m = _FLAGS_RE.match(regex)
    flags, body = (m.group(0), regex[m.end():]) if m else ("", regex)
    items = _split_items(body)
    if not items:
        return regex
    while len(items) > 1 and (_zero_width(items[0]) or _optional(items[0])):
        items.pop(0)
    while len(items) > 1 and (_zero_width(items[-1]) or (_optional(items[-1]) and _newline_free(items[-1], flags))):
        items.pop()
    trimmed = flags + "".join(items)
    try:
        if re.compile(trimmed.encode("utf-8")).match(b""):  # never hand Hyperscan an empty match
            return regex
    except re.error:
        return regex
    return trimmed


def _relax_repeats(expr: str) -> str:
    """Widen wide bounded repeats `{m,n}` (n - m >= 8) to `{m,}` for Hyperscan, and spell Python's `{,n}`
    as `{0,n}` (Hyperscan would match the text `{,n}`).

    Large bounded repeats dominate Hyperscan's compile time (seconds per pattern); the widened pattern
    matches a superset, so every real match end is still reported and the Python confirmation decides.
    Escapes and character classes are left alone.
    """
    out: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        if expr[i] == "{":
            m = _REPEAT_RE.match(expr, i)
            if m:
                lo, hi = int(m.group(1) or 0), m.group(2)
                if hi and int(hi) - lo >= 8:
                    out.append(f"{{{lo},}}" if lo else "*")
                    i = m.end()
                    continue
                if not m.group(1):  # Python's `{,n}`; Hyperscan reads it as the text "{,n}"
                    out.append(f"{{0,{hi}}}")
                    i = m.end()
                    continue
        j = atom_end(expr, i)
        out.append(expr[i:j])
        i = j
    return "".join(out)


_REPEAT_RE = re.compile(r"\{(\d*),(\d+)\}")
_INEXACT_OPS = ("ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS", "ATOMIC_GROUP", "POSSESSIVE_REPEAT")


def literal_prefix(pattern: re.Pattern[bytes]) -> bytes:
    """The bytes every match of `pattern` starts with (case-sensitive), or b"" when there are none."""
    import re._parser as sre_parse  # type: ignore[import-not-found]

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


def _needs_prefilter_mode(pattern: re.Pattern[bytes]) -> bool:
    """True when Hyperscan cannot run the pattern exactly (lookarounds, back-references...)."""
    import re._parser as sre_parse  # type: ignore[import-not-found]

    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return True

    def walk(seq: Any) -> bool:
        for op, av in seq:
            if str(op) in _INEXACT_OPS:
                return True
            if isinstance(av, (list, tuple)):
                for item in av:
                    if isinstance(item, sre_parse.SubPattern) and walk(item):
                        return True
                    if isinstance(item, list) and item and isinstance(item[0], sre_parse.SubPattern):
                        if any(walk(b) for b in item):
                            return True
            if isinstance(av, sre_parse.SubPattern) and walk(av):
                return True
        return False

    return walk(tree)


def _hs_source(rule: Rule) -> str:
    """The regex text a rule's Hyperscan expression is derived from."""
    return rule.prefilter or rule.regex


def hs_expression(regex: str) -> str:
    """The expression Hyperscan runs for a rule: a superset of `regex` whose matches end where the rule's
    do (or later on the same line), trimmed and relaxed for speed. Whether Hyperscan can run it exactly
    is decided on this text, not on `regex`: trimming removes most lookarounds."""
    return _relax_repeats(_prefilter_expr(_trim_for_prefilter(_consume_leading_lookbehinds(regex))))


def line_prefiltered(rule: Rule) -> bool:
    """Whether Hyperscan runs the rule's expression exactly and its matches never span lines: then the
    engine confirms it on its hit lines only, and its prefilter need only match on each match's line."""
    return (not _needs_prefilter_mode(re.compile(hs_expression(_hs_source(rule)).encode("utf-8")))
            and not _can_match_newline(rule.pattern))


_NEGATED_ESCAPES = {"\\w": "\\W", "\\W": "\\w", "\\d": "\\D", "\\D": "\\d", "\\s": "\\S", "\\S": "\\s"}


def _consume_leading_lookbehinds(regex: str) -> str:
    """`(?<![a-z])x` where nothing can precede it in a match becomes `(?:^|[^a-z])x`.

    Hyperscan has no lookbehind: in prefilter mode it drops it, leaving a bare `x` or `mj` to match
    everywhere. Consuming the character instead is exact for the match's end, which is all the prefilter
    reports. Only lookbehinds of one character class, at a position where a match starts, are rewritten.
    """
    out: list[str] = []
    m = _FLAGS_RE.match(regex)
    i = m.end() if m else 0
    out.append(regex[:i])
    starts = [True]  # per open group: did it open where a match starts?
    at_start, n = True, len(regex)
    while i < n:
        ch = regex[i]
        if regex.startswith(("(?<!", "(?<=", "(?=", "(?!"), i):
            j = group_end(regex, i)
            if j < 0:  # unbalanced: leave the rest as written
                out.append(regex[i:])
                break
            inner = regex[i + 4 : j - 1]
            negated = _negated_class(inner) if at_start and regex.startswith("(?<!", i) else None
            out.append(f"(?:^|{negated})" if negated else regex[i:j])
            at_start = False
            i = j
        elif ch == "(":
            head = _GROUP_HEAD_RE.match(regex, i)
            j = head.end() if head else i + 1
            starts.append(at_start)
            out.append(regex[i:j])
            i = j
        elif ch == "|":
            at_start = starts[-1]
            out.append(ch)
            i += 1
        else:  # an escape, a class, `)` or any other character: nothing can start after it
            if ch == ")" and len(starts) > 1:
                starts.pop()
            j = atom_end(regex, i)
            out.append(regex[i:j])
            at_start, i = False, j
    return "".join(out)


_GROUP_HEAD_RE = re.compile(r"\((?:\?:|\?P<\w+>|\?[aiLmsux-]+:)?")


def _negated_class(atom: str) -> str | None:
    """`[^...]` for a one-character atom (a class, an escape class or a plain character), else None."""
    if atom.startswith("[") and class_end(atom, 0) == len(atom):
        return "[" + atom[2:] if atom.startswith("[^") else "[^" + atom[1:]
    if atom in _NEGATED_ESCAPES:
        return _NEGATED_ESCAPES[atom]
    if len(atom) == 1 and atom.isalnum():
        return f"[^{atom}]"
    return None


# Shorter lines are searched by `re` from their start: a Hyperscan call on a line costs ~10k cycles
# (measured in cycles, not instructions: its set-up runs at about one instruction a cycle).
_START_INDEX_FROM = 32
_ANCHORS_WITHOUT_MULTILINE = ("\\A", "\\Z", "\\z")  # mean "buffer edge" even in multi-line mode


def start_expression(regex: str) -> str | None:
    """A Hyperscan expression whose match starts locate where `regex` can start matching, or None.

    It is the regex's leading items up to its first item that cannot match empty (and, if the prefix
    can still match empty, the following items until it cannot): `(?:pub)?[_.-]?(?:(?:access|...)[_.-]?token|...)`
    of a `...token = VALUE` rule. Every match of the regex begins with a match of this prefix, so with
    Hyperscan's leftmost start of match each real match start lies in some reported [start, end).
    Leading one-character lookbehinds are consumed as for the prefilter (a start one byte early is
    still a safe place to search from). None when the prefix is the whole regex or cannot be built.
    """
    import re._parser as sre_parse  # type: ignore[import-not-found]

    text = _consume_leading_lookbehinds(regex)
    m = _FLAGS_RE.match(text)
    flags, body = (m.group(0), text[m.end():]) if m else ("", text)
    items = _split_items(body)
    if not items or len(items) < 2 or "x" in flags:  # verbose: items are not read right
        return None
    for n in range(1, len(items)):
        if _optional(items[n - 1]) or _zero_width(items[n - 1]):
            continue
        prefix = flags + "".join(items[:n])
        try:
            lo, _hi = sre_parse.parse(prefix.encode("utf-8")).getwidth()
        except Exception:
            return None
        if lo > 0:
            if any(a in prefix for a in _ANCHORS_WITHOUT_MULTILINE):
                return None
            return _relax_repeats(_prefilter_expr(prefix))
    return None


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
    import re._constants as c  # type: ignore[import-not-found]
    import re._parser as sre_parse  # type: ignore[import-not-found]

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


class _StartIndex(hscache.Database):
    """Where a line rule's matches can start on its hit lines, found by Hyperscan (start of match).

    Python's `re` has no fast way to find where a pattern such as `(?i)(?:pub)?[_.-]?(?:access|...)token`
    begins: it tries the whole alternation at every byte of a line (~2,000 instructions a byte for the
    generic token rule). `matches` returns what `pattern.finditer` returns on each line, but tries only
    the positions inside the [start, end) spans of the prefix matches this database reports.
    """

    def __init__(self, regex: str, use_cache: bool) -> None:
        """The index for a rule's `regex`; `db` is None when it has none. Cached on disk with the
        derivation itself (parsing a generic rule's regex costs more than loading the database)."""
        key = hashlib.sha256(json.dumps([CACHE_FORMAT, getattr(_hs, "__version__", "?"), "start", regex]).encode())
        path = hscache.cache_dir() / f"start-{key.hexdigest()[:32]}.db"
        header, self.db_bytes = hscache.cached(path, use_cache, lambda: _compile_start_entry(regex))
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
            if hi - lo < _START_INDEX_FROM:
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
    import re._parser as sre_parse  # type: ignore[import-not-found]

    expr = start_expression(regex)
    try:
        if expr is None or sre_parse.parse(regex.encode("utf-8")).getwidth()[0] == 0:
            return b""
        db = _hs.Database()
        db.compile(expressions=[expr.encode("utf-8")], ids=[0], elements=1,
                   flags=[_hs.HS_FLAG_SOM_LEFTMOST | _hs.HS_FLAG_MULTILINE])
        return _hs.dumpb(db)
    except Exception:
        return b""


class _HsGroup(hscache.Database):
    """One Hyperscan block-mode database for a slice of the rules, cached on disk by content hash.

    The built-in catalog and the custom rules of a config are separate groups, so adding a custom rule
    compiles only that rule, never the whole catalog again.
    """

    def __init__(self, rules: Sequence[Rule], offset: int, use_cache: bool,
                 markers: Sequence[bytes] = ()) -> None:
        self.offset = offset
        self.size = len(rules)  # database ids past the rules are `markers` (literal, one report per scan)
        self.markers = tuple(markers)
        key = hashlib.sha256(
            json.dumps([CACHE_FORMAT, getattr(_hs, "__version__", "?"), [_hs_source(r) for r in rules],
                        [list(r.keywords) for r in rules], [m.hex() for m in self.markers]]).encode()
        ).hexdigest()[:32]
        self.cache_path = hscache.cache_dir() / f"hs-{key}.db"
        # per rule: "exact" | "prefilter" | "keywords" | "always"
        self.modes, self.db_bytes = hscache.cached(self.cache_path, use_cache, lambda: self._compile(rules, self.markers))
        self._load_db()

    @staticmethod
    def _compile(rules: Sequence[Rule], markers: Sequence[bytes] = ()) -> tuple[list[str], bytes]:
        texts = [hs_expression(_hs_source(r)) for r in rules]
        exprs = [t.encode("utf-8") for t in texts]
        modes = ["prefilter" if _needs_prefilter_mode(re.compile(e)) else "exact" for e in exprs]
        flags = [_hs.HS_FLAG_PREFILTER if m == "prefilter" else 0 for m in modes]
        if not exprs:
            return modes, b""
        marker_exprs = [re.escape(m) for m in markers]
        marker_ids = list(range(len(rules), len(rules) + len(markers)))
        marker_flags = [_hs.HS_FLAG_SINGLEMATCH] * len(markers)
        try:  # the common case: one compile for the whole group
            db = _hs.Database()
            db.compile(expressions=exprs + marker_exprs, ids=list(range(len(exprs))) + marker_ids,
                       elements=len(exprs) + len(markers), flags=flags + marker_flags)
            return modes, _hs.dumpb(db)
        except Exception:
            pass
        patterns: list[bytes] = list(marker_exprs)
        ids: list[int] = list(marker_ids)
        pflags: list[int] = list(marker_flags)
        for i, (rule, expr) in enumerate(zip(rules, exprs)):
            mode = "always"
            for name, flag in (("exact", 0), ("prefilter", _hs.HS_FLAG_PREFILTER)):
                if name == "exact" and modes[i] == "prefilter":
                    continue
                try:
                    _hs.Database().compile(expressions=[expr], ids=[i], elements=1, flags=[flag])
                except Exception:
                    continue
                patterns.append(expr)
                ids.append(i)
                pflags.append(flag)
                mode = name
                break
            if mode == "always" and rule.keywords:
                mode = "keywords"
                for kw in rule.keywords:
                    patterns.append(re.escape(kw.encode("utf-8")))
                    ids.append(i)
                    pflags.append(_hs.HS_FLAG_CASELESS)
            modes[i] = mode
        if not patterns:
            return modes, b""
        db = _hs.Database()
        db.compile(expressions=patterns, ids=ids, elements=len(patterns), flags=pflags)
        return modes, _hs.dumpb(db)


class _HyperscanPrefilter:
    """All prefilterable rules: built-in and custom rules in separate Hyperscan databases."""

    def __init__(self, rules: Sequence[Rule], *, use_cache: bool = True,
                 catalog: Sequence[Rule] | None = None) -> None:
        """With `catalog` (the shipped rules), the first database is always the whole catalog — compiled
        once, cached — and rules a config disables or overrides are masked at hit time, so a config
        never forces a recompile of the catalog; only its own rules are compiled."""
        assert _hs is not None
        if catalog is None:
            base = [r for r in rules if r.family != "custom"]
            extra = [r for r in rules if r.family == "custom"]
            active: list[Rule | None] = list(base)
        else:
            base = list(catalog)
            by_id = {r.id: r for r in rules}
            active = []
            for r in base:
                mine = by_id.pop(r.id, None)
                same = mine is not None and _hs_source(mine) == _hs_source(r)
                active.append(mine if same else None)
                if mine is not None and not same:
                    by_id[r.id] = mine
            extra = list(by_id.values())
        self.rules: list[Rule | None] = active + extra  # None: in the catalog database but not in use
        self.groups = [g for g in (_HsGroup(base, 0, use_cache, MARKERS) if base else None,
                                   _HsGroup(extra, len(base), use_cache) if extra else None) if g]
        self.modes = [m for g in self.groups for m in g.modes]
        self.always = [i for i, m in enumerate(self.modes) if m == "always" and self.rules[i] is not None]
        self.masked = any(r is None for r in self.rules)  # identity test: Rule.__eq__ is costly
        self.markers = frozenset(m for g in self.groups for m in g.markers)

    @property
    def cache_path(self) -> Path | None:
        return self.groups[0].cache_path if self.groups else None

    def hits(self, data: bytes, markers: set[bytes] | None = None) -> dict[int, list[int]]:
        """Rule index -> end offsets of its prefilter matches; `markers` collects the MARKERS seen."""
        found: dict[int, list[int]] = {i: [] for i in self.always} if self.always else {}
        if not data:
            return found
        # What the callback needs, in a list rather than a closure: most files have no hit, and a
        # closure (its cells and function object) cost more than the scan of a small file.
        ctx = [found, {}, data, markers, 0, 0, ()]
        for group in self.groups:
            if group.db is None:
                continue
            ctx[4], ctx[5], ctx[6] = group.offset, group.size, group.markers
            group.db.scan(data, _on_hit, 0, ctx, group.db.scratch)  # positional: keywords cost ~3k instructions
        if len(found) != len(self.always) and self.masked:
            return {i: ends for i, ends in found.items() if self.rules[i] is not None}
        return found


def _on_hit(rid: int, _start: int, end: int, _flags: int, ctx: list[Any]) -> None:
    """A prefilter match: record its end, at most one per line for each rule."""
    found, last, data, markers, offset, size, names = ctx
    if rid >= size:  # a marker (literal, one report per scan)
        if markers is not None:
            markers.add(names[rid - size])
        return
    rid += offset
    prev = last.get(rid)  # rule -> (last kept end, end of its line)
    if prev is not None and prev[0] <= end <= prev[1]:
        return  # same line as the last kept hit: that hit's window already covers it
    ends = found.get(rid)
    if ends is None:
        found[rid] = [end]
    else:
        ends.append(end)  # one per line at most; _windows decides what many hits mean
    nl = data.find(b"\n", end)
    last[rid] = (end, len(data) if nl < 0 else nl)


class _KeywordPrefilter:
    """Fallback without Hyperscan: one combined, case-insensitive regex of every rule's keywords."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = rules
        self.by_keyword: dict[bytes, list[int]] = {}
        self.always: list[int] = []
        for i, rule in enumerate(rules):
            if not rule.keywords:
                self.always.append(i)
            for kw in rule.keywords:
                self.by_keyword.setdefault(kw.lower().encode("utf-8"), []).append(i)
        # Matches don't overlap, so a hit on "password" hides "pass" inside it: a keyword also stands
        # for every keyword it contains.
        direct = {k: list(v) for k, v in self.by_keyword.items()}
        for kw in self.by_keyword:
            self.by_keyword[kw] = sorted({i for other, ids in direct.items() if other in kw for i in ids})
        alternation = b"|".join(re.escape(k) for k in sorted(self.by_keyword, key=len, reverse=True))
        self.combined = re.compile(alternation, re.I) if alternation else None
        self.modes = ["keywords" if r.keywords else "always" for r in rules]

    def hits(self, data: bytes, markers: set[bytes] | None = None) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {i: [] for i in self.always}
        if self.combined is None:
            return found
        for kw in {m.group(0).lower() for m in self.combined.finditer(data)}:
            for i in self.by_keyword.get(kw, ()):
                found[i] = []  # keywords give no position: confirm over the whole buffer
        return found


class Detector:
    """Scans byte buffers with a fixed rule set. Build once, reuse for every buffer (and pickle to workers)."""

    def __init__(self, rules: Sequence[Rule], *, backend: str = "auto", use_cache: bool = True,
                 allowlist: Allowlist | None = None, catalog: Sequence[Rule] | None = None) -> None:
        self.rules = list(rules)
        self.allowlist = allowlist or Allowlist()
        self.path_rules = [r for r in self.rules if r.path]
        self._paths = PathMatcher([r.path_pattern for r in self.path_rules], use_cache=use_cache)
        self.near_rules = [r for r in self.rules if r.near and not r.path]
        if catalog is not None:  # their compiled confirmation regexes come from the cache
            rxcache.register([r.regex for r in catalog], confirmation_pattern, use_cache)
        prefilterable = [r for r in self.rules if not r.path and not r.near]
        if backend == "auto":
            backend = "hyperscan" if _hs is not None else "re"
        if backend == "hyperscan" and _hs is None:
            raise RuntimeError("the hyperscan backend is not installed")
        self.backend = backend
        self.prefilter: _HyperscanPrefilter | _KeywordPrefilter
        if backend == "hyperscan":
            shipped = [r for r in catalog if not r.path and not r.near] if catalog is not None else None
            self.prefilter = _HyperscanPrefilter(prefilterable, use_cache=use_cache, catalog=shipped)
        else:
            self.prefilter = _KeywordPrefilter(prefilterable)
        # Rules whose Hyperscan end offsets cover every real match end (exact mode) and whose matches
        # never span lines are confirmed on the hit lines only, however many there are. Both facts are
        # worked out on a rule's first hit, not at start-up (pre-commit runs must start instantly).
        modes = getattr(self.prefilter, "modes", [])
        self._exact = {r.id for r, mode in zip(self.prefilter.rules, modes) if r is not None and mode == "exact"}
        self._line_rule: dict[str, bool] = {}
        self._widths: dict[str, int] = {}
        self._starts: dict[str, _StartIndex | None] = {}
        self._literals: dict[str, bytes] = {}  # path rules: the literal their matches start with
        self._use_cache = use_cache
        self._validators = validator_registry()
        self._unmarked = [m for m in MARKERS if m not in getattr(self.prefilter, "markers", ())]

    def _is_line_rule(self, rule: Rule) -> bool:  # line_prefiltered(rule), as this engine compiled it
        known = self._line_rule.get(rule.id)
        if known is None:
            known = self._line_rule[rule.id] = rule.id in self._exact and not _can_match_newline(rule.pattern)
        return known

    def _start_index(self, rule: Rule) -> _StartIndex | None:
        """The rule's start database (compiled on its first hit, then cached), or None when it has none."""
        if rule.id in self._starts:
            return self._starts[rule.id]
        index = _StartIndex(rule.regex, self._use_cache) if self.backend == "hyperscan" else None
        if index is not None and index.db is None:
            index = None
        self._starts[rule.id] = index
        return index

    def _width(self, rule: Rule) -> int:
        width = self._widths.get(rule.id)
        if width is None:
            width = self._widths[rule.id] = _max_width(rule.pattern)
        return width

    # -- public -----------------------------------------------------------------------------------------
    def path_rules_for(self, path: str) -> list[Rule]:
        """Credential-file rules that apply to `path` (also used to keep binary keystores in scope)."""
        if not self.path_rules:
            return []
        hits = self._paths.matching(path)
        return [self.path_rules[i] for i in hits] if hits else []

    def scan(self, data: bytes, path: str | None = None, *, resolve: bool = True,
             markers: set[bytes] | None = None, path_rules: Sequence[Rule] | None = None,
             tables: bool = True) -> list[Match]:
        """All confirmed matches in `data` (scanned as if it lived at `path`), in offset order.

        `resolve=False` keeps overlapping matches of several rules (rule self-tests use it). `markers`,
        when given, receives the MARKERS that occur in `data`. `path_rules`, when given, is
        `path_rules_for(path)` from a caller that has also checked the allowlist for `path` (a file scan
        asks both before it reads the file).
        """
        if not data:
            return []
        if path_rules is None:
            if self.allowlist.allows_path(path):
                return []
            path_rules = self.path_rules_for(path) if path is not None else ()
        found: list[Match] = []
        hits = self.prefilter.hits(data, markers)
        if markers is not None and self._unmarked:
            markers.update(m for m in self._unmarked if m in data)
        table = tables and path is not None and path.endswith(TABLE_SUFFIXES)  # CSV, SQL INSERTs
        if not hits and not path_rules and not table:
            return found  # most files: nothing to confirm, no line index to build
        newlines = _NewlineIndex(data)
        for idx, ends in hits.items():
            rule = self.prefilter.rules[idx]
            if rule.allowlist.allows_path(path):
                continue
            found.extend(self._confirm(rule, data, ends, newlines, path))
        for rule in path_rules:
            if rule.allowlist.allows_path(path):
                continue
            # A literal the rule starts with, looked for first: `bytes.find` passes over a file without it
            # several times faster than the regex does (CloudFormation rules read every YAML and JSON file).
            literal = self._literals.get(rule.id)
            if literal is None:
                literal = self._literals[rule.id] = literal_prefix(rule.pattern)
            if not literal or data.find(literal) >= 0:
                found.extend(self._confirm(rule, data, [], newlines, path))
        if table:
            found.extend(self._table_matches(data, path, newlines))
        if self.near_rules and found:
            found.extend(self._near(data, found, newlines, path))
        return _resolve_overlaps(found) if resolve else found

    # -- internals --------------------------------------------------------------------------------------
    def _windows(self, rule: Rule, data: bytes, ends: list[int]) -> list[tuple[int, int]]:
        if ends and self._is_line_rule(rule):  # the hit lines, newline included for lookaheads
            lines: list[tuple[int, int]] = []
            for end in sorted(ends):
                lo = data.rfind(b"\n", 0, end) + 1
                if lines and lo < lines[-1][1]:
                    continue
                hi = data.find(b"\n", end)
                lines.append((lo, len(data) if hi < 0 else hi + 1))
            return lines
        if not ends:  # keyword prefilter or path-gated rule: no positions, the whole buffer
            return [(0, len(data))]
        back = self._width(rule)
        spans: list[tuple[int, int]] = []
        for end in sorted(ends):
            lo = data.rfind(b"\n", 0, max(0, end - back)) + 1
            hi = data.find(b"\n", end)
            hi = len(data) if hi < 0 else hi
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
            else:
                spans.append((lo, hi))
        return spans

    def _confirm(self, rule: Rule, data: bytes, ends: list[int], newlines: _NewlineIndex,
                 path: str | None, windows: Iterable[tuple[int, int]] | None = None) -> list[Match]:
        out: list[Match] = []
        seen: set[tuple[int, int]] = set()
        group = rule.secret_group
        starts = None
        if windows is None:
            windows = self._windows(rule, data, ends)
            # The start database only serves lines long enough for it: on short hit lines alone (most
            # files, a pre-commit run) none is loaded or compiled.
            if ends and self._is_line_rule(rule) and any(hi - lo >= _START_INDEX_FROM for lo, hi in windows):
                starts = self._start_index(rule)
        pattern = rule.pattern
        found = (starts.matches(pattern, data, windows) if starts is not None
                 else (m for lo, hi in windows for m in pattern.finditer(data, lo, hi)))
        for m in found:
            start, end = m.span(group)
            if start < 0 or (start, end) in seen:
                continue
            seen.add((start, end))
            secret = data[start:end]
            if not self._keep(rule, secret, m.group(0), data, newlines, start, m.start()):
                continue
            out.append(Match(rule, start, end, secret, newlines.line(start), m.start()))
        return out

    def _keep(self, rule: Rule, secret: bytes, whole: bytes, data: bytes, newlines: _NewlineIndex,
              start: int, match_start: int) -> bool:
        stripped = secret.strip()
        if len(stripped) < max(rule.min_length, 1):
            return False
        # The placeholder filter first: templates and placeholders (`${DB_PASSWORD}`) are most of what
        # generic rules match, and it rejects them in a few thousand instructions. The entropy (~20k)
        # last: it rejects few candidates the filters let through. The order changes the cost, never
        # the verdict.
        if "placeholder" in rule.filters and is_placeholder(stripped, whole):
            return False
        for name in rule.filters:
            if name != "placeholder" and FILTERS[name](stripped, whole):
                return False
        if rule.entropy is not None and shannon_entropy(stripped) < rule.entropy:
            return False
        if is_documented_example(stripped):
            return False
        if rule.generic and _generic_context_rejects(data, match_start, start, stripped):
            return False
        if rule.allowlist.allows_secret(stripped) or self.allowlist.allows_secret(stripped):
            return False
        if rule.validator and not self._validators[rule.validator](stripped, whole):
            return False
        return not _inline_allowed(data, newlines, match_start, start + len(secret))

    def _table_matches(self, data: bytes, path: str, newlines: _NewlineIndex) -> list[Match]:
        """Secrets in the cells of secret-like columns (secretkeeper.tabular), each read as
        `column = "value"` by the same rules and reported where the value is in `data`."""
        out: list[Match] = []
        for name, value, offset in table_cells(data, path):
            named = named_value(name, value)
            if named is None:
                continue
            text, at = named
            for m in self.scan(text, path, path_rules=(), tables=False):
                if m.start < at:
                    continue
                start = offset + m.start - at
                if not _inline_allowed(data, newlines, start, start + len(m.secret)):
                    out.append(Match(m.rule, start, start + len(m.secret), m.secret, newlines.line(start), start))
        return out

    def _near(self, data: bytes, found: list[Match], newlines: _NewlineIndex,
              path: str | None) -> list[Match]:
        out: list[Match] = []
        for rule in self.near_rules:
            anchors = [m for m in found if m.rule.id in rule.near.rules]
            if not anchors:
                continue
            if rule.allowlist.allows_path(path):
                continue
            spans = []
            for a in anchors:
                spans.append((newlines.line_start(a.line - rule.near.lines),
                              newlines.line_end(a.line + rule.near.lines)))
            out.extend(self._confirm(rule, data, [], newlines, path, windows=_merge(spans)))
        return out


class _NewlineIndex:
    """Line numbers and line bounds for offsets, built lazily (most buffers have no match)."""

    __slots__ = ("_counted", "_last", "_nl", "data")
    _COUNT_FIRST = 64  # the first lookups count newlines in C; the index pays off only after that

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._nl: list[int] | None = None
        self._counted = 0
        self._last = (0, 1)  # (offset, line) of the last counted lookup: counting resumes from there

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


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


# What a generic rule's key can sit inside without being assigned a value there: a shell parameter
# expansion that fails or substitutes (`${DB_PASSWORD:?must be set}`, `${X:+--password}`; a default,
# `${X:-value}`, is a value) and an ARN (`arn:aws:secretsmanager:us-east-1:1:secret:prod/db`).
_EXPANSION_RE = re.compile(rb"\$\{[\w.]{0,64}\Z")
_ARN_RE = re.compile(rb"\barn:[\w-]{1,32}:[\w-]{1,64}:[\w-]{0,32}:\d{0,12}:[\w./-]{0,64}\Z")
# A digest under a key that a hash word qualifies: Helm's `checksum/secret: <sha256>` annotations.
_HASH_QUALIFIER_RE = re.compile(rb"(?i)(?:checksum|digest|hash|sha(?:1|256|512)?)[/._-]?\Z")
_HEX_DIGEST_RE = re.compile(rb"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}")


def _generic_context_rejects(data: bytes, match_start: int, secret_start: int, secret: bytes) -> bool:
    """Whether the text before a generic rule's match puts its key in such a place (bounded searches
    ending where the match starts)."""
    lo = max(0, match_start - 200)
    if data[secret_start:secret_start + 1] in (b"?", b"+") and _EXPANSION_RE.search(data, lo, match_start):
        return True
    if _HEX_DIGEST_RE.fullmatch(secret) and _HASH_QUALIFIER_RE.search(data, max(0, match_start - 16), match_start):
        return True
    return _ARN_RE.search(data, lo, match_start) is not None


def _inline_allowed(data: bytes, newlines: _NewlineIndex, start: int, end: int) -> bool:
    # Searched in place: `marker in text` per marker cost a slice and ~2,500 instructions each (bytes'
    # `in` first tries the needle as an int), on every candidate match.
    lo = data.rfind(b"\n", 0, start) + 1
    hi = data.find(b"\n", end)
    if _ALLOW_RE.search(data, lo, len(data) if hi < 0 else hi):
        return True
    return lo > 0 and _ALLOW_NEXTLINE_RE.search(data, data.rfind(b"\n", 0, lo - 1) + 1, lo) is not None


def _resolve_overlaps(matches: list[Match]) -> list[Match]:
    """One finding per secret. Specific rules rank before generic ones (and the `generic` family after
    other generic rules such as credential files), then higher severity, then the
    wider match (more context: a service-account file over the bare key inside it). A generic match
    overlapping any kept match is dropped; two specific matches that mostly cover the same bytes (80% of
    the shorter) are one secret, reported once."""
    if len(matches) < 2:
        return sorted(matches, key=lambda m: (m.start, m.rule.id))
    ranked = sorted(matches, key=lambda m: (m.rule.generic, m.rule.family == "generic", -m.rule.severity.rank,
                                            -(m.end - m.start), m.rule.id))
    # Kept matches by start offset: only those starting within the longest kept match's length before
    # `m` can overlap it (comparing with every kept match was quadratic: minutes for a dump of 10k hashes).
    starts: list[int] = []
    kept: list[Match] = []
    longest = 0
    for m in ranked:
        duplicate = False
        for k in kept[bisect_left(starts, m.start - longest):bisect_left(starts, m.end)]:
            overlap = min(k.end, m.end) - max(k.start, m.start)
            if overlap <= 0:
                continue
            if m.rule.generic or overlap >= 0.8 * min(k.end - k.start, m.end - m.start):
                duplicate = True
                break
        if not duplicate:
            i = bisect_right(starts, m.start)
            starts.insert(i, m.start)
            kept.insert(i, m)
            longest = max(longest, m.end - m.start)
    return sorted(kept, key=lambda m: (m.start, m.rule.id))
