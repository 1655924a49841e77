"""Confirmation: each rule's own Python regex, run only in windows around its prefilter hits.

A rule that Hyperscan runs exactly and whose matches never span lines (a line rule) is confirmed on its
hit lines alone, and on a long hit line only where its start index says a match can begin. Other rules
get windows reaching back as far as their longest match; rules without positions (keyword prefilter,
path-gated rules) the whole buffer. What the regex finds, the match policy keeps or drops.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from secretkeeper.engine.match import Match
from secretkeeper.engine.newlines import NewlineIndex
from secretkeeper.engine.policy import MatchPolicy
from secretkeeper.engine.regexfacts import can_match_newline, max_newlines, max_width
from secretkeeper.engine.startindex import START_INDEX_FROM, StartIndex
from secretkeeper.rules import Rule

Window = tuple[int, int]  # [lo, hi) in the scanned buffer


# A shell or compose parameter expansion up to its operator (`${DB_PASSWORD:` of `${DB_PASSWORD:-dev}`).
_EXPANSION_KEY_RE = re.compile(rb"\$\{[A-Za-z_][\w.]*:\Z")


class Confirmer:
    """Confirms rules' prefilter hits in one engine; what it learns about a rule is worked out on the
    rule's first hit, not at start-up (pre-commit runs must start instantly)."""

    def __init__(self, policy: MatchPolicy, exact: set[str], *, start_indexes: bool, use_cache: bool) -> None:
        """`exact`: ids of the rules whose prefilter hits are real match ends (Hyperscan runs them
        exactly); `start_indexes`: whether Hyperscan is there to build start indexes with."""
        self.policy = policy
        self._exact = exact
        self._start_indexes = start_indexes
        self._use_cache = use_cache
        self._line_rule: dict[str, bool] = {}
        self._widths: dict[str, int] = {}
        self._newlines: dict[str, int | None] = {}  # newlines one match can hold (None: unbounded)
        self._starts: dict[str, StartIndex | None] = {}

    def confirm(self, rule: Rule, data: bytes, ends: list[int], newlines: NewlineIndex,
                windows: Iterable[Window] | None = None) -> list[Match]:
        """The kept matches of `rule` around the prefilter end offsets `ends` (or in `windows`)."""
        out: list[Match] = []
        seen: set[tuple[int, int]] = set()
        group = rule.secret_group
        starts = None
        if windows is None:
            windows = self.windows(rule, data, ends)
            # The start database only serves lines long enough for it: on short hit lines alone (most
            # files, a pre-commit run) none is loaded or compiled.
            if ends and self.is_line_rule(rule) and any(hi - lo >= START_INDEX_FROM for lo, hi in windows):
                starts = self.start_index(rule)
        pattern = rule.pattern
        found = (starts.matches(pattern, data, windows) if starts is not None
                 else (m for lo, hi in windows for m in pattern.finditer(data, lo, hi)))
        keep = self.policy.keep
        for m in found:
            start, end = m.span(group)
            if start < 0 or (start, end) in seen:
                continue
            if data[start : start + 1] in b"-=" and data[end - 1 : end] == b"}" and end - start > 2 \
                    and _EXPANSION_KEY_RE.search(data, max(0, start - 80), start):
                start, end = start + 1, end - 1  # `${NAME:-default}` read with NAME as the key: the default
            seen.add((start, end))
            secret = data[start:end]
            if not keep(rule, secret, m.group(0), newlines, start, m.start()):
                continue
            out.append(Match(rule, start, end, secret, newlines.line(start), m.start()))
        return out

    def windows(self, rule: Rule, data: bytes, ends: list[int]) -> list[Window]:
        # Each line's bounds are searched once, whatever the number of hits on it: per-hit searches made
        # a long line with many hits (minified code, JSON on one line) quadratic.
        if ends and self.is_line_rule(rule):  # the hit lines, newline included for lookaheads
            lines: list[Window] = []
            for end in sorted(ends):
                if lines and end < lines[-1][1]:
                    continue
                lo = data.rfind(b"\n", 0, end) + 1
                if lines and lo < lines[-1][1]:
                    continue
                hi = data.find(b"\n", end)
                lines.append((lo, len(data) if hi < 0 else hi + 1))
            return lines
        if not ends:  # keyword prefilter or path-gated rule: no positions, the whole buffer
            return [(0, len(data))]
        back = self._width(rule)
        lines = self._lines(rule)
        spans: list[Window] = []
        for end in sorted(ends):
            if spans and end <= spans[-1][1]:  # within the last span: its line end is this hit's too
                continue
            lo = max(0, end - back)
            if lines is not None:
                # A match holds at most `lines` newlines: it starts no earlier than that many lines
                # before the hit's line (however wide it may be: `[ \t]*` makes the width unbounded).
                at = end
                for _ in range(lines + 1):
                    at = data.rfind(b"\n", 0, at)
                    if at < 0:
                        break
                lo = max(lo, at + 1)
            if not spans or lo > spans[-1][1]:
                lo = data.rfind(b"\n", 0, lo) + 1
            hi = data.find(b"\n", end)
            hi = len(data) if hi < 0 else hi
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
            else:
                spans.append((lo, hi))
        return spans

    def is_line_rule(self, rule: Rule) -> bool:
        """`line_prefiltered(rule)`, as this engine compiled it."""
        known = self._line_rule.get(rule.id)
        if known is None:
            known = self._line_rule[rule.id] = rule.id in self._exact and not can_match_newline(rule.pattern)
        return known

    def start_index(self, rule: Rule) -> StartIndex | None:
        """The rule's start database (compiled on its first hit, then cached), or None when it has none."""
        if rule.id in self._starts:
            return self._starts[rule.id]
        index = StartIndex(rule.regex, self._use_cache) if self._start_indexes else None
        if index is not None and index.db is None:
            index = None
        self._starts[rule.id] = index
        return index

    def _lines(self, rule: Rule) -> int | None:
        if rule.id not in self._newlines:
            self._newlines[rule.id] = max_newlines(rule.pattern)
        return self._newlines[rule.id]

    def _width(self, rule: Rule) -> int:
        width = self._widths.get(rule.id)
        if width is None:
            width = self._widths[rule.id] = max_width(rule.pattern)
        return width


def merge_windows(spans: list[Window]) -> list[Window]:
    """The union of `spans`, as sorted disjoint windows."""
    out: list[Window] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
