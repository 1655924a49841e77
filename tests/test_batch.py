"""Batched prefiltering (engine.batch): the same matches as scanning each buffer on its own."""

from __future__ import annotations

import pytest

from secretkeeper.engine import Detector, PrefilterBatch
from secretkeeper.rules import rule_from_mapping


def rule(rid: str, regex: str, keywords: list[str]):
    return rule_from_mapping({"id": rid, "description": "d", "severity": "high", "regex": regex,
                              "keywords": keywords, "filters": []}, "test", "test")


TOKEN = rule("tok", r"\b(?P<secret>tk_[a-z0-9]{20})\b", ["tk_"])
# Needs the buffer's start: `\A` is never satisfied where buffers are joined.
AT_START = rule("at-start", r"(?:\A|=)(?P<secret>SV_[A-Z0-9]{16})", ["sv_"])
# `^` in multi-line mode and `(?:^|...)` are satisfied by the separator's newlines.
LINE_START = rule("line-start", r"(?m)^key: (?P<secret>lk_[a-z0-9]{12})", ["lk_"])
ALTERNATIVE = rule("alternative", r"(?:^|\s)(?P<secret>ak_[a-z0-9]{12})(?:$|\s)", ["ak_"])

BUFFERS = [
    ("a", b"nothing here\n"),
    ("b", b"x = tk_a1b2c3d4e5f6g7h8i9j0\n"),
    ("c", b"SV_ABCDEFGH12345678 opens this one\n"),
    ("d", b"key: lk_abcdef123456\nak_qwerty123456 closes"),
    ("e", b"SV_ZYXWVUTS87654321"),
    ("f", b"tk_zzzzzzzzzzzzzzzzzzzz"),
]


@pytest.fixture(params=["hyperscan", "re"])
def backend(request):
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    return request.param


def batched(detector: Detector, buffers, max_bytes: int = 1024 * 1024) -> list[tuple[str, str, bytes]]:
    found: list[tuple[str, str, bytes]] = []
    batch = PrefilterBatch(detector, lambda key, _data, ms: found.extend((key, m.rule.id, m.secret) for m in ms),
                           max_bytes)
    for key, data in buffers:
        batch.add(key, data)
    batch.flush()
    return found


def one_by_one(detector: Detector, buffers) -> list[tuple[str, str, bytes]]:
    return [(key, m.rule.id, m.secret) for key, data in buffers for m in detector.scan(data, None)]


@pytest.mark.parametrize("rules", [[TOKEN, LINE_START, ALTERNATIVE],
                                   [TOKEN, AT_START, LINE_START, ALTERNATIVE]],
                         ids=["joinable", "with-a-start-anchored-rule"])
@pytest.mark.parametrize("max_bytes", [1, 64, 1024 * 1024])
def test_batched_matches_are_the_matches_of_each_buffer(backend, rules, max_bytes):
    detector = Detector(rules, backend=backend, use_cache=False)
    want = one_by_one(detector, BUFFERS)
    assert len(want) == 4 + (2 if AT_START in rules else 0)  # the comparison is not vacuous
    assert batched(detector, BUFFERS, max_bytes) == want


def test_only_rules_that_need_a_buffer_edge_prevent_joining():
    assert Detector([TOKEN, LINE_START, ALTERNATIVE], backend="re").batchable
    for regex in (r"\Ax", r"x\Z", r"^x", r"x$", r"(?m)x$", r"(?:\A|=)x"):
        assert not Detector([rule("edge", regex, ["x"])], backend="re").batchable, regex
    for regex in (r"[$^]x", r"(?m)^x", r"(?:^|=)x", r"x(?:=|$)", r"\\Ax"):
        assert Detector([rule("inner", regex, ["x"])], backend="re").batchable, regex


def test_a_detector_built_where_a_joinable_one_was_freed_is_judged_on_its_own_rules():
    """The answer once lived in a table keyed by `id(detector)`: a new detector that took a freed
    detector's id got that detector's answer, and a start-anchored rule lost the matches of every
    buffer but the first of each batch."""
    pytest.importorskip("hyperscan")
    reused = 0
    for _ in range(100):  # until CPython hands a freed detector's memory to the next one, as it soon does
        first = Detector([TOKEN], backend="re")
        assert first.batchable
        freed = id(first)
        del first
        second = Detector([AT_START], backend="hyperscan", use_cache=False)
        assert not second.batchable
        assert [key for key, _, _ in batched(second, BUFFERS)] == ["c", "e"]
        reused += id(second) == freed
        if reused:
            break
    assert reused, "the scenario needs a freed id"
