"""The rule loader: the package on its own, and its checks on a rule set (ids, anchors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretkeeper.errors import RuleError
from secretkeeper.rules import check_unique, rule_from_mapping


def rule(rid: str, **kw):
    base = {"id": rid, "description": "d", "severity": "high", "regex": r"(?P<secret>x+)"}
    return rule_from_mapping({**base, **kw}, "test", "test")


def test_the_rules_package_imports_first():
    """The catalog sits below the engine: importing it alone must not go through the engine."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", "import secretkeeper.rules"], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("wrap", [list, iter], ids=["list", "one-shot iterator"])
def test_an_anchor_that_is_not_a_rule_is_refused(wrap):
    rules = [rule("anchor"), rule("paired", near={"rule": "missing"})]
    with pytest.raises(RuleError, match=r"near\.rule 'missing' is not a known rule"):
        check_unique(wrap(rules))


@pytest.mark.parametrize("wrap", [list, iter], ids=["list", "one-shot iterator"])
def test_a_rule_defined_twice_is_refused(wrap):
    with pytest.raises(RuleError, match="defined twice"):
        check_unique(wrap([rule("same"), rule("same")]))


def test_known_anchors_pass():
    check_unique(r for r in [rule("anchor"), rule("paired", near={"rule": "anchor"})])
