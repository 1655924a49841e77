"""The expressions Hyperscan runs for rules (engine.hsexpr): trimmed, relaxed and rewritten, they still
end where every match of the rule ends."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("regex, expected", [
    (r"(?i)[\w.-]{0,40}?(?:password|secret)\s*=\s*(?P<secret>\S{8,64})(?![\w])",
     r"(?i)(?:password|secret)\s*=\s*(?P<secret>\S{8,64})"),
    (r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])", r"AKIA[0-9A-Z]{16}"),
    (r"\b(?P<secret>ghp_[0-9A-Za-z]{36})\b", r"(?P<secret>ghp_[0-9A-Za-z]{36})"),
    (r"a|b", r"a|b"),  # top-level alternation: left alone
    (r"x?", r"x?"),
    (r"BEGIN[\s\S]{4,99}END(?:\n)?", r"BEGIN[\s\S]{4,99}END(?:\n)?"),  # an optional tail with a newline stays
])
def test_prefilter_trimming_keeps_every_match_end(regex, expected):
    from secretkeeper.engine.hsexpr import _trim_for_prefilter

    assert _trim_for_prefilter(regex) == expected


@pytest.mark.parametrize("regex,expected", [
    (r"(?i:(?:twitter|(?<![a-z])x)[\w.]{0,20}secret)", r"(?i:(?:twitter|(?:^|[^a-z])x)[\w.]{0,20}secret)"),
    (r"(?<![A-Za-z0-9])(?P<secret>AKIA[0-9A-Z]{16})", r"(?:^|[^A-Za-z0-9])(?P<secret>AKIA[0-9A-Z]{16})"),
    (r"(?i)(?:(?<!\w)tok|(?<![^a-z])mj)", r"(?i)(?:(?:^|\W)tok|(?:^|[a-z])mj)"),
    (r"foo(?<![a-z])bar", r"foo(?<![a-z])bar"),  # not where a match starts: left alone
    (r"(?:a|b)(?<![a-z])x", r"(?:a|b)(?<![a-z])x"),
    (r"(?<!ab)x", r"(?<!ab)x"),  # two characters: left alone
])
def test_leading_lookbehinds_become_consumed_characters(regex, expected):
    from secretkeeper.engine.hsexpr import _consume_leading_lookbehinds

    assert _consume_leading_lookbehinds(regex) == expected


def test_hyperscan_expressions_find_every_example_match():
    """Every shipped rule's Hyperscan expression (trimmed, relaxed, lookbehinds consumed) has a match
    within the lines of each match in its true examples, and all but a few run exactly, not approximated."""
    import re

    from secretkeeper.engine.hsexpr import hs_expression, hs_source, needs_prefilter_mode
    from secretkeeper.rules import load_builtin_rules

    approximated = 0
    for rule in load_builtin_rules(examples=True):
        if rule.path or rule.near:
            continue
        expr = re.compile(hs_expression(hs_source(rule)).encode())
        approximated += needs_prefilter_mode(expr)
        for text in rule.examples.true:
            data = text.encode()
            for m in rule.pattern.finditer(data):
                lo = data.rfind(b"\n", 0, m.start()) + 1
                hi = data.find(b"\n", m.end())
                assert expr.search(data, lo, len(data) if hi < 0 else hi + 1), (rule.id, text)
    assert approximated <= 5


@pytest.mark.parametrize("regex,expected", [
    # up to the first item that cannot match empty: the group (items are atoms, `token` is five)
    (r"(?i)(?:pub)?[_.-]?(?:access|auth)token[ \t]*=(?P<secret>\w+)", r"(?i)(?:pub)?[_.-]?(?:access|auth)"),
    (r"(?i)\b(?:pass|pwd)\s*=\s*(?P<secret>\w{8,40})", r"(?i)\b(?:pass|pwd)"),
    (r"(?<![a-z])x_[a-z]{4,60}=(?P<secret>\w+)", r"(?:^|[^a-z])x"),
    (r"(?:^|\s)--password[= ](?P<secret>\S+)", r"(?:^|\s)-"),  # `(?:^|\s)` alone can be empty
    (r"(?P<secret>[0-9]{2,40})", None),  # the prefix would be the whole regex
    (r"a|b", None),
    (r"(?x) a b (?P<secret>c)", None),  # verbose: not read as items
    (r"x=(?P<secret>\w+)\Z", r"x"),
    (r"\Ax=(?P<secret>\w+)", None),  # `\A` means the buffer's start even in multi-line mode
])
def test_start_expression_is_a_prefix_every_match_begins_with(regex, expected):
    from secretkeeper.engine.hsexpr import start_expression

    assert start_expression(regex) == expected


def test_no_catalog_expression_hands_hyperscan_a_wide_bounded_repeat():
    """Relaxed repeats are also a correctness guard: the Hyperscan in use drops matches of
    `[(x]"[A-Z_]{0,15}KEY` (a range of 15 and up) when two occurrences are a few dozen bytes apart."""
    import re

    from secretkeeper.engine.hsexpr import hs_expression, hs_source
    from secretkeeper.rules import load_builtin_rules

    for rule in load_builtin_rules():
        if rule.path or rule.near:
            continue
        for lo, hi in re.findall(r"(?<!\\)\{(\d*),(\d+)\}", hs_expression(hs_source(rule))):
            assert int(hi) - int(lo or 0) < 8, rule.id
