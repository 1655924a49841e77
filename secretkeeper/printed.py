"""What a report prints from scanned input — paths, Kubernetes names, image references, git authors,
messages, warnings, skipped paths — redacted of the secrets the scan knows, at the end of a scan.

Every such name is attacker-controlled text, printed beside the redacted preview of any secret it holds.
Two ways a printed string is known to hold one: the engine finds it there (a token in a directory name,
a git author, an image label), or one of its words is a secret the scan reports elsewhere (its sha256
is a finding's: a password found by the name it is stored under, used as a ConfigMap key in another
file). Both are redacted wherever they are printed, also as a Kubernetes name spells them.
"""

from __future__ import annotations

import operator
from itertools import chain

from secretkeeper.engine import Detector
from secretkeeper.findings import NAME_FIELDS, Finding, Scrubber, sha256_hex
from secretkeeper.results import ScanStats

# How names sit in printed text: `Kind/ns/name`, `key(s): A, B`, `user@host`.
_APART = str.maketrans(dict.fromkeys("/(),;@", " "))


def scrub_printed(findings: list[Finding], stats: ScanStats, detector: Detector) -> list[Finding]:
    """`findings` (and `stats`' warnings and skipped paths) with every secret known to be in their
    printed text redacted. The engine runs once over the distinct strings, one a line, and each distinct
    word is hashed once: a few strings per finding, most of them shared."""
    texts: dict[str, None] = {}  # ordered: the same scan, the same text
    # The names of every finding in one pass of C-level calls (itemgetter over each location's fields):
    # a large scan has tens of thousands of findings, most of them sharing names.
    names = operator.itemgetter(*NAME_FIELDS)
    texts.update(dict.fromkeys(chain.from_iterable(map(names, [f.location.__dict__ for f in findings]))))
    texts.update(dict.fromkeys([f.message for f in findings]))
    for f in findings:
        if f.extra:  # the live Secret and key a leaked value matches, a token's last-used label
            texts.update(dict.fromkeys(v for v in f.extra.values() if isinstance(v, str)))
    texts.pop(None, None)  # type: ignore[call-overload]  # a field a finding does not have
    texts.pop("", None)
    texts.update(dict.fromkeys(stats.warnings))
    texts.update(dict.fromkeys(p for p, _reason in stats.skipped.paths))
    text = "\n".join(texts)
    secrets: list[bytes | str] = [m.secret for m in detector.scan(text.encode("utf-8", "surrogateescape"))]
    reported = {f.secret_sha256 for f in findings if f.secret_sha256}
    words = set(text.translate(_APART).split())
    words.update([w.rstrip(".:") for w in words if w[-1] in ".:"])  # `path: message`, `name.`
    secrets.extend(w for w in words if sha256_hex(w) in reported)
    scrub = Scrubber(secrets)
    if not scrub:
        return findings
    stats.warnings[:] = map(scrub, stats.warnings)
    stats.skipped.paths[:] = [(scrub(p), reason) for p, reason in stats.skipped.paths]
    return [scrub.finding(f) for f in findings]
