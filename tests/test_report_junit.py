"""JUnit XML report: one suite, a failing testcase per finding, well-formed whatever the paths hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from secretkeeper.findings import Severity
from secretkeeper.report import render
from tests.test_report_text import finding, result


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "secretkeeper"
    return suites[0]


def test_clean_has_one_passing_case():
    suite = parse(render(result([], files=4), "junit"))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    cases = suite.findall("testcase")
    assert len(cases) == 1 and cases[0].find("failure") is None


def test_one_failing_case_per_finding():
    suite = parse(render(result([
        finding(path="a/b.env", line=3),
        finding(source="git", path="a/b.env", line=3, commit="f" * 40, severity=Severity.CRITICAL),
        finding(source="cluster", object="Secret/prod/db", kind="hygiene", rule="k8s-plaintext-secret"),
    ], duration=1.5), "junit"))
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("3", "3", "1.500")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("a/b.env", "github-pat-classic:3"),
        ("a/b.env", "github-pat-classic:3@ffffffffffff"),
        ("Secret/prod/db", "k8s-plaintext-secret"),
    ]
    fail = cases[0].find("failure")
    assert fail.get("type") == "high"
    assert fail.get("message") == "high: GitHub personal access token (classic) (ghp_…)"
    assert "preview: ghp_…" in fail.text and "severity: high" in fail.text
    assert "commit: " + "f" * 40 in cases[1].find("failure").text
    assert cases[0].get("file") == "a/b.env" and cases[0].get("line") == "3"
    assert cases[2].get("file") is None


def test_escapes_everything():
    nasty = 'a&b<c>"d\'/e]]>\x01\x1b\udcff.txt'
    text = render(result([finding(path=nasty, line=1)]), "junit")
    suite = parse(text)
    case = suite.find("testcase")
    assert case.get("classname") == 'a&b<c>"d\'/e]]>\ufffd\ufffd\ufffd.txt'
    text.encode("utf-8")  # encodable


def test_suite_properties_carry_counts():
    suite = parse(render(result([], files=2, skipped={"binary": 1}, suppressed={"baseline": 3}), "junit"))
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["files"] == "2" and props["skipped.binary"] == "1" and props["suppressed.baseline"] == "3"
