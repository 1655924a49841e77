"""The one place a hygiene fault becomes a Finding: located at the field at fault, never holding a value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from secretkeeper.findings import HYGIENE, Finding, Location, Severity, fingerprint, redact, sha256_hex
from secretkeeper.hygiene.catalog import RULES_BY_ID
from secretkeeper.kube.objects import KubeObject

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector, Match

_SOURCES = frozenset(("manifest", "cluster", "image"))


def emit(rule_id: str, obj: KubeObject, field: tuple[str | int, ...], message: str, *,
         suffix: tuple[str, ...] = (), detail: str = "", value: bytes | str | None = None,
         digest: str | None = None, severity: Severity | None = None,
         extra: dict[str, Any] | None = None) -> Finding:
    """A hygiene finding for `obj` at the line of `field` (nearest ancestor with a line).

    `suffix` extends the object reference (`container`, `env NAME`); `detail` tells apart several
    findings of one rule on one object in the fingerprint; `value` is hashed and redacted, never kept in
    the finding; it goes to `obj.flagged`, from which the source redacts it wherever a finding of the
    object's file or cluster names it (an env var, a container, the object itself named after it).
    """
    # Runs once per finding, tens of thousands of times in a large tree: nothing imported or copied here.
    meta = RULES_BY_ID[rule_id]
    ref = obj.ref(*suffix)
    line = obj.line(*field) if (obj.lines or obj.doc_line) else None
    preview = ""
    if value is not None:
        if digest is None:
            digest = sha256_hex(value)
        preview = redact(value)
        obj.flagged.append(value)
    source = obj.source if obj.source in _SOURCES else "manifest"
    # Positional: keyword arguments cost a name lookup each, here tens of thousands of times.
    return Finding(rule_id, HYGIENE, severity or meta.severity,
                   Location(source, obj.path, line, None, None, None, None, None, None, ref),
                   digest, preview,
                   fingerprint(rule_id, obj.path or ref, digest, f"{ref}#{detail}" if detail else ref),
                   message, meta.remediation, meta.description, dict(extra) if extra else {})


class Recogniser:
    """Which rule the engine recognises a value as: by scanning the value alone (live objects), or, for a
    manifest file the engine has already scanned, by finding the value among that file's matches."""

    _INDEX_FROM = 32  # matches in a file past which values are looked up by prefix, not one by one

    def __init__(self, detector: Detector | None, matches: Sequence[Match] | None = None) -> None:
        self.detector = detector
        self.secrets = None if matches is None else [(m.secret.strip(), m.rule.id) for m in matches]
        # A manifest of thousands of workloads with a credential each asked every value about every
        # match (quadratic); past a few matches, secrets are indexed by their first `width` bytes.
        self.by_prefix: dict[bytes, list[int]] | None = None
        nonempty = [s for s, _ in self.secrets or () if s]
        if len(nonempty) > self._INDEX_FROM:
            self.width = min(map(len, nonempty))
            self.by_prefix = {}
            for i, (secret, _rid) in enumerate(self.secrets or ()):
                if secret:
                    self.by_prefix.setdefault(secret[:self.width], []).append(i)

    def __call__(self, value: str, path: str | None) -> str | None:
        raw = value.encode("utf-8", "surrogateescape")
        if self.secrets is not None:
            if self.by_prefix is None:
                return next((rid for secret, rid in self.secrets if secret and secret in raw), None)
            # The first match (in file order) whose secret occurs in the value, as the plain loop finds.
            first = None
            width, secrets = self.width, self.secrets
            for at in range(len(raw) - width + 1):
                for i in self.by_prefix.get(raw[at:at + width], ()):
                    if (first is None or i < first) and raw.startswith(secrets[i][0], at):
                        first = i
            return None if first is None else secrets[first][1]
        if self.detector is None:
            return None
        hits = self.detector.scan(raw, path)
        return hits[0].rule.id if hits else None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
