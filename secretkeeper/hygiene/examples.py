"""Run every hygiene rule's true and false example manifests through the real manifest scanner.

A true example must yield a finding of its rule, a false example none. `${CERT_B64:DAYS}` and
`${CERT_PEM:DAYS}` in an example become a freshly generated self-signed certificate expiring in DAYS days.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from secretkeeper.hygiene.catalog import CERT_FILE_EXAMPLES, HYGIENE_RULES, HygieneRule

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector

_CERT_RE = re.compile(r"\$\{CERT_(B64|PEM):(-?\d+)\}")


@dataclass(frozen=True)
class ExampleFailure:
    rule_id: str
    expected: bool
    index: int
    reason: str

    def __str__(self) -> str:
        return f"{self.rule_id}: examples.{'true' if self.expected else 'false'}[{self.index}] {self.reason}"


def make_certificate(days: int, common_name: str = "example.test") -> bytes:
    """A self-signed PEM certificate (EC P-256) whose notAfter is `days` from now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days, hours=12)
    not_before = min(now, not_after) - dt.timedelta(days=30)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def render(example: str) -> str:
    def sub(m: re.Match[str]) -> str:
        pem = make_certificate(int(m.group(2)))
        return base64.b64encode(pem).decode() if m.group(1) == "B64" else pem.decode()

    return _CERT_RE.sub(sub, example)


def _rule_ids(detector: Detector, text: str, path: str) -> set[str]:
    from scanners.manifests import scan_manifest
    from secretkeeper.hygiene.certs import is_certificate_file, scan_certificate_file

    data = render(text).encode()
    if is_certificate_file(path, data):
        return {f.rule_id for f in scan_certificate_file(data, path)}
    return {f.rule_id for f in scan_manifest(data, path, detector)}


def check_rule(detector: Detector, rule: HygieneRule) -> list[ExampleFailure]:
    if not rule.true or not rule.false:
        return [ExampleFailure(rule.id, True, -1, "rule needs both true and false examples")]
    out = []
    for i, text in enumerate(rule.true):
        if rule.id not in _rule_ids(detector, text, rule.example_path):
            out.append(ExampleFailure(rule.id, True, i, "did not fire"))
    for i, text in enumerate(rule.false):
        if rule.id in _rule_ids(detector, text, rule.example_path):
            out.append(ExampleFailure(rule.id, False, i, "fired"))
    return out


def check_examples(detector: Detector) -> list[ExampleFailure]:
    out: list[ExampleFailure] = []
    for rule in HYGIENE_RULES:
        out.extend(check_rule(detector, rule))
    for expected, texts in ((True, CERT_FILE_EXAMPLES["true"]), (False, CERT_FILE_EXAMPLES["false"])):
        for i, text in enumerate(texts):
            fired = "tls-cert-expiry" in _rule_ids(detector, text, "certs/server.crt")
            if fired != expected:
                out.append(ExampleFailure("tls-cert-expiry", expected, 100 + i, "certificate file example"))
    return out
