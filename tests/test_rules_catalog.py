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
