"""JSON report: a stable, documented schema (README "JSON report"). Version bumps on breaking change.

    {
      "version": 1,
      "tool": {"name": "secretkeeper", "version": "0.1.0"},
      "roots": ["."],
      "summary": {"findings": 2, "by_severity": {...}, "by_kind": {...}, "files": 10, "bytes": 1234,
                  "blobs": 0, "commits": 0, "objects": 0, "images": 0, "rules": 180,
                  "duration_seconds": 0.12, "skipped": {"binary": 1}, "suppressed": {"baseline": 1},
                  "warnings": []},
      "findings": [{"rule_id", "kind", "severity", "location": {...}, "secret_sha256", "preview",
                    "fingerprint", "message", "remediation", "description"}],
      "skipped": [{"path": "img.png", "reason": "binary"}]
    }
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from secretkeeper import __version__
from secretkeeper.findings import LOCATION_FIELDS, Finding

if TYPE_CHECKING:
    from secretkeeper.scan import ScanResult

SCHEMA_VERSION = 1


def summary(result: ScanResult) -> dict[str, Any]:
    st = result.stats
    return {
        "findings": len(result.findings),
        "by_severity": dict(Counter(f.severity.value for f in result.findings)),
        "by_kind": dict(Counter(f.kind for f in result.findings)),
        "files": st.files,
        "bytes": st.bytes,
        "blobs": st.blobs,
        "commits": st.commits,
        "objects": st.objects,
        "images": st.images,
        "rules": st.rules,
        "duration_seconds": round(st.duration, 3),
        "skipped": dict(st.skipped.counts),
        "suppressed": dict(st.suppressed),
        "warnings": list(st.warnings),
    }


def to_document(result: ScanResult, *, findings: bool = True) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "secretkeeper", "version": __version__},
        "roots": result.roots,
        "summary": summary(result),
        "findings": [f.to_dict() for f in result.findings] if findings else [],
        "skipped": [{"path": p, "reason": r} for p, r in result.stats.skipped.paths],
    }


_compact = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode
_ENCODE_STR = json.encoder.encode_basestring_ascii  # what the encoder does for a str, in C


class _FindingWriter:
    """One finding as the compact JSON line `_compact(finding.to_dict())` would give, several times faster:
    the strings a report repeats (rule ids, descriptions, remediations, paths, messages) are encoded once."""

    def __init__(self) -> None:
        self.memo: dict[str, str] = {}

    def enc(self, value: object) -> str:
        kind = type(value)
        if kind is str:
            out = self.memo.get(value)  # type: ignore[arg-type]
            if out is None:
                out = self.memo[value] = _ENCODE_STR(value)  # type: ignore[index]
            return out
        if value is None:
            return "null"
        return str(value) if kind is int else _compact(value)

    def line(self, f: Finding) -> str:
        enc = self.enc
        fields = f.location.__dict__
        where = ", ".join([f"{head}{enc(v)}" for k, head in _LOCATION_HEADS if (v := fields[k]) is not None])
        extra = f', "extra": {_compact(f.extra)}' if f.extra else ""
        return (f'{{"rule_id": {enc(f.rule_id)}, "kind": {enc(f.kind)}, "severity": {enc(f.severity.value)}, '
                f'"location": {{{where}}}, "secret_sha256": {enc(f.secret_sha256)}, "preview": {enc(f.preview)}, '
                f'"fingerprint": {enc(f.fingerprint)}, "message": {enc(f.message)}, '
                f'"remediation": {enc(f.remediation)}, "description": {enc(f.description)}{extra}}}')


_LOCATION_HEADS = tuple((k, f'"{k}": ') for k in LOCATION_FIELDS)


def render(result: ScanResult, *, color: bool = False) -> str:
    """Indented at the top, one finding (or skipped file) per line: readable, grep-able, and written by
    json's C encoder (`indent=` switches json to its pure-Python encoder, the cost of large reports)."""
    doc = {**to_document(result, findings=False), "findings": result.findings}
    writer = _FindingWriter()
    parts = []
    for key, value in doc.items():
        if key == "findings" and value:
            rows = ",\n".join(f"    {writer.line(item)}" for item in value)
            parts.append(f'  "findings": [\n{rows}\n  ]')
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join(f"    {_compact(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, indent=2).replace(chr(10), chr(10) + '  ')}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
