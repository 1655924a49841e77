"""Finding records, severities, fingerprints and redaction.

A Finding never holds a secret: only its sha256 and a redacted preview of at most four clear characters.
Names a finding prints (its path, object, image, git author, message) are scrubbed of the secrets known
where it is built and at the end of the scan (`Scrubber`, secretkeeper/printed.py), so a secret in a name
is not printed beside its own preview.
Fingerprints leave the line (and the commit) out, so baselines survive edits and history rewrites.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
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
    end_line: int | None = None  # the last line of a finding that spans lines (a key block), else None

    # Written out rather than generated: a frozen dataclass's __init__ sets each field through
    # object.__setattr__, 2.5x the cost of one dict update, and a large scan builds tens of thousands of
    # these (tests/test_findings.py checks this signature against the fields).
    def __init__(self, source: str, path: str | None = None, line: int | None = None, commit: str | None = None,
                 author: str | None = None, email: str | None = None, date: str | None = None,
                 image: str | None = None, digest: str | None = None, object: str | None = None,
                 end_line: int | None = None) -> None:
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
        d["end_line"] = end_line

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
            if self.extra.get("weak"):
                data["weak"] = True
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


# A secret written into a Kubernetes name is spelled as DNS-1123 lets it be: lower case, `-` for `_`.
_FOLD = str.maketrans(string.ascii_uppercase + "_", string.ascii_lowercase + "-")
_SHORTEST = 6


def _fold(text: str) -> str:
    """`text` as a Kubernetes name would spell it, character for character (the same length)."""
    return text.lower().replace("_", "-") if text.isascii() else text.translate(_FOLD)


_LONGEST_WORD = 16


def _hidden_in_names(secret: str) -> bool:
    """Whether the names that spell `secret` are redacted: not for a short value or a plain word. The
    password `postgres` of a dev database named postgres would redact its workload, image and file
    names, and the word gives away nothing that those names do not. Past 16 letters a one-case run is no
    word but a key (an AWS key id can be 20 capitals: `AKIA` and 16 base32 letters, digits by chance)."""
    plain = len(secret) <= _LONGEST_WORD and secret.isalpha() and (
        secret.islower() or secret.isupper() or secret.istitle())
    return len(secret) >= _SHORTEST and not plain


class Scrubber:
    """Known secrets out of printed text: every occurrence of one, also as a Kubernetes name spells it,
    becomes its redaction. Built with the secrets known where findings are made (a match's own secret;
    those of a manifest file or a live cluster) and at the end of a scan (those found in printed names)."""

    _INDEX_FROM = 32  # secrets past which text is searched by prefix, not secret by secret

    def __init__(self, secrets: Iterable[bytes | str]) -> None:
        needles = set()
        for secret in secrets:
            text = (secret.decode("utf-8", "surrogateescape") if isinstance(secret, bytes) else secret).strip()
            if _hidden_in_names(text):
                needles.add(_fold(text))
        self.needles = sorted(needles)
        self.by_prefix: dict[str, list[str]] | None = None
        if len(needles) > self._INDEX_FROM:
            # Many secrets (a manifest of many workloads with a credential each) are looked up by their
            # first `width` characters, and only in runs of characters that secrets are made of: one
            # pass over the few long words of a message, not one per secret.
            self.width = min(map(len, needles))
            self.by_prefix = {}
            for needle in self.needles:
                self.by_prefix.setdefault(needle[:self.width], []).append(needle)
            alphabet = re.escape("".join(sorted(set().union(*needles))))
            self.runs = re.compile(f"[{alphabet}]{{{self.width},}}")
        self.done: dict[str, str] = {}  # the same names recur from finding to finding

    def __bool__(self) -> bool:
        return bool(self.needles)

    def __call__(self, text: str) -> str:
        if not self.needles or not text:
            return text
        out = self.done.get(text)
        if out is None:
            out = self.done[text] = self._scrub(text)
        return out

    def finding(self, finding: Finding) -> Finding:
        """`finding` with its printed names, message and extra text scrubbed (itself when none holds a
        secret)."""
        if not self.needles:
            return finding
        loc = finding.location
        names = loc.__dict__
        changed = {key: scrubbed for key in NAME_FIELDS if names[key] and (scrubbed := self(names[key])) != names[key]}
        message = self(finding.message)
        extra = finding.extra
        if extra:
            extra = {k: self(v) if isinstance(v, str) else v for k, v in extra.items()}
        if not changed and message == finding.message and extra == finding.extra:
            return finding
        return replace(finding, location=replace(loc, **changed) if changed else loc, message=message,
                       extra=extra)

    def _spans(self, folded: str) -> Iterator[tuple[int, int]]:
        if self.by_prefix is None:
            for needle in self.needles:
                at = folded.find(needle)
                while at >= 0:
                    yield at, at + len(needle)
                    at = folded.find(needle, at + 1)
            return
        width, by_prefix = self.width, self.by_prefix
        for run in self.runs.finditer(folded):
            for at in range(run.start(), run.end() - width + 1):
                for needle in by_prefix.get(folded[at:at + width], ()):
                    if folded.startswith(needle, at):
                        yield at, at + len(needle)

    def _scrub(self, text: str) -> str:
        folded = _fold(text)
        if self.by_prefix is None:  # most texts hold none of a few secrets: asked before anything is built
            for needle in self.needles:
                if needle in folded:
                    break
            else:
                return text
        spans = sorted(self._spans(folded))
        if not spans:
            return text
        parts, done = [], 0
        start, stop = spans[0]
        for s, e in spans[1:] + [(len(text) + 1, 0)]:  # a sentinel closes the last span
            if s < stop:  # overlapping occurrences are one redaction
                stop = max(stop, e)
                continue
            parts += [text[done:start], redact(text[start:stop])]
            done, start, stop = stop, s, e
        parts.append(text[done:])
        return "".join(parts)


NAME_FIELDS = ("path", "object", "image", "author", "email")  # Location fields that can hold a name


def fingerprint(rule_id: str, path: str | None, secret_hash: str | None, extra: str = "") -> str:
    """Stable across line moves and history rewrites: rule + path + secret hash (+ object for hygiene)."""
    material = "\x1f".join([rule_id, path or "", secret_hash or "", extra])
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def finding_from_match(match: Match, location: Location, *, fingerprint_path: str | None = None,
                       extra: dict[str, Any] | None = None) -> Finding:
    """The one place an engine Match becomes a Finding: the secret is hashed and redacted here and dropped,
    and redacted too wherever the location or message names it (an env var, key or path that is the secret)."""
    from secretkeeper.filters import is_weak  # imported when the first finding is made, not at start-up

    if is_weak(match.secret):  # a weak committed password is worse, not better: the reports say so
        extra = {**(extra or {}), "weak": True}
    spans = match.secret.count(b"\n", 0, len(match.secret.rstrip()))
    if spans and location.line:
        location = replace(location, end_line=location.line + spans)
    found = leak_finding(match.rule, location, match.secret_sha256, redact(match.secret),
                         fingerprint_path=fingerprint_path, extra=extra)
    return Scrubber((match.secret,)).finding(found)


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
