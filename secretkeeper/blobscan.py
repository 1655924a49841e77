"""One named blob through the checks every source applies: files, image layer entries and git history blobs.

Sources read blobs their own way (files from disk, layer entries from tar streams, history from
`git cat-file`) and hand each one here with the path it is scanned as, so the same rules hold
everywhere: path-gated rules (a credential file is scanned even when it looks binary), the binary sniff,
allowlisted paths, the engine; then, for a blob that is a whole file in place, the Kubernetes manifest
checks and the certificate checks, which the engine's markers call for. A history blob gets the leak side
of the manifest checks only (leaks_out_of_place).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from scanners.files import looks_binary
from secretkeeper.engine import MARKERS, Detector, Match
from secretkeeper.findings import Finding
from secretkeeper.rules import Rule

MARKER_MANIFEST, MARKER_CERTIFICATE = MARKERS
T = TypeVar("T")


class Place(Protocol[T]):
    """Where a source's blobs are: it builds the record of each engine match, with its Location, once."""

    # The blob is the whole file at its path (a file, a layer entry), so the manifest and certificate
    # checks apply, and `adopt` takes what they find. A history blob is not: its paths come later.
    whole_file: ClassVar[bool]

    def skipped_as(self, path: str | None) -> str:
        """How the blob is named in the skip list."""
        ...

    def found(self, match: Match, path: str | None) -> T:
        """The record of one engine match in the blob scanned as `path`."""
        ...

    def adopt(self, finding: Finding) -> T:
        """A finding of the manifest or certificate checks, which locate it at the bare path."""
        ...


def scan_blob(detector: Detector, data: bytes, path: str | None, place: Place[T], stats: Any,
              path_rules: Sequence[Rule] | None = None) -> list[T] | None:
    """What `data`, scanned as the blob at `path` (None: a blob without a name), holds; None when it is
    binary (then counted in `stats.skipped`). The caller counts the blobs it scanned: a file, a layer
    entry, a history blob. `path_rules`: `detector.path_rules_for(path)` when the caller has asked already
    (to skip binary file names without reading them). `stats`: anything with a `skipped` SkipLog; a
    ScanStats for whole files, whose manifest checks count objects and add warnings there.
    """
    if path_rules is None:
        path_rules = detector.path_rules_for(path) if path is not None else ()
    if not path_rules and looks_binary(data):
        stats.skipped.add("binary", place.skipped_as(path))
        return None
    if detector.allowlist.allows_path(path):  # scan.allowlist.paths covers the hygiene findings too
        return []
    markers: set[bytes] = set()
    matches = detector.scan(data, path, markers=markers, path_rules=path_rules)
    if not place.whole_file:
        if MARKER_MANIFEST in markers:
            return leaks_out_of_place(detector, data, path, place, matches)
        return [place.found(m, path) for m in matches]
    # Byte tests first: the manifest and certificate machinery (YAML, x509) loads only when needed.
    if MARKER_MANIFEST in markers and b"kind" in data:
        from scanners.manifests import is_candidate, scan_manifest

        if is_candidate(path, data):  # Kubernetes objects: leaks located by object, plus hygiene
            return [place.adopt(f) for f in scan_manifest(data, path, detector, stats=stats, matches=matches)]
    found = [place.found(m, path) for m in matches] if matches else []
    if MARKER_CERTIFICATE in markers:
        from secretkeeper.hygiene import is_certificate_file, scan_certificate_file

        if is_certificate_file(path, data):
            found.extend(place.adopt(f) for f in scan_certificate_file(data, path))
    return found


def may_store_encoded(data: bytes) -> bool:
    """Whether `data` may be a manifest whose values are stored encoded (a Secret, a SealedSecret, a
    ConfigMap's binaryData): such a blob is worth a look even when no rule matches its text."""
    if b"apiVersion" not in data:
        return False
    from scanners.manifests import STORED_KIND_RE

    return STORED_KIND_RE.search(data) is not None


def leaks_out_of_place(detector: Detector, data: bytes, path: str | None, place: Place[T],
                       matches: list[Match]) -> list[T]:
    """The records of a history blob's matches, with the leak side of the manifest checks: values of
    Secrets and ConfigMaps decoded (a Secret committed with base64 data, then deleted, is found), and
    encoded text not judged as text (SealedSecret ciphertext under secret-like names)."""
    if may_store_encoded(data):
        from scanners.manifests import is_candidate, stored_value_leaks

        if is_candidate(path, data):
            matches, decoded = stored_value_leaks(data, path, detector, matches)
            return [place.found(m, path) for m in matches] + [place.adopt(f) for f in decoded]
    return [place.found(m, path) for m in matches]
