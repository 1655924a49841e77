"""What a compiled pattern can match (engine.regexfacts): first bytes and literal prefixes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("regex", [
    rb"(?i)(?:pub)?[_.-]?(?:access|auth)token=(?P<secret>\w+)",
    rb"(?<![a-z])x_[a-z]{1,6}=\w+",
    rb"(?:^|[\s\"'])--?[a-z-]{0,30}pass",
    rb"\b(?:os\.)?environ\.get\(|\$_ENV\[|(?i:env)\(",
    rb"[^a-z\n]x|\dy|\Wz",
    rb"(?i)[\w.]{0,3}?(?-i:Q)",
    rb"(?i:[a-f])(?-i:G)|(?>ab|cd)e|x*+y",
])
def test_first_bytes_rules_out_only_bytes_no_match_begins_with(regex):
    import random
    import re

    from secretkeeper.engine.regexfacts import first_bytes

    pattern = re.compile(regex)
    table = first_bytes(pattern)
    assert table is not None and 0 < sum(table) < 256
    rng = random.Random(5)
    pieces = [bytes([b]) for b in b"abcdefgxyzQG_-.=([$ \t\"'\n0123456789ACTEUPSenvio"] + [
        b"pub", b"ACCESS", b"auth", b"token=", b"x_", b"--", b"pass", b"os.", b"environ.get(", b"$_ENV[",
        b"ENV(", b"ab", b"cd", b"e", b"xy", b"Q", b"fG"]
    starts = 0
    for _ in range(20000):
        s = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6)))
        if pattern.match(s):
            starts += 1
            assert table[s[0]], (regex, s)
    assert starts >= 3  # the property was exercised


def test_first_bytes_gives_up_where_a_match_can_be_empty():
    import re

    from secretkeeper.engine.regexfacts import first_bytes

    assert first_bytes(re.compile(rb"a?b*")) is None
    assert first_bytes(re.compile(rb".x")) is None  # every byte but a newline: no help either way


def test_literal_prefix_of_path_rules():
    import re

    from secretkeeper.engine.regexfacts import literal_prefix

    assert literal_prefix(re.compile(rb"NoEcho[ \t]*:")) == b"NoEcho"
    assert literal_prefix(re.compile(rb"abc|abd")) == b"ab"
    assert literal_prefix(re.compile(rb"(?i)NoEcho")) == b""  # any case: no literal to look for
    assert literal_prefix(re.compile(rb"(?m)^x")) == b""


@pytest.mark.parametrize(("regex", "lines"), [
    (rb"a\nb", 1),
    (rb"name:[ \t]*\w+[ \t]*(?:\r?\n[ \t]*)?value:[ \t]*(?P<secret>\S+)", 1),  # two lines, any width
    (rb"(?:a|\n\n)", 2),
    (rb"\S+\s{0,2}", 2),
    (rb"(?s).{0,5}", 5),
    (rb".*x", 0),
    (rb"(?=\n\n)x", 0),  # lookarounds are zero-width
    (rb"a\s*b", None),  # unbounded
    (rb"[^x]+", None),
    (rb"(a)\1", None),  # back-reference: unknown
])
def test_max_newlines_bounds_the_lines_a_match_spans(regex, lines):
    import re

    from secretkeeper.engine.regexfacts import max_newlines

    assert max_newlines(re.compile(regex)) == lines


def test_a_two_line_match_is_confirmed_from_the_line_before_its_hit():
    """k8s-env-named-value's regex is unbounded in width (`[ \\t]*`) but spans two lines: it is confirmed
    from the line before each `value:` hit, not from 16 KB back, and still finds every leak."""
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector

    detector = build_detector(Config())
    filler = "".join(f"        - name: VAR_{i}\n          value: \"plain-{i}\"\n" for i in range(400))
    leak = "        - name: DB_PASSWORD\n          value: \"Zx9qW8erTy7u\"\n"
    data = ("spec:\n  containers:\n    - env:\n" + filler + leak + filler).encode()
    rule = next(r for r in detector.path_rules if r.id == "k8s-env-named-value")
    ends = [m.end() for m in rule.prefilter_pattern.finditer(data)]
    windows = detector.confirmer.windows(rule, data, ends)
    assert max(hi - lo for lo, hi in windows) < 2000  # not the whole file: runs of two-line windows
    found = [m for m in detector.scan(data, "deploy/app.yaml") if m.rule.id == "k8s-env-named-value"]
    assert [m.secret for m in found] == [b"Zx9qW8erTy7u"]
