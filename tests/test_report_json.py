"""JSON report: the documented schema (docs/reports.md), stable keys, counts, no secrets."""

from __future__ import annotations

import json

from secretkeeper import __version__
from secretkeeper.findings import Severity
from secretkeeper.report import render
from secretkeeper.report.json_report import SCHEMA_VERSION
from tests.test_report_text import finding, result

TOP_KEYS = ["version", "tool", "roots", "summary", "findings", "skipped"]
SUMMARY_KEYS = {"findings", "by_severity", "by_kind", "files", "bytes", "blobs", "commits", "objects", "images",
                "rules", "duration_seconds", "skipped", "suppressed", "warnings"}
FINDING_KEYS = {"rule_id", "kind", "severity", "location", "secret_sha256", "preview", "fingerprint", "message",
                "remediation", "description"}


def test_schema_shape():
    r = result([finding(path="a.txt", line=2),
                finding(source="cluster", object="Secret/ns/x", kind="hygiene", severity=Severity.LOW)],
               files=3, bytes=99, duration=0.1234, skipped={"binary": 2}, suppressed={"baseline": 1})
    doc = json.loads(render(r, "json"))
    assert list(doc) == TOP_KEYS
    assert doc["version"] == SCHEMA_VERSION == 1
    assert doc["tool"] == {"name": "secretkeeper", "version": __version__}
    assert set(doc["summary"]) == SUMMARY_KEYS
    s = doc["summary"]
    assert s["findings"] == 2 and s["files"] == 3 and s["bytes"] == 99 and s["duration_seconds"] == 0.123
    assert s["by_severity"] == {"high": 1, "low": 1} and s["by_kind"] == {"leak": 1, "hygiene": 1}
    assert s["skipped"] == {"binary": 2} and s["suppressed"] == {"baseline": 1}
    assert doc["skipped"] == [{"path": "binary-0", "reason": "binary"}, {"path": "binary-1", "reason": "binary"}]
    for f in doc["findings"]:
        assert set(f) == FINDING_KEYS
    assert doc["findings"][0]["location"] == {"source": "file", "path": "a.txt", "line": 2}
    assert doc["findings"][1]["location"] == {"source": "cluster", "object": "Secret/ns/x"}


def test_clean():
    doc = json.loads(render(result([]), "json"))
    assert doc["findings"] == [] and doc["summary"]["findings"] == 0 and doc["summary"]["by_severity"] == {}


def test_history_fields():
    doc = json.loads(render(result([finding(source="git", path="a", line=1, commit="c" * 40, author="A",
                                            email="a@example.test", date="2026-01-01")]), "json"))
    loc = doc["findings"][0]["location"]
    assert loc == {"source": "git", "path": "a", "line": 1, "commit": "c" * 40, "author": "A",
                   "email": "a@example.test", "date": "2026-01-01"}


def test_real_scan_has_hash_not_secret(make_tree, run_cli, canary):
    import hashlib

    root = make_tree({"a.txt": f"t {canary}\n"})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    doc = json.loads(res.stdout)
    f = next(f for f in doc["findings"] if f["rule_id"] == "github-pat-classic")
    assert f["secret_sha256"] == hashlib.sha256(canary.encode()).hexdigest()
    assert f["preview"] == "ghp_…"
    assert canary not in res.stdout
    assert doc["summary"]["files"] == 1 and doc["summary"]["rules"] >= 1


def test_each_finding_line_is_its_to_dict():
    """One finding per line, and each line is exactly the finding's documented dict (odd characters, no
    sha, extra fields, every location field)."""
    from secretkeeper.findings import Finding, Location

    findings = [
        Finding("r-1", "leak", Severity.HIGH, Location("file", "dir/é \"q\".txt", 3), "ab" * 32, "ghp_…", "f" * 40,
                "msg\twith\ncontrol", "fix ✓", "desc"),
        Finding("k8s-x", "hygiene", Severity.LOW, Location("manifest", "a.yaml", None, object="Pod/ns/p"), None, "",
                "0" * 40, "m", extra={"days_left": -3, "in_head": True, "blob": None}),
        Finding("g", "leak", Severity.CRITICAL, Location("git", "x", 9, commit="c" * 40, author="Zoë", email="z@e",
                                                         date="2024-01-01T00:00:00Z"), "cd" * 32, "…", "1" * 40, "m"),
    ]
    text = render(result(findings), "json")
    lines = [line.strip().rstrip(",") for line in text.splitlines() if line.startswith('    {"rule_id"')]
    assert [json.loads(line) for line in lines] == [f.to_dict() for f in findings]
    assert json.loads(text)["findings"] == [f.to_dict() for f in findings]


def test_rows_are_the_compact_json_of_each_dict(monkeypatch):
    """The report writes findings without building their dicts: byte for byte what json writes for
    `to_dict()`, for every location field, odd characters, a non-int line, and a memo that starts over."""
    import dataclasses

    from secretkeeper.findings import Finding, Location
    from secretkeeper.report import json_report

    every = {f.name: f"{f.name} \"é\" \\ \x7f\t" for f in dataclasses.fields(Location)}
    findings = [
        Finding("r-1", "leak", Severity.HIGH, Location(**{**every, "line": 7}), "ab" * 32, "ghp_…", "f" * 40,
                "msg\twith\ncontrol \u2028 \"q\"", "fix ✓", "desc"),
        Finding("k8s-x", "hygiene", Severity.LOW, Location("manifest", "a.yaml", None, object="Pod/ns/p"), None, "",
                "0" * 40, "plain message", extra={"days_left": -3, "in_head": True, "blob": None}),
        Finding("k8s-x", "hygiene", Severity.LOW, Location("manifest", "a.yaml", True, object="Pod/ns/p"), None, "",
                "0" * 40, "plain message"),
        Finding("g", "leak", Severity.CRITICAL, Location("image", image="img:1", digest="sha256:" + "0" * 64), "cd" * 32,
                "…", "1" * 40, "m", "", ""),
    ]
    monkeypatch.setattr(json_report._FindingRows, "_MEMO_LIMIT", 3)
    rows = json_report._FindingRows()
    assert [rows.row(f) for f in findings * 3] == [json_report.compact(f.to_dict()) for f in findings * 3]
    assert len(rows.memo) <= 3
    text = render(result(findings), "json")
    assert json.loads(text)["findings"] == [f.to_dict() for f in findings]


def test_undecodable_bytes_are_replacement_characters():
    """A path that is not UTF-8 (surrogate-escaped by the walk) is written as U+FFFD wherever the report
    names it: a finding, a skipped file, a warning. An escaped lone surrogate is not UTF-8 JSON."""
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    r = result([finding(path=name, line=1)], warnings=[f"{name}: not a manifest"])
    r.stats.skipped.add("binary", name)
    text = render(r, "json")
    text.encode("utf-8")  # strict: a lone surrogate raises here
    doc = json.loads(text)
    assert doc["findings"][0]["location"]["path"] == "caf\ufffd.txt"
    assert doc["skipped"] == [{"path": "caf\ufffd.txt", "reason": "binary"}]
    assert doc["summary"]["warnings"] == ["caf\ufffd.txt: not a manifest"]
