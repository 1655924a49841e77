"""Finding records, severities, fingerprints and redaction.

A Finding never holds a secret: only its sha256 and a redacted preview of at most four clear characters.
Fingerprints leave the line (and the commit) out, so baselines survive edits and history rewrites.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secretkeeper.engine import Match
    from secretkeeper.rules import Rule


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __reduce_ex__(self, _protocol: object) -> tuple[Any, ...]:  # a dict lookup, not Enum's __call__
        return _severity, (self.value,)

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (choose from {choices})") from None


def _severity(value: str) -> Severity:
    return _BY_VALUE[value]


_BY_VALUE = {s.value: s for s in Severity}
_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}

LEAK = "leak"
HYGIENE = "hygiene"


@dataclass(frozen=True)
class Location:
    """Where a finding is; only the fields that apply are set."""

    source: str  # "file" | "git" | "image" | "cluster" | "manifest"
    path: str | None = None  # relative to the scanned root (or image file path / manifest path)
    line: int | None = None  # 1-based
    commit: str | None = None  # introducing commit for history findings
    author: str | None = None
    email: str | None = None
    date: str | None = None
    image: str | None = None  # image reference
    digest: str | None = None  # image digest
    object: str | None = None  # k8s "Kind/namespace/name[/container/env NAME]"

    # Written out rather than generated: a frozen dataclass's __init__ sets each field through
    # object.__setattr__, 2.5x the cost of one dict update, and a large scan builds tens of thousands of
    # these (tests/test_findings.py checks this signature against the fields).
    def __init__(self, source: str, path: str | None = None, line: int | None = None, commit: str | None = None,
                 author: str | None = None, email: str | None = None, date: str | None = None,
                 image: str | None = None, digest: str | None = None, object: str | None = None) -> None:
        d = self.__dict__  # one store per field: `update(**kwargs)` builds a dict first, 1.5x the cost
        d["source"] = source
        d["path"] = path
        d["line"] = line
        d["commit"] = commit
        d["author"] = author
        d["email"] = email
        d["date"] = date
        d["image"] = image
        d["digest"] = digest
        d["object"] = object

    def __reduce__(self) -> tuple[Any, ...]:  # positional values: half the pickle, no per-field setattr
        return Location, tuple(self.__dict__.values())

    def display(self) -> str:
        where = self.path or self.object or self.image or "<input>"
        if self.line:
            where = f"{where}:{self.line}"
        if self.commit:
            where = f"{where}@{self.commit[:12]}"
        return where


@dataclass(frozen=True)
class Finding:
    rule_id: str
    kind: str  # "leak" | "hygiene"
    severity: Severity
    location: Location
    secret_sha256: str | None
    preview: str
    fingerprint: str
    message: str
    remediation: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __init__(self, rule_id: str, kind: str, severity: Severity, location: Location, secret_sha256: str | None,
                 preview: str, fingerprint: str, message: str, remediation: str = "", description: str = "",
                 extra: dict[str, Any] | None = None) -> None:  # written out: see Location.__init__
        d = self.__dict__
        d["rule_id"] = rule_id
        d["kind"] = kind
        d["severity"] = severity
        d["location"] = location
        d["secret_sha256"] = secret_sha256
        d["preview"] = preview
        d["fingerprint"] = fingerprint
        d["message"] = message
        d["remediation"] = remediation
        d["description"] = description
        d["extra"] = {} if extra is None else extra

    def __reduce__(self) -> tuple[Any, ...]:  # workers send findings back pickled: see Location.__reduce__
        return Finding, tuple(self.__dict__.values())

    def to_dict(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies every field and dominated reports of many findings.
        loc = self.location
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "severity": self.severity.value,
            "location": {k: v for k, v in loc.__dict__.items() if v is not None},  # fields in declaration order
            "secret_sha256": self.secret_sha256,
            "preview": self.preview,
            "fingerprint": self.fingerprint,
            "message": self.message,
            "remediation": self.remediation,
            "description": self.description,
        }
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


def sha256_hex(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return hashlib.sha256(value).hexdigest()


def redact(value: bytes | str, clear: int = 4) -> str:
    """At most `clear` leading characters in clear, fewer for short values, then an ellipsis."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.strip()
    shown = min(clear, len(value) // 4)
    # Never show anything past a line break: a PEM preview stays "----…".
    head = value[:shown].split("\n", 1)[0]
    return f"{head}…"


def fingerprint(rule_id: str, path: str | None, secret_hash: str | None, extra: str = "") -> str:
    """Stable across line moves and history rewrites: rule + path + secret hash (+ object for hygiene)."""
    material = "\x1f".join([rule_id, path or "", secret_hash or "", extra])
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def finding_from_match(match: Match, location: Location, *, fingerprint_path: str | None = None,
                       extra: dict[str, Any] | None = None) -> Finding:
    """The one place an engine Match becomes a Finding: the secret is hashed and redacted here and dropped."""
    return leak_finding(match.rule, location, match.secret_sha256, redact(match.secret),
                        fingerprint_path=fingerprint_path, extra=extra)


def leak_finding(rule: Rule, location: Location, secret_sha256: str, preview: str, *,
                 fingerprint_path: str | None = None, note: str = "", advice: str = "",
                 extra: dict[str, Any] | None = None) -> Finding:
    """A leak of `rule` at `location`, built once its place is known (a source's provenance goes in here,
    never patched in afterwards). The fingerprint keys on `fingerprint_path` (default: the location's path,
    object or image); `note` follows the rule's description in the message and `advice` follows its
    remediation (the rule's own steps first)."""
    where = fingerprint_path if fingerprint_path is not None else location.path or location.object or location.image
    return Finding(
        rule_id=rule.id,
        kind=LEAK,
        severity=rule.severity,
        location=location,
        secret_sha256=secret_sha256,
        preview=preview,
        fingerprint=fingerprint(rule.id, where, secret_sha256),
        message=rule.description + note,
        remediation=f"{rule.remediation} {advice}".strip() if advice else rule.remediation,
        description=rule.description,
        extra=extra,
    )
