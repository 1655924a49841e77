"""Match policy (engine.policy): one finding per secret when matches overlap."""

from __future__ import annotations

from secretkeeper.rules import rule_from_mapping


def rule(**kw):
    return rule_from_mapping({"description": "test rule", "severity": "high", **kw}, "test", "test")


TOKEN = rule(id="tok", regex=r"\b(?P<secret>tk_[a-z0-9]{20})\b", keywords=["tk_"])
GENERIC = rule(id="gen", regex=r"(?i)token\s*=\s*(?P<secret>\S{8,})", keywords=["token"], generic=True)


def _resolve_overlaps_by_pairs(matches):
    """The rule `resolve_overlaps` implements, written the obvious (quadratic) way."""
    ranked = sorted(matches, key=lambda m: (m.rule.generic, m.rule.family == "generic", -m.rule.severity.rank,
                                            -(m.end - m.start), m.rule.id))
    kept = []
    for m in ranked:
        if not any(min(k.end, m.end) - max(k.start, m.start) > 0
                   and (m.rule.generic or min(k.end, m.end) - max(k.start, m.start)
                        >= 0.8 * min(k.end - k.start, m.end - m.start)) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: (m.start, m.rule.id))


def test_overlap_resolution_matches_the_pairwise_rule():
    """Overlaps are resolved through an index of kept matches (a file of thousands of secrets was
    quadratic); the result is what comparing every pair gives, for nested, chained and wide matches."""
    import random

    from secretkeeper.engine import Match
    from secretkeeper.engine.policy import resolve_overlaps

    rules = [TOKEN, GENERIC, rule(id="wide", regex=r"(?P<secret>x+)", severity="critical"),
             rule(id="low", regex=r"(?P<secret>y+)", severity="low")]
    rng = random.Random(7)
    for trial in range(300):
        matches = []
        for _ in range(rng.randrange(2, 60)):
            start = rng.randrange(0, 400)
            end = start + rng.choice([1, 2, 5, 20, 40, 300])
            matches.append(Match(rng.choice(rules), start, end, b"s" * (end - start), 1, start))
        assert resolve_overlaps(matches) == _resolve_overlaps_by_pairs(matches), trial


def _inline_allowed_by_lines(data: bytes, start: int, end: int) -> bool:
    """The inline-allow rule written the obvious way: a marker on a line of the match, or a `nextline`
    marker on the line before its first."""
    first = data.count(b"\n", 0, start)
    last = data.count(b"\n", 0, end)
    lines = data.split(b"\n")
    markers = (b"secretkeeper:allow", b"gitleaks:allow", b"pragma: allowlist secret", b"nosec: secret")
    if any(m in line for line in lines[first:last + 1] for m in markers):
        return True
    return first > 0 and b"pragma: allowlist nextline secret" in lines[first - 1]


def test_inline_allow_agrees_with_the_line_rule_on_short_and_long_lines():
    """Short lines are searched in place; a line over _LONG_LINE bytes (minified code) is looked up in the
    buffer's marker index instead. Both must give the verdict the plain line rule gives, markers near and
    far (more than _LONG_LINE away on the same long line), before and after, `nextline` included."""
    import random

    from secretkeeper.engine.newlines import NewlineIndex
    from secretkeeper.engine.policy import _LONG_LINE, inline_allowed

    rng = random.Random(11)
    pieces = [b"x = 1;", b"secretkeeper:allow", b"pragma: allowlist nextline secret", b"nosec: secret",
              b"\n", b"tk_0123456789abcdefghij", b" " * 50, b"a" * (_LONG_LINE // 3)]
    for _trial in range(400):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        index = NewlineIndex(data)
        for _probe in range(10):
            start = rng.randrange(0, len(data) + 1)
            end = min(len(data), start + rng.randint(0, 30))
            assert inline_allowed(index, start, end) == _inline_allowed_by_lines(data, start, end), (data, start, end)
