"""Certificate expiry: TLS Secrets (`tls.crt`) and certificate files (`.crt`, `.pem`, `.cer`).

Expired certificates are high, those expiring within `EXPIRY_WINDOW_DAYS` medium; the message gives the
days left and the subject. The certificate is public: its sha256 (of the DER) keys the fingerprint.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import os
import re
import warnings
from typing import Any

from secretkeeper.findings import HYGIENE, Finding, Location, Severity, fingerprint

EXPIRY_WINDOW_DAYS = 30
CERT_FILE_EXTENSIONS = (".crt", ".pem", ".cer", ".cert")
_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s+([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")


class CertInfo:
    """One parsed certificate. The subject is read only when a message needs it: most certificates in a
    bundle are far from expiry, and naming them costs more than parsing them."""

    __slots__ = ("_cert", "_subject", "der_sha256", "not_after", "offset")

    def __init__(self, cert: Any, der_sha256: str, offset: int) -> None:
        self._cert = cert
        self._subject: str | None = None
        self.not_after: dt.datetime = cert.not_valid_after_utc
        self.der_sha256 = der_sha256
        self.offset = offset  # of the BEGIN line in the PEM text

    @property
    def subject(self) -> str:
        if self._subject is None:
            try:
                self._subject = self._cert.subject.rfc4514_string()[:200]
            except ValueError:  # pragma: no cover - unusual attribute types
                self._subject = "?"
        return self._subject

    def days_left(self, now: dt.datetime | None = None) -> int:
        now = now or dt.datetime.now(dt.UTC)
        return (self.not_after - now) // dt.timedelta(days=1)


def parse_pem_certificates(data: bytes) -> list[CertInfo]:
    """Every certificate in PEM text that parses; the rest are ignored (a broken cert is not a finding).

    The DER is the PEM body decoded (what the fingerprint hashes), parsed as DER: no PEM re-parse and
    no re-encoding per certificate, which made a CA bundle cost ~0.5 ms a certificate.
    """
    from cryptography import x509

    out: list[CertInfo] = []
    with warnings.catch_warnings():  # lax certificates (negative serials...) still have an expiry
        warnings.simplefilter("ignore")
        for m in _PEM_RE.finditer(data):
            try:
                der = binascii.a2b_base64(m.group(1))
                cert = x509.load_der_x509_certificate(der)
                out.append(CertInfo(cert, hashlib.sha256(der).hexdigest(), m.start()))
            except (ValueError, binascii.Error):
                continue
    return out


def expiry_verdict(info: CertInfo, now: dt.datetime | None = None) -> tuple[Severity, str] | None:
    days = info.days_left(now)
    date = info.not_after.date().isoformat()
    if days < 0:
        return Severity.HIGH, f"certificate {info.subject} expired {-days} days ago ({date})"
    if days < EXPIRY_WINDOW_DAYS:
        return Severity.MEDIUM, f"certificate {info.subject} expires in {days} days ({date})"
    return None


def is_certificate_file(path: str, data: bytes) -> bool:
    return os.path.splitext(path)[1].lower() in CERT_FILE_EXTENSIONS and b"-----BEGIN CERTIFICATE-----" in data


def scan_certificate_file(data: bytes, path: str, now: dt.datetime | None = None) -> list[Finding]:
    """`tls-cert-expiry` findings for a PEM file, each at its certificate's BEGIN line."""
    from secretkeeper.hygiene.catalog import RULES_BY_ID

    meta = RULES_BY_ID["tls-cert-expiry"]
    out: list[Finding] = []
    for info in parse_pem_certificates(data):
        verdict = expiry_verdict(info, now)
        if verdict is None:
            continue
        severity, message = verdict
        line = data.count(b"\n", 0, info.offset) + 1
        out.append(Finding(
            rule_id=meta.id, kind=HYGIENE, severity=severity,
            location=Location(source="file", path=path, line=line),
            secret_sha256=info.der_sha256, preview="",
            fingerprint=fingerprint(meta.id, path, info.der_sha256),
            message=message, remediation=meta.remediation, description=meta.description,
            extra={"days_left": info.days_left(now)},
        ))
    return out
