"""Start indexes (engine.startindex): tried only where Hyperscan says a match can begin, they find
exactly what `finditer` finds."""

from __future__ import annotations

import pytest

from secretkeeper.engine import Detector
from secretkeeper.rules import rule_from_mapping


def rule(**kw):
    return rule_from_mapping({"description": "test rule", "severity": "high", **kw}, "test", "test")


def test_start_index_finds_exactly_what_finditer_finds():
    """Hit lines of a line rule are tried only where Hyperscan says a match can start: for
    every shipped rule that has such an index, on its examples padded, doubled and cut at random, the
    matches (whole match and secret group) are those `finditer` finds on the same lines."""
    import random
    import re

    pytest.importorskip("hyperscan")
    from secretkeeper.engine.regexfacts import can_match_newline
    from secretkeeper.rules import load_builtin_rules

    rng = random.Random(11)
    det = Detector(load_builtin_rules(examples=True), backend="hyperscan", use_cache=False)
    fillers = [b"", b"x", b"_", b"$", b" ", b"\t", b"a1", b"Pass", b"token ", b"= ", b"PUB_", b"zz" * 30]
    indexed = 0
    for r in det.rules:
        if r.path or r.near or can_match_newline(r.pattern):
            continue
        index = det.confirmer.start_index(r)
        if index is None:
            continue
        indexed += 1
        examples = [e.encode() for e in (*r.examples.true, *r.examples.false)]
        lines = []
        for ex in examples:
            for line in ex.split(b"\n"):
                lines.append(line)
                lines.append(rng.choice(fillers) * rng.randrange(1, 3) + line + rng.choice(fillers) + line)
                cut = rng.randrange(len(line) + 1)
                lines.append(b"y" * 60 + line[cut:] + b" " + line[:cut] + rng.choice(fillers))
                lines.append(b"z" * 40 + line)  # long enough for the index however short the example
        data = b"\n".join(lines) + b"\n"
        windows, lo = [], 0
        for line in lines:
            windows.append((lo, lo + len(line) + 1))
            lo += len(line) + 1
        group = r.secret_group
        want = [(m.span(), m.span(group)) for lo, hi in windows for m in r.pattern.finditer(data, lo, hi)]
        got = [(m.span(), m.span(group)) for m in index.matches(r.pattern, data, windows)]
        assert got == want, r.id
        assert want, r.id  # the examples do match somewhere: the comparison is not vacuous
    assert indexed >= 20
    assert re  # imported for the reader: the comparison is with `re`'s own finditer


def test_start_index_tries_inside_a_span_that_began_in_the_last_match():
    """A span that began inside the previous match and reaches past it: the leftmost start Hyperscan
    reports is behind the match's end, and the real next start (same span end) is hidden behind it."""
    pytest.importorskip("hyperscan")
    r = rule(id="xyz", regex=r"x?y?zz=(?P<secret>[a-x]+)", keywords=["zz="])
    det = Detector([r], backend="hyperscan", use_cache=False)
    index = det.confirmer.start_index(r)
    assert index is not None
    data = b"zz=abxyzz=cd" + b" " * 40 + b"\n"  # long enough for the index
    want = [m.span() for m in r.pattern.finditer(data)]
    assert want == [(0, 6), (6, 12)]
    assert [m.span() for m in index.matches(r.pattern, data, [(0, len(data))])] == want
