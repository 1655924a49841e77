"""Kubernetes manifests as a source: files that hold Kubernetes objects, scanned for leaks and hygiene.

Any `.yaml`/`.yml`/`.json` file (or extension-less file) whose bytes contain `apiVersion` and `kind` is
parsed by `secretkeeper.kube.manifests.parse_manifests`. Helm *templates* (`{{ ... }}`) are not YAML and
are skipped quietly: their bytes still go through the engine like any file. A file the parser refuses
(over the size limit, invalid YAML, a YAML bomb) is a counted, named skip with a one-line message.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from secretkeeper.findings import Finding, Location
from secretkeeper.kube.manifests import parse_manifests
from secretkeeper.kube.objects import KubeObject
from secretkeeper.kube.secretdata import stored_values

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector, Match

MANIFEST_EXTENSIONS = (".yaml", ".yml", ".json")
_KIND_RE = re.compile(rb"""(?:^|[\s{,])["']?kind["']?\s*:""")
_API_RE = re.compile(rb"""(?:^|[\s{,])["']?apiVersion["']?\s*:""")
_OPENS_LIKE_MANIFEST = re.compile(rb"(?:\s*#[^\n]*\n|\s*\n)*(?:---|apiVersion:|kind:)")
_TEMPLATE_MARKERS = (b"{{", b"{%")


def is_candidate(path: str | None, data: bytes) -> bool:
    """Cheap test on name and bytes: could this file hold Kubernetes objects? Ordinary files cost nothing."""
    if b"apiVersion" not in data or b"kind" not in data:
        return False
    if path is not None:
        ext = os.path.splitext(path)[1].lower()
        if ext not in MANIFEST_EXTENSIONS:
            # Without a manifest extension, only a file that opens like one (`---`, `apiVersion:`, `kind:`).
            return not ext and bool(_OPENS_LIKE_MANIFEST.match(data))
    return bool(_API_RE.search(data)) and bool(_KIND_RE.search(data))


# -- scanning -------------------------------------------------------------------------------------------
def _first_lines(objects: list[KubeObject]) -> list[int]:
    """Each object's first line; objects come in file order, so these ascend."""
    return [min(obj.lines.values()) if obj.lines else (obj.doc_line or 0) for obj in objects]


def _owner(objects: list[KubeObject], first_lines: list[int], line: int) -> KubeObject | None:
    """The object whose document holds `line`: a bisection (a rendered chart of thousands of objects with
    a match in each was quadratic when every lookup walked the objects)."""
    i = bisect_right(first_lines, line)
    return objects[i - 1] if i else None


def _encoded_strings(objects: list[KubeObject]) -> list[bytes]:
    """Values a generic rule must not judge by their text: the base64 of Secret `data` and ConfigMap
    `binaryData` (decoded and scanned separately) and SealedSecret ciphertext (safe to commit)."""
    return [stored.written.encode("ascii", "ignore") for obj in objects for stored in stored_values(obj)
            if stored.encoded and isinstance(stored.written, str)]


def _inside(secret: bytes, values: list[bytes]) -> bool:
    secret = secret.strip()
    return len(secret) >= 8 and any(secret in v for v in values)


def _yield_to_decoded(matches: list[Match], objects: list[KubeObject], decoded: list[Finding]) -> list[Match]:
    """Base64 text yields to what the decoded value holds: a generic rule's match always, any other where
    the decoded value has a finding of its own (a JWT and its base64 are one secret)."""
    encoded = _encoded_strings(objects)
    if not encoded:
        return matches
    lines = {f.location.line for f in decoded}
    return [m for m in matches if not (_inside(m.secret, encoded) and (m.rule.generic or m.line in lines))]


# A document whose values may be stored encoded: Secret and ConfigMap data, SealedSecret ciphertext.
STORED_KIND_RE = re.compile(rb"""(?m)^[ \t{,]*["']?kind["']?[ \t]*:[ \t]*["']?(?:Secret|SealedSecret|ConfigMap)\b""")


def stored_value_leaks(data: bytes, path: str | None, detector: Detector,
                       matches: list[Match]) -> tuple[list[Match], list[Finding]]:
    """For a manifest read out of place (a history blob that blobscan.may_store_encoded: no hygiene, maybe
    no name), what the leak side of scan_manifest does: the matches, less those in encoded text, and the leaks of the decoded values. A
    Secret committed with base64 data and deleted later is found in history as it is in the tree."""
    objects, _errors = parse_manifests(data, path or "<blob>")
    if not objects:
        return matches, []
    try:
        return _decoded_beside(objects, detector, matches)
    except UnicodeError:
        return matches, []  # text the checks cannot encode: the raw matches stand


def _decoded_beside(objects: list[KubeObject], detector: Detector,
                    matches: list[Match]) -> tuple[list[Match], list[Finding]]:
    """The matches less those in encoded text (_yield_to_decoded), and the leaks of the decoded values that
    no match already reports. Raises UnicodeError for text the checks cannot encode."""
    from secretkeeper.hygiene import value_leaks

    decoded = value_leaks(objects, detector, encoded_only=True)
    matches = _yield_to_decoded(matches, objects, decoded)
    seen = {m.secret_sha256 for m in matches}
    return matches, [f for f in decoded if f.secret_sha256 not in seen]


def _checks_failed(out: list[Finding], path: str, stats: Any, exc: UnicodeError) -> list[Finding]:
    """A string that is not Unicode text (an unpaired surrogate, written as an escape that ruamel.yaml lets
    through and libyaml refuses) cannot be encoded to be checked: the raw scan's leaks stand, the file is a
    counted skip. Any other exception is a bug in the checks and propagates."""
    if stats is not None:
        stats.skipped.add("manifest-error", path)
        stats.warnings.append(f"{path}: Kubernetes checks failed ({type(exc).__name__}); leaks still scanned")
    return out


def scan_manifest(data: bytes, path: str, detector: Detector, *, stats: Any = None,
                  matches: list[Match] | None = None) -> list[Finding]:
    """Leaks and hygiene faults in one manifest file.

    Leaks: the engine on the raw bytes (pass `matches` when already scanned) plus base64-decoded
    `Secret.data` / `ConfigMap.binaryData` values, reported at their key's line, never twice for one
    secret. Hygiene: `secretkeeper.hygiene.check_objects`. A document that fails to parse, or holds text
    the checks cannot read, is a counted `manifest-error` skip with its message in `stats.warnings`; Helm
    templates are skipped quietly.
    """
    from secretkeeper.findings import Scrubber, finding_from_match
    from secretkeeper.hygiene import check_objects

    if matches is None:
        matches = detector.scan(data, path)
    objects: list[KubeObject] = []
    errors: list[str] = []
    if is_candidate(path, data):
        objects, errors = parse_manifests(data, path)
        if errors and not objects and any(m in data for m in _TEMPLATE_MARKERS):
            errors = []  # a Helm/Jinja template, not rendered output: the raw scan is all we can do
    if errors and stats is not None:
        stats.skipped.add("manifest-error", path)
        stats.warnings.extend(errors)
    if stats is not None and objects:
        stats.objects += len(objects)
    out: list[Finding] = []
    extra: list[Finding] = []
    failed: UnicodeError | None = None
    if objects:
        try:
            matches, extra = _decoded_beside(objects, detector, matches)
        except UnicodeError as exc:
            failed = exc
            matches = _yield_to_decoded(matches, objects, [])
    first_lines = _first_lines(objects) if objects and matches else []
    for m in matches:
        owner = _owner(objects, first_lines, m.line) if objects else None
        if owner is None:
            out.append(finding_from_match(m, Location(source="file", path=path, line=m.line)))
        else:
            out.append(finding_from_match(m, Location(source="manifest", path=path, line=m.line,
                                                      object=owner.ref())))
    if failed is not None:
        return _checks_failed(out, path, stats, failed)
    if objects:
        try:
            extra.extend(check_objects(objects, detector, matches=matches))
        except UnicodeError as exc:
            return _checks_failed(out, path, stats, exc)
        out.extend(extra)
        # A secret of this file written into an object's names (a Deployment named after a token, in lower
        # case as Kubernetes names are) is redacted in every finding that names the object.
        scrub = Scrubber([m.secret for m in matches] + [v for obj in objects for v in obj.flagged])
        if scrub:
            out = [scrub.finding(f) for f in out]
    return out
