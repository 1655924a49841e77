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
