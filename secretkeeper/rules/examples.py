"""Run every rule's `examples.true` / `examples.false` through the real engine.

Used by `secretkeeper rules test` and by the test-suite. Each example is scanned on its own, as a file at
its own `path` (an example written as a `{path, text}` table), else `examples.path` (or `example.txt`), by a detector holding the whole catalog, with overlap resolution off:
a true example must produce a match of its rule, a false example must not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable

from secretkeeper.engine import Detector, line_prefiltered
from secretkeeper.rules import Rule

DEFAULT_EXAMPLE_PATH = "example.txt"


@dataclass(frozen=True)
class ExampleFailure:
    rule_id: str
    expected: bool  # True: should have matched
    index: int
    reason: str

    def __str__(self) -> str:
        kind = "true" if self.expected else "false"
        return f"{self.rule_id}: examples.{kind}[{self.index}] {self.reason}"


def check_rule(detector: Detector, rule: Rule) -> list[ExampleFailure]:
    failures: list[ExampleFailure] = []
    if not rule.examples.true or not rule.examples.false:
        failures.append(ExampleFailure(rule.id, True, -1, "rule needs both true and false examples"))
        return failures
    for i, text in enumerate(rule.examples.true):
        path = rule.examples.path_of(True, i) or DEFAULT_EXAMPLE_PATH
        hits = {m.rule.id for m in detector.scan(text.encode("utf-8"), path, resolve=False)}
        if rule.id not in hits:
            failures.append(ExampleFailure(rule.id, True, i, "did not match"))
    for i, text in enumerate(rule.examples.false):
        path = rule.examples.path_of(False, i) or DEFAULT_EXAMPLE_PATH
        hits = {m.rule.id for m in detector.scan(text.encode("utf-8"), path, resolve=False)}
        if rule.id in hits:
            failures.append(ExampleFailure(rule.id, False, i, "matched"))
    if rule.prefilter:
        failures.extend(_check_prefilter(rule))
    return failures


def _check_prefilter(rule: Rule) -> list[ExampleFailure]:
    """A rule's `prefilter` must match the tail of each of its matches: windows are placed by its ends.

    A rule confirmed line by line (its regex never spans lines and Hyperscan runs its prefilter exactly)
    only needs the prefilter to match on each match's line, so it may stop early: at the first character
    of the value that qualifies it, instead of reporting every later end.
    """
    tail = re.compile(rule.prefilter.encode("utf-8"))  # check_rule calls this for rules with a prefilter
    if rule.path:
        return _check_path_prefilter(rule, tail)
    by_line = line_prefiltered(rule)
    out = []
    for i, text in enumerate(rule.examples.true):
        data = text.encode("utf-8")
        for m in rule.pattern.finditer(data):
            if any(tail.fullmatch(data, s, m.end()) for s in range(m.start(), m.end())):
                continue
            if by_line:
                lo = data.rfind(b"\n", 0, m.start()) + 1
                hi = data.find(b"\n", m.end())
                if tail.search(data, lo, len(data) if hi < 0 else hi):
                    continue
            reason = "on the line of the match" if by_line else "the end of the match"
            out.append(ExampleFailure(rule.id, True, i, f"prefilter does not match {reason}"))
            break
    return out


def _check_path_prefilter(rule: Rule, tail: re.Pattern[bytes]) -> list[ExampleFailure]:
    """A path-gated rule's prefilter is searched with `re` and the rule confirmed from its width back to
    the end of each hit's line: some hit must end inside each match, on the match's last line."""
    out = []
    for i, text in enumerate(rule.examples.true):
        data = text.encode("utf-8")
        ends = [t.end() for t in tail.finditer(data)]
        for m in rule.pattern.finditer(data):
            if not any(m.start() < e <= m.end() and b"\n" not in data[e:m.end()] for e in ends):
                out.append(ExampleFailure(rule.id, True, i, "prefilter does not match on the last line of the match"))
                break
    return out


def check_all(detector: Detector, rules: Iterable[Rule] | None = None) -> list[ExampleFailure]:
    out: list[ExampleFailure] = []
    for rule in rules if rules is not None else detector.rules:
        out.extend(check_rule(detector, rule))
    return out
