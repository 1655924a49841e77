"""Baseline files: written without secrets (0600, atomic), loaded strictly, suppress by fingerprint."""

from __future__ import annotations

import json
import re
import stat

import pytest

from secretkeeper.baseline import BASELINE_VERSION, Baseline, write_baseline
from secretkeeper.engine import Detector
from secretkeeper.errors import SecretkeeperError
from secretkeeper.findings import Finding, Location, finding_from_match
from secretkeeper.rules import rule_from_mapping

TOKEN = rule_from_mapping({"id": "tok", "description": "test token", "severity": "high", "keywords": ["tk_"],
                           "regex": r"\b(?P<secret>tk_[a-z0-9]{20})\b",
                           "examples": {"true": ["x"], "false": ["y"]}}, "test", "test")
SECRET = "tk_" + "a1b2c3d4e5f6g7h8i9j0"


def make(path="a.txt", line=1, secret=SECRET, commit=None) -> Finding:
    """A finding as a scan builds it: the engine matches `secret` on `line` of a file, and the finding is
    made from that match at a location with that line (and, for history, the introducing commit)."""
    text = "\n" * (line - 1) + f"key: {secret}\n"
    (match,) = Detector([TOKEN], backend="re", use_cache=False).scan(text.encode(), path)
    source = "git" if commit else "file"
    return finding_from_match(match, Location(source, path=path, line=match.line, commit=commit))


def test_write_and_load_roundtrip(tmp_path):
    findings = [make(), make(path="b.txt"), make(line=7)]  # the last repeats the first's fingerprint
    out = tmp_path / "bl.json"
    assert write_baseline(findings, out) == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["version"] == BASELINE_VERSION and doc["tool"].startswith("secretkeeper ")
    assert [e["path"] for e in doc["findings"]] == ["a.txt", "b.txt"]
    assert set(doc["findings"][0]) == {"fingerprint", "rule_id", "path", "line", "commit", "preview",
                                       "secret_sha256"}
    bl = Baseline.load(out)
    assert bl.fingerprints == {findings[0].fingerprint, findings[1].fingerprint}


def test_filter_counts_suppressed():
    bl = Baseline([make().fingerprint])
    kept, n = bl.filter([make(), make(line=50), make(path="c.txt")])
    assert n == 2 and [f.location.path for f in kept] == ["c.txt"]


def test_same_secret_elsewhere_is_new():
    bl = Baseline([make().fingerprint])
    assert make(path="other.txt") not in bl
    assert make(secret="tk_" + "z9y8x7w6v5u4t3s2r1q0") not in bl


def test_line_moves_and_history_attribution_do_not_matter():
    recorded = make(line=1)
    moved, in_history = make(line=99), make(line=7, commit="f" * 40)
    assert (moved.location.line, in_history.location.commit) == (99, "f" * 40)
    kept, suppressed = Baseline([recorded.fingerprint]).filter([moved, in_history])
    assert kept == [] and suppressed == 2


def test_empty_baseline(tmp_path):
    out = tmp_path / "bl.json"
    assert write_baseline([], out) == 0
    assert Baseline.load(out).fingerprints == frozenset()


@pytest.mark.parametrize("content, needle", [
    ("", "not valid JSON"),
    ("[]", "no 'findings' list"),
    ('{"findings": {}}', "no 'findings' list"),
    ('{"findings": ["x"]}', "findings[0] has no fingerprint"),
    ('{"findings": [{"fingerprint": 5}]}', "findings[0] has no fingerprint"),
])
def test_bad_files(tmp_path, content, needle):
    p = tmp_path / "bl.json"
    p.write_text(content)
    with pytest.raises(SecretkeeperError, match=re.escape(needle)):
        Baseline.load(p)


def test_invalid_utf8_file(tmp_path):
    p = tmp_path / "bl.json"
    p.write_bytes(b"\xff\xfe{}")
    with pytest.raises(SecretkeeperError, match="not valid JSON"):
        Baseline.load(p)


def test_missing_and_directory(tmp_path):
    with pytest.raises(SecretkeeperError, match="cannot read baseline"):
        Baseline.load(tmp_path / "missing.json")
    with pytest.raises(SecretkeeperError, match="cannot read baseline"):
        Baseline.load(tmp_path)


def test_write_failure_leaves_no_temp_file(tmp_path):
    target = tmp_path / "dir-in-the-way"
    target.mkdir()
    with pytest.raises(SecretkeeperError, match="cannot write"):
        write_baseline([make()], target)
    assert [p.name for p in tmp_path.iterdir()] == ["dir-in-the-way"]


def test_baseline_cli_requires_output(make_tree, run_cli):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["baseline", root])
    assert res.code == 2 and "--output" in res.stderr


def test_baseline_cli_nonexistent_path(run_cli, tmp_path):
    res = run_cli(["baseline", tmp_path / "nope", "-o", tmp_path / "bl.json"])
    assert res.code == 2 and "no such file or directory" in res.stderr
    assert not (tmp_path / "bl.json").exists()
