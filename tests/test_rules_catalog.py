"""The whole rule catalog, walked: every rule has both kinds of examples and they behave."""

from __future__ import annotations

import pytest

from secretkeeper.config import Config
from secretkeeper.detect import Detector
from secretkeeper.rules import load_builtin_rules
from secretkeeper.rules.examples import check_rule
from secretkeeper.scan import build_detector

RULES = load_builtin_rules(examples=True)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return build_detector(Config())


@pytest.fixture(scope="module")
def fallback_detector() -> Detector:
    return Detector(RULES, backend="re")


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(detector: Detector, rule) -> None:
    assert rule.examples.true, f"{rule.id} has no examples.true"
    assert rule.examples.false, f"{rule.id} has no examples.false"
    failures = check_rule(detector, rule)
    assert not failures, "\n".join(str(f) for f in failures)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples_without_hyperscan(fallback_detector: Detector, rule) -> None:
    """The keyword fallback finds the same true examples: every rule's keywords are in its matches."""
    failures = [f for f in check_rule(fallback_detector, rule) if f.expected]
    assert not failures, "\n".join(str(f) for f in failures)


def test_every_rule_is_prefiltered(detector: Detector) -> None:
    """No rule falls back to running its regex on every buffer (that would break the speed target)."""
    slow = [r.id for r, mode in zip(detector.prefilter.rules, detector.prefilter.modes)
            if mode not in ("exact", "prefilter")]
    assert not slow


def test_catalog_is_large_and_well_formed() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.description and rule.remediation, rule.id
        assert rule.keywords or rule.path, f"{rule.id}: needs keywords (or a path gate)"


def test_prefilter_must_match_the_tail_of_each_match() -> None:
    from secretkeeper.detect import Detector
    from secretkeeper.rules import rule_from_mapping
    from secretkeeper.rules.examples import check_rule

    base = {"id": "xml-pw", "description": "d", "severity": "high", "keywords": ["password"],
            "regex": r"(?i)<[\w.-]{0,40}?password>(?P<secret>[^<\s]{8,64})</",
            "examples": {"true": ["<db.password>Zx9qW8erTy7u</db.password>"], "false": ["<password></password>"]}}
    good = rule_from_mapping({**base, "prefilter": r"(?i)password>[^<\s]{8,64}</"}, "t", "custom")
    bad = rule_from_mapping({**base, "prefilter": r"(?i)<[\w.-]{0,40}?password>"}, "t", "custom")  # a head, not a tail
    for rule, failures in ((good, 0), (bad, 1)):
        detector = Detector([rule], backend="hyperscan", use_cache=False)
        assert [m.rule.id for m in detector.scan(rule.examples.true[0].encode(), "a.xml")] == ["xml-pw"]
        got = check_rule(detector, rule)
        assert len(got) == failures and all("prefilter" in str(f) for f in got)
