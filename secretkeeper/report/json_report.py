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
from json.encoder import encode_basestring_ascii as _escape
from typing import TYPE_CHECKING, Any

from secretkeeper import __version__

from secretkeeper.findings import Finding

if TYPE_CHECKING:
    from secretkeeper.results import ScanResult

SCHEMA_VERSION = 1


def summary(result: ScanResult) -> dict[str, Any]:
    st = result.stats
    return {
        "findings": len(result.findings),
        "by_severity": dict(Counter(f.severity._value_ for f in result.findings)),  # `.value`: a property, ~1k each
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
        "warnings": [utf8_text(w) for w in st.warnings],
    }


def to_document(result: ScanResult, *, findings: bool = True) -> dict[str, Any]:
    """The report as plain values; `findings=False` leaves that list empty (`render` writes it itself)."""
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "secretkeeper", "version": __version__},
        "roots": [utf8_text(r) for r in result.roots],
        "summary": summary(result),
        "findings": [f.to_dict() for f in result.findings] if findings else [],
        "skipped": [{"path": utf8_text(p), "reason": r} for p, r in result.stats.skipped.paths],
    }


def utf8_text(value: object) -> str:
    """Text any UTF-8 writer can carry: bytes that were not UTF-8 (surrogate-escaped in paths) become U+FFFD."""
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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


compact = _compact_encoder()  # also writes the SARIF report's results


def _string(value: str) -> str:
    """`encode_basestring_ascii(value)`: json's escaper costs ~40 instructions a character, and a
    printable ASCII string without quotes or backslashes is its own JSON between quotes. Undecodable
    bytes (surrogate-escaped in paths) become U+FFFD: an escaped lone surrogate is not UTF-8 JSON."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return _escape(utf8_text(value))


_RARE_FIELDS = ("commit", "author", "email", "date", "image", "digest")  # Location's order, line to object
_NO_RARE = (None,) * len(_RARE_FIELDS)


class _FindingRows:
    """One finding's line, exactly `compact(finding.to_dict())` (a test holds them equal; undecodable
    bytes become U+FFFD, see `_string`), without building the dict: a report of 30k Kubernetes hygiene
    findings spent more on JSON than on parsing the YAML. The JSON of strings that repeat from finding
    to finding (rule id, remediation, description, path, object) is kept."""

    _MEMO_LIMIT = 1 << 16  # distinct strings kept; past that the memo starts over (memory stays bounded)

    def __init__(self) -> None:
        self.memo: dict[str, str] = {}
        self.shared: dict[tuple[object, ...], tuple[str, str]] = {}

    def text(self, value: str) -> str:
        memo = self.memo
        out = memo.get(value)
        if out is None:
            if len(memo) >= self._MEMO_LIMIT:
                memo.clear()
            out = memo[value] = _string(value)
        return out

    def row(self, f: Finding) -> str:
        # Written out field by field: in CPython 3.11 every tuple built or function called here costs
        # hundreds of instructions, as much as the rest of the row.
        memo, text = self.memo, self.text
        loc = f.location
        where = f'"source": {memo.get(loc.source) or text(loc.source)}'
        if loc.path is not None:
            where += f', "path": {memo.get(loc.path) or text(loc.path)}'
        if loc.line is not None:
            where += f', "line": {loc.line if type(loc.line) is int else compact(loc.line)}'
        rare = (loc.commit, loc.author, loc.email, loc.date, loc.image, loc.digest)  # history and images only
        if rare != _NO_RARE:
            where += "".join(f', "{k}": {text(v) if type(v) is str else compact(v)}'
                             for k, v in zip(_RARE_FIELDS, rare) if v is not None)
        if loc.object is not None:
            where += f', "object": {memo.get(loc.object) or text(loc.object)}'
        if loc.end_line is not None:
            where += f', "end_line": {loc.end_line if type(loc.end_line) is int else compact(loc.end_line)}'
        sha = f.secret_sha256
        extra = f', "extra": {compact(dict(f.extra))}' if f.extra else ""
        if extra and f.extra.get("weak"):
            extra = ', "weak": true' + extra
        # The parts a rule's findings share, written once per rule (and severity: a config may override it).
        key = (f.rule_id, f.kind, f.severity, f.remediation, f.description)
        shared = self.shared.get(key)
        if shared is None:
            shared = self.shared[key] = (
                f'{{"rule_id": {text(f.rule_id)}, "kind": {text(f.kind)}, "severity": "{f.severity._value_}", '
                f'"location": {{', f', "remediation": {text(f.remediation)}, "description": {text(f.description)}')
        return (f'{shared[0]}{where}}}, "secret_sha256": {"null" if sha is None else _string(sha)}, '
                f'"preview": {_string(f.preview)}, "fingerprint": {_string(f.fingerprint)}, '
                f'"message": {memo.get(f.message) or text(f.message)}{shared[1]}{extra}}}')


def render(result: ScanResult, *, color: bool = False) -> str:
    """Indented at the top, one finding (or skipped file) per line: readable, grep-able, and written by
    json's C encoder (`indent=` switches json to its pure-Python encoder, the cost of large reports)."""
    parts = []
    for key, value in to_document(result, findings=False).items():
        if key == "findings":
            rows = ",\n".join(f"    {line}" for line in map(_FindingRows().row, result.findings))
            parts.append(f'  "findings": [\n{rows}\n  ]' if rows else '  "findings": []')
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            rows = ",\n".join(f"    {compact(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, indent=2).replace(chr(10), chr(10) + '  ')}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
