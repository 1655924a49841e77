"""The expressions Hyperscan runs for rules, shaped from their regex text.

A rule's Hyperscan expression need not match what the rule matches, only end where each of its matches
ends (or later on the same line): the Python regex confirms. So its text is trimmed, relaxed and
rewritten for Hyperscan's speed and syntax. A rule's start expression (for its start index) is the
prefix every match begins with.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]
from typing import Any

from secretkeeper.engine.regexfacts import can_match_newline
from secretkeeper.regextext import atom_end, class_end, group_end
from secretkeeper.rules import Rule


def hs_source(rule: Rule) -> str:
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
    return (not needs_prefilter_mode(re.compile(hs_expression(hs_source(rule)).encode("utf-8")))
            and not can_match_newline(rule.pattern))


_INEXACT_OPS = ("ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS", "ATOMIC_GROUP", "POSSESSIVE_REPEAT")


def needs_prefilter_mode(pattern: re.Pattern[bytes]) -> bool:
    """True when Hyperscan cannot run the pattern exactly (lookarounds, back-references...)."""
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


# A trailing `CLASS{m,n}` (or `+`, `*`), optionally closing groups, at the very end of a pattern.
_TAIL_RE = re.compile(r"(\[(?:\\.|[^\]\\])+\]|\\[wWdDsS]|\.)(\{(\d+),(\d*)\}|\+|\*)(\)*)$")


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
        return not can_match_newline(re.compile((flags + item).encode("utf-8")))
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


_ANCHOR_AS_ALTERNATIVE_RE = re.compile(r"\(\?:[\^$]\||\|[\^$]\)")  # `(?:^|...)`, `...|$)`


def edge_anchored(regex: str) -> bool:
    """Whether `regex` may need the very start or end of the scanned buffer, so that it matches
    differently where buffers are joined by a newline, NUL, newline (engine.batch).

    `\\A`, `\\Z` and `\\z` always do; `^` does not in a multi-line rule, and `^`/`$` do not as an
    alternative next to another branch (`(?:^|[\\s...])`): the separator's newlines satisfy those.
    """
    flags = _FLAGS_RE.match(regex)
    multiline = bool(flags and "m" in flags.group(0))
    for pos in _anchor_offsets(regex):
        if pos < 0 or not ((multiline and regex[pos] == "^")
                           or _ANCHOR_AS_ALTERNATIVE_RE.search(regex[max(0, pos - 3) : pos + 2])):
            return True
    return False


def _anchor_offsets(regex: str) -> list[int]:
    """Offsets of `^` and `$` outside character classes; -1 for each `\\A`, `\\Z`, `\\z`."""
    out, i = [], 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            if regex[i + 1 : i + 2] in ("A", "Z", "z"):
                out.append(-1)
            i += 2
            continue
        if ch == "[":
            i = class_end(regex, i)
            continue
        if ch in "^$":
            out.append(i)
        i += 1
    return out
