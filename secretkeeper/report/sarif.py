"""SARIF 2.1.0 report for code scanning (GitHub, GitLab, Azure DevOps). See docs/reports.md.

One run; `tool.driver.rules` lists every rule that fired; each result points at the file relative to
`%SRCROOT%` (the scanned root), or, for cluster objects and image layers, at a logical location. Results
carry `partialFingerprints["secretkeeper/v1"]` (the baseline fingerprint) so code scanning tracks an
alert across line moves, and `commitSha` for history findings. Never a secret: only its sha256 and a
redacted preview.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from secretkeeper import __version__
from secretkeeper.findings import Finding, Severity
from secretkeeper.report.json_report import compact, utf8_text

if TYPE_CHECKING:
    from secretkeeper.results import ScanResult

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "secretkeeper/v1"
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning buckets: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_LOGICAL_SOURCES = ("cluster", "image")


def artifact_uri(path: str) -> str:
    """A relative URI reference for a '/'-separated path: raw bytes percent-encoded, '/' kept."""
    raw = path.replace(os.sep, "/").encode("utf-8", "surrogateescape")
    return quote(raw, safe="/-._~!$&'()*+,;=@")


def root_uri(roots: list[str]) -> str:
    """The file URI %SRCROOT% stands for: the single scanned directory (a file's parent), else the cwd."""
    base = Path.cwd()
    if len(roots) == 1:
        p = Path(roots[0])
        base = p if p.is_dir() else p.parent
    uri = base.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("-"))


def rule_descriptor(rule_id: str, rule: Any, sample: Finding) -> dict[str, Any]:
    severity: Severity = getattr(rule, "severity", None) or sample.severity
    description = utf8_text(getattr(rule, "description", "") or sample.description or sample.message or rule_id)
    remediation = utf8_text(getattr(rule, "remediation", "") or sample.remediation or "")
    tags = ["security", "secret" if sample.kind == "leak" else "hygiene"]
    family = getattr(rule, "family", "")
    if family:
        tags.append(utf8_text(family))
    tags.extend(utf8_text(t) for t in getattr(rule, "tags", ()) if t not in tags)
    desc: dict[str, Any] = {
        "id": rule_id,
        "name": _camel(rule_id),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description + (f". {remediation}" if remediation else "")},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "high",
            "problem.severity": "error" if LEVEL[severity] == "error" else "warning",
        },
    }
    if remediation:
        desc["help"] = {"text": remediation, "markdown": remediation}
    return desc


def _locations(f: Finding) -> list[dict[str, Any]]:
    loc = f.location
    location: dict[str, Any] = {}
    if loc.path and loc.source not in _LOGICAL_SOURCES:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(loc.path), "uriBaseId": "%SRCROOT%"}}
        if loc.line:
            physical["region"] = {"startLine": int(loc.line)}
            if loc.end_line:
                physical["region"]["endLine"] = int(loc.end_line)
        location["physicalLocation"] = physical
    logical = []
    if loc.object:
        logical.append({"fullyQualifiedName": utf8_text(loc.object), "kind": "resource"})
    if loc.image:
        name = utf8_text(loc.image) + (f"@{utf8_text(loc.digest)}" if loc.digest else "")
        if loc.path:
            name += f"!/{utf8_text(loc.path).lstrip('/')}"
        logical.append({"fullyQualifiedName": name, "kind": "module"})
    if logical:
        location["logicalLocations"] = logical
    if not location:
        return []
    return [location]


def _message(f: Finding) -> str:
    what = utf8_text(f.message or f.description or f.rule_id)
    where = ""
    if f.location.object and f.location.source in _LOGICAL_SOURCES:
        where = f" in {utf8_text(f.location.object)}"
    elif f.location.image:
        where = f" in image {utf8_text(f.location.image)}"
    return f"{what}{where} (preview {utf8_text(f.preview)}, severity {f.severity._value_})"


def _result(f: Finding, index: int) -> dict[str, Any]:
    loc = f.location
    prints = {FINGERPRINT_KEY: f.fingerprint}
    if loc.commit:
        prints["commitSha"] = loc.commit
    props: dict[str, Any] = {"kind": f.kind, "severity": f.severity._value_, "preview": utf8_text(f.preview)}
    if f.secret_sha256:
        props["secretSha256"] = f.secret_sha256
    if f.extra.get("weak"):
        props["weak"] = True
    for key in ("commit", "author", "email", "date", "image", "digest", "object"):
        value = getattr(loc, key)
        if value:
            props[key] = utf8_text(value)
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "partialFingerprints": prints,
        "properties": props,
    }
    locations = _locations(f)
    if locations:
        result["locations"] = locations
    return result


def to_document(result: ScanResult) -> dict[str, Any]:
    index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    results = []
    for f in result.findings:
        if f.rule_id not in index:
            index[f.rule_id] = len(rules)
            rules.append(rule_descriptor(f.rule_id, result.rules.get(f.rule_id), f))
        results.append(_result(f, index[f.rule_id]))
    st = result.stats
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "secretkeeper",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri(result.roots)}},
        "invocations": [{
            "executionSuccessful": True,
            "properties": {"skipped": dict(st.skipped.counts), "suppressed": dict(st.suppressed),
                           "files": st.files, "bytes": st.bytes},
        }],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: ScanResult, *, color: bool = False) -> str:
    """Indented, one result per line. ASCII with \\u escapes: lossless whatever the encoding of the stdout
    it is printed to. `indent=` switches json to its pure-Python encoder: the results (tens of thousands
    in a large cluster) are written by the C encoder and put in place of a marker."""
    doc = to_document(result)
    run = doc["runs"][0]
    results, marker = run["results"], f"results-{uuid.uuid4().hex}"
    run["results"] = marker
    text = json.dumps(doc, indent=2)
    rows = ",\n".join(f"        {compact(r)}" for r in results)
    return text.replace(f'"{marker}"', f"[\n{rows}\n      ]" if rows else "[]", 1) + "\n"
