"""The whole rule catalog, walked: every rule has both kinds of examples and they behave."""

from __future__ import annotations

import pytest

from secretkeeper.config import Config
from secretkeeper.engine import Detector
from secretkeeper.rules import load_builtin_rules
from secretkeeper.rules.examples import check_rule
from secretkeeper.pipeline import build_detector

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
    from secretkeeper.engine import Detector, line_prefiltered
    from secretkeeper.rules import rule_from_mapping
    from secretkeeper.rules.examples import check_rule

    # `\s*` lets a match span lines: windows are placed by prefilter ends, so a head is not enough.
    base = {"id": "xml-pw", "description": "d", "severity": "high", "keywords": ["password"],
            "regex": r"(?i)<[\w.-]{0,40}?password>\s*(?P<secret>[^<\s]{8,64})\s*</",
            "examples": {"true": ["<db.password>Zx9qW8erTy7u</db.password>"], "false": ["<password></password>"]}}
    good = rule_from_mapping({**base, "prefilter": r"(?i)password>\s*[^<\s]{8,64}\s*</"}, "t", "custom")
    bad = rule_from_mapping({**base, "prefilter": r"(?i)<[\w.-]{0,40}?password>"}, "t", "custom")  # a head, not a tail
    for rule, failures in ((good, 0), (bad, 1)):
        assert not line_prefiltered(rule)
        detector = Detector([rule], backend="hyperscan", use_cache=False)
        assert [m.rule.id for m in detector.scan(rule.examples.true[0].encode(), "a.xml")] == ["xml-pw"]
        got = check_rule(detector, rule)
        assert len(got) == failures and all("prefilter" in str(f) for f in got)


def test_a_line_rule_prefilter_may_stop_early_on_the_line() -> None:
    """A rule confirmed on its hit lines needs its prefilter on each match's line, not at its end."""
    from secretkeeper.engine import Detector, line_prefiltered
    from secretkeeper.rules import rule_from_mapping
    from secretkeeper.rules.examples import check_rule

    base = {"id": "pw", "description": "d", "severity": "high", "keywords": ["password"],
            "regex": r"(?i)password[ \t]*=[ \t]*(?P<secret>[a-z]*[0-9][a-z0-9]{7,})",
            "examples": {"true": ["x = 1\npassword = qwkz4vbnrtmxlpa\ny = 2"], "false": ["password = letters"]}}
    early = rule_from_mapping({**base, "prefilter": r"(?i)password[ \t]*=[ \t]*[a-z]*[0-9]"}, "t", "custom")
    elsewhere = rule_from_mapping({**base, "prefilter": r"x = 1"}, "t", "custom")  # another line
    for rule, failures in ((early, 0), (elsewhere, 1)):
        assert line_prefiltered(rule)
        detector = Detector([rule], backend="hyperscan", use_cache=False)
        got = [str(f) for f in check_rule(detector, rule) if "prefilter" in str(f)]
        assert len(got) == failures and all("on the line of the match" in f for f in got)
    detector = Detector([early], backend="hyperscan", use_cache=False)
    text = b"a\npassword = qwkz4vbnrtmxlpa ; password=zq9wkrtvbnm\npassword = letters\n"
    assert [(m.line, m.secret) for m in detector.scan(text, "f")] == [(2, b"qwkz4vbnrtmxlpa"), (2, b"zq9wkrtvbnm")]


def _pem(label: str, der: bytes) -> str:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def test_private_key_validator_takes_key_material_not_snippets(detector: Detector) -> None:
    import random

    rng = random.Random(7)
    # A PKCS#1 header (SEQUENCE of 1,192 bytes, version 0, a 257-byte INTEGER) over random bytes: what a
    # damaged key or a generator's stand-in looks like. It does not load, and is still reported.
    shaped = bytes.fromhex("308204a40201000282010100") + bytes(rng.randrange(256) for _ in range(1180))
    assert len(shaped) == 0x4A4 + 4
    assert [m.rule.id for m in detector.scan(_pem("RSA PRIVATE KEY", shaped).encode(), "deploy/id_rsa")] == \
        ["private-key-rsa"]
    # Key-sized random base64 with no DER at all: reported too (as every peer does).
    junk = bytes([0x5A]) + bytes(rng.randrange(256) for _ in range(1191))
    assert [m.rule.id for m in detector.scan(_pem("RSA PRIVATE KEY", junk).encode(), "deploy/id_rsa")] == \
        ["private-key-rsa"]
    # A DER header whose length does not match its body, a short body, a low-entropy one: not keys.
    padded = shaped + bytes(rng.randrange(256) for _ in range(40))
    assert detector.scan(_pem("RSA PRIVATE KEY", padded).encode(), "deploy/id_rsa") == []
    assert detector.scan(_pem("RSA PRIVATE KEY", junk[:60]).encode(), "deploy/id_rsa") == []
    assert detector.scan(_pem("RSA PRIVATE KEY", b"\xab\xcd\xef" * 400).encode(), "deploy/id_rsa") == []
