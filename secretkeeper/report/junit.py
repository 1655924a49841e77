"""JUnit XML report for CI test dashboards (GitLab `artifacts:reports:junit`, Jenkins, Azure).

One `<testsuite name="secretkeeper">`; a failing `<testcase>` per finding (classname = file or object,
name = rule id and line) whose `<failure>` carries the message, severity and redacted preview; a single
passing testcase when the scan is clean. Built with ElementTree (everything escaped); characters XML 1.0
cannot carry are replaced, so the document is always well-formed.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from secretkeeper import __version__
from secretkeeper.findings import Finding

if TYPE_CHECKING:
    from secretkeeper.results import ScanResult

SUITE = "secretkeeper"
# XML 1.0 Char production, complemented.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    text = str(value)
    if text.isascii() and text.isprintable():  # the usual case: nothing XML 1.0 cannot carry
        return text
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _INVALID_XML.sub("\ufffd", text)


def _where(f: Finding) -> str:
    loc = f.location
    if loc.source in ("cluster", "image") or not loc.path:
        return loc.object or loc.image or loc.path or "<input>"
    return loc.path


def _case_name(f: Finding) -> str:
    loc = f.location
    name = f.rule_id
    if loc.line:
        name += f":{loc.line}"
    if loc.commit:
        name += f"@{loc.commit[:12]}"
    return name


def _failure_text(f: Finding) -> str:
    loc = f.location
    lines = [
        f"rule: {f.rule_id}",
        f"severity: {f.severity._value_}",
        f"kind: {f.kind}",
        f"location: {loc.display()}",
        f"preview: {f.preview}",
    ]
    if f.secret_sha256:
        lines.append(f"secret_sha256: {f.secret_sha256}")
    lines.append(f"fingerprint: {f.fingerprint}")
    for key in ("commit", "author", "date", "object", "image", "digest"):
        value = getattr(loc, key)
        if value:
            lines.append(f"{key}: {value}")
    if f.remediation:
        lines.append(f"remediation: {f.remediation}")
    return "\n".join(lines)


def to_element(result: ScanResult) -> ET.Element:
    st = result.stats
    n = len(result.findings)
    tests = max(n, 1)
    duration = f"{st.duration:.3f}"
    counts = {"tests": str(tests), "failures": str(n), "errors": "0", "skipped": "0", "time": duration}
    root = ET.Element("testsuites", {"name": SUITE, **{k: counts[k] for k in ("tests", "failures", "errors", "time")}})
    suite = ET.SubElement(root, "testsuite", {
        "name": SUITE,
        **counts,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": xml_text(socket.gethostname() or "localhost"),
    })
    props = ET.SubElement(suite, "properties")
    for name, value in (("secretkeeper.version", __version__), ("files", st.files), ("bytes", st.bytes),
                        *((f"skipped.{r}", c) for r, c in sorted(st.skipped.counts.items())),
                        *((f"suppressed.{r}", c) for r, c in sorted(st.suppressed.items()))):
        ET.SubElement(props, "property", {"name": xml_text(name), "value": xml_text(value)})
    if not result.findings:
        ET.SubElement(suite, "testcase", {"classname": SUITE, "name": "no secrets found", "time": duration})
    for f in result.findings:
        attrs = {"classname": xml_text(_where(f)), "name": xml_text(_case_name(f)), "time": "0"}
        if f.location.path and f.location.source not in ("cluster", "image"):
            attrs["file"] = xml_text(f.location.path)
            if f.location.line:
                attrs["line"] = str(f.location.line)
        case = ET.SubElement(suite, "testcase", attrs)
        message = f"{f.severity._value_}: {f.message or f.rule_id} ({f.preview})"
        failure = ET.SubElement(case, "failure", {"message": xml_text(message), "type": f.severity._value_})
        failure.text = xml_text(_failure_text(f))
    return root


def render(result: ScanResult, *, color: bool = False) -> str:
    root = to_element(result)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
