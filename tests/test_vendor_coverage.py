"""Vendor breadth (issue 15, item 2): the data-driven vendor family and the coverage table against peers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secretkeeper.config import Config
from secretkeeper.engine import Detector
from secretkeeper.errors import RuleError
from secretkeeper.pipeline import build_detector
from secretkeeper.rules import _rules_from_doc, load_builtin_rules

COVERAGE = Path(__file__).resolve().parent.parent / "benchmarks" / "vendor_coverage.md"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return build_detector(Config())


def _found(detector: Detector, text: str, path: str = "app/settings.py") -> list[tuple[str, bytes]]:
    return [(m.rule.id, m.secret) for m in detector.scan(text.encode(), path)]


def test_coverage_table_names_real_rules_and_stays_above_ninety_percent() -> None:
    from secretkeeper.hygiene import HYGIENE_RULES

    ids = {r.id for r in load_builtin_rules()} | {h.id for h in HYGIENE_RULES}
    rows = [line.split("|")[1:-1] for line in COVERAGE.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| provider")]
    assert len(rows) > 600
    covered = 0
    for provider, *_peers, ours in rows:
        ours = ours.strip()
        if ours.startswith("—"):
            continue
        covered += 1
        named = [r.strip() for r in ours.split(",")]
        assert all(r in ids for r in named), f"{provider.strip()}: {ours}"
    assert covered / len(rows) >= 0.9
    claimed = re.search(r"covered: (\d+)", COVERAGE.read_text())
    assert claimed and int(claimed.group(1)) == covered


def test_family_is_a_few_rules_over_hundreds_of_vendors() -> None:
    family = [r for r in load_builtin_rules() if r.family == "vendors"]
    assert sorted(r.id for r in family) == ["vendor-keyed-alnum", "vendor-keyed-base64", "vendor-keyed-hex",
                                            "vendor-keyed-spaced", "vendor-keyed-uuid", "vendor-prefixed-token"]
    assert sum(len(r.keywords) for r in family) > 400


@pytest.mark.parametrize("text, rule", [
    ('WEATHERSTACK_ACCESS_KEY = "q7Rk2mXv9TbL4sWn8ZcP1dYf6HgJ3aE0"', "vendor-keyed-alnum"),
    ("x-paymongo-key: sk9Qw3Er5Ty7Ui1Op2As4Df6Gh8Jk0Lz", "vendor-keyed-alnum"),
    ("  cloudsmithToken: 'a3f9c2e75b8d1f4a6c0e3b7d9a2f5c8e1b4d7a0c'", "vendor-keyed-hex"),
    ('{"moosend_api_key": "3f6b9d2e-7a1c-4e8f-b5d0-9c2a4e6f8b1d"}', "vendor-keyed-uuid"),
    ("FIRECRAWL_API_KEY=fc-3f9a2c7e9b1d4e6a8c0f2b5d7e9a1c3f", "vendor-prefixed-token"),
    ("clockify SECRET q7Rk2mXv9TbL4sWn8ZcP1dYf6HgJ3aE0", "vendor-keyed-spaced"),
    ("userflowKEY Rk29dmQ3LqZp8XvT2nBw5YcJ7hGf4K", "vendor-keyed-spaced"),
    ("SAUCE_KEY: 7c2e9a41-5b3d-4f8e-a6c0-1d9b2e7f4a35", "vendor-keyed-uuid"),  # a stem that is a key name
])
def test_vendor_keys_are_found_under_vendor_named_keys(detector: Detector, text: str, rule: str) -> None:
    assert [r for r, _ in _found(detector, text)] == [rule]


@pytest.mark.parametrize("text", [
    'WEATHERSTACK_REGION = "q7Rk2mXv9TbL4sWn8ZcP1dYf6HgJ3aE0"',  # a key name that names no credential
    'WEATHERSTACK_ACCESS_KEY = "WeatherstackAccessKeyPlaceholder"',  # letters only: a name
    'WEATHERSTACK_ACCESS_KEY = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    'WEATHERSTACK_ACCESS_KEY = "${WEATHERSTACK_ACCESS_KEY}"',
    "cloudsmith_package_sha = 'a3f9c2e75b8d1f4a6c0e3b7d9a2f5c8e1b4d7a0c'",  # a digest, not a key
    'myweatherstackkey = "q7Rk2mXv9TbL4sWn8Zc"',  # the stem inside another word, and too short
    "FIRECRAWL_API_KEY=fc-<your-key>",
    "clockify secret rotation is described in docs/operations/rotation.md",  # lower case: prose
    "PRIMARY KEY customer_identifier_column",  # no vendor before the capitals
])
def test_look_alikes_stay_silent(detector: Detector, text: str) -> None:
    assert _found(detector, text) == []


def test_a_vendor_rule_with_its_own_format_wins_over_the_family(detector: Detector) -> None:
    # `sonar` is a family stem too: the SonarQube rule, with its prefix, reports the token.
    got = _found(detector, "SONAR_TOKEN=squ_42e49df807d02aa867cd87012f5c612dafc6726f")
    assert [r for r, _ in got] == ["sonarqube-token"]


@pytest.mark.parametrize("vendor, message", [
    ({"name": "X", "stems": ["ab"], "shapes": ["hex:32"]}, "at least 4 long"),
    ({"name": "X", "stems": ["Acme"], "shapes": ["hex:32"]}, "lower-case"),
    ({"name": "X", "stems": ["acme"], "shapes": ["hex:8"]}, "must be hex:N"),
    ({"name": "X", "stems": ["acme"], "shapes": []}, "shapes must be"),
])
def test_a_bad_vendor_entry_is_a_one_line_error(vendor: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message) as err:
        _rules_from_doc({"vendors": [vendor]}, "custom.toml", "custom")
    assert "\n" not in str(err.value) and "custom.toml" in str(err.value)


def test_a_custom_rule_file_can_carry_its_own_vendor_table() -> None:
    doc = {"vendors": [{"name": "Acme", "stems": ["acmecorp"], "shapes": ["alnum:40"]}],
           "prefixed": [{"name": "Acme PAT", "shape": ["=acme_pat_", "alnum:30"]}]}
    rules = _rules_from_doc(doc, "custom.toml", "custom")
    assert {r.id for r in rules} == {"vendor-keyed-alnum", "vendor-keyed-spaced", "vendor-prefixed-token"}
    assert all(r.examples.true and r.examples.false for r in rules)
    detector = Detector(rules, use_cache=False)
    for rule in rules:
        for text in rule.examples.true:
            assert rule.id in {m.rule.id for m in detector.scan(text.encode(), "a.env", resolve=False)}
        for text in rule.examples.false:
            assert rule.id not in {m.rule.id for m in detector.scan(text.encode(), "a.env", resolve=False)}
