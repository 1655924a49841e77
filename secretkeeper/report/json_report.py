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


def to_document(result: ScanResult) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "secretkeeper", "version": __version__},
        "roots": result.roots,
        "summary": summary(result),
        "findings": [f.to_dict() for f in result.findings],
        "skipped": [{"path": p, "reason": r} for p, r in result.stats.skipped.paths],
    }


def _compact_encoder() -> Any:
    """One line of JSON per value. `JSONEncoder.encode` builds a new C encoder on every call; a report
    of tens of thousands of findings reuses one (same output: ASCII, `, ` and `: ` separators)."""
    from json import encoder

    plain = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": "))
    if encoder.c_make_encoder is None:  # pragma: no cover - an interpreter without the C accelerator
        return plain.encode
    c_encode = encoder.c_make_encoder(None, plain.default, encoder.encode_basestring_ascii, None, ": ", ", ",
                                      False, False, True)
    return lambda value: "".join(c_encode(value, 0))


_compact = _compact_encoder()


def render(result: ScanResult, *, color: bool = False) -> str:
    """Indented at the top, one finding (or skipped file) per line: readable, grep-able, and written by
    json's C encoder (`indent=` switches json to its pure-Python encoder, the cost of large reports)."""
    parts = []
    for key, value in to_document(result).items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join(f"    {_compact(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, indent=2).replace(chr(10), chr(10) + '  ')}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
