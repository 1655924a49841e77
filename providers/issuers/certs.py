"""Certificates for the `x509-ca` and `x509` issuers: keys, a CA, leaves, PEM in and out, and the checks
`verify` runs with `cryptography.x509.verification` (the same path validation a TLS client does).

Every certificate carries subject and authority key identifiers: cryptography's verifier refuses a chain
without them, and they are also how a leaf names the CA that signed it (its AKI is that CA's SKI).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from providers.errors import IssuerError, VerifyFailed

_CURVES = {256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}
_RSA_SIZES = (2048, 3072, 4096)
BACKDATE = timedelta(minutes=5)  # notBefore a little in the past: clocks of consumers drift
EXT_KEY_USAGES = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
                  "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
                  "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                  "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING}
_KEY_USAGE_FIELDS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                     "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


def key_spec(name: str, key_type: str, key_size: int | None) -> tuple[str, int]:
    """(rsa|ecdsa, size) with the default size; IssuerError naming a size that is not offered."""
    if key_type == "rsa":
        size = key_size or 3072
        if size not in _RSA_SIZES:
            raise IssuerError(f"{name}: issuer.key_size: RSA keys are 2048, 3072 or 4096 bits")
    else:
        size = key_size or 256
        if size not in _CURVES:
            raise IssuerError(f"{name}: issuer.key_size: ECDSA curves are 256, 384 or 521")
    return key_type, size


def new_key(spec: tuple[str, int]) -> Any:
    kind, size = spec
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    return ec.generate_private_key(_CURVES[size]())


def key_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def bundle_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(cert_pem(c) for c in certs)


def load_key(name: str, what: str, pem: bytes | None) -> Any:
    try:
        key = serialization.load_pem_private_key(pem or b"", password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise VerifyFailed(f"{name}: {what} is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise VerifyFailed(f"{name}: {what} is not an RSA or ECDSA key")
    return key


def load_certs(name: str, what: str, pem: bytes | None) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem or b"")
    except ValueError:
        raise VerifyFailed(f"{name}: {what} holds no PEM certificate") from None
    return certs


def ski(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def aki(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def hands_out(signer: x509.Certificate, bundle: bytes) -> str:
    """What a CA version hands to the leaves made from it: the signing CA and the trust bundle. A leaf notes
    the same token (`made_from`); a leaf whose token differs from its CA's is due (secretkeeper.rotation.policy)."""
    return f"{ski(signer).hex()[:16]}-{hashlib.sha256(bundle).hexdigest()[:16]}"


def made_from(leaf: x509.Certificate, bundle: bytes) -> str:
    return f"{(aki(leaf) or b'').hex()[:16]}-{hashlib.sha256(bundle).hexdigest()[:16]}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(**on: bool) -> x509.KeyUsage:
    return x509.KeyUsage(**{f: bool(on.get(f)) for f in _KEY_USAGE_FIELDS})


def make_ca(common_name: str, key: Any, ttl: timedelta, now: datetime) -> x509.Certificate:
    """A self-signed CA certificate (path length 0: it signs leaves only)."""
    ident = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(now + ttl)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
               .add_extension(ident, critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ident), critical=False))
    return builder.sign(key, hashes.SHA256())


def make_leaf(ca_cert: x509.Certificate, ca_key: Any, public_key: Any, *, common_name: str,
              dns_names: Sequence[str], ip_addresses: Sequence[str], ttl: timedelta,
              key_usage: Sequence[str], ext_key_usage: Sequence[str], now: datetime) -> x509.Certificate:
    """A leaf signed by `ca_key`, never outliving its CA."""
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    not_after = min(now + ttl, ca_cert.not_valid_after_utc)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_cert.subject)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_key_usage(**dict.fromkeys(key_usage, True)), critical=True)
               .add_extension(x509.SubjectAlternativeName(sans), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                   x509.SubjectKeyIdentifier(ski(ca_cert))), critical=False))
    if ext_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([EXT_KEY_USAGES[u] for u in ext_key_usage]),
                                        critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def check_key_match(name: str, what: str, cert: x509.Certificate, key: Any) -> None:
    if cert.public_key() != key.public_key():
        raise VerifyFailed(f"{name}: {what}: the private key is not the certificate's")


def check_ca(name: str, what: str, cert: x509.Certificate, now: datetime) -> None:
    """A self-signed CA certificate, valid now."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise VerifyFailed(f"{name}: {what} is not a CA certificate")
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        raise VerifyFailed(f"{name}: {what} is not a self-signed CA certificate") from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise VerifyFailed(f"{name}: {what} is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
                           f"{cert.not_valid_after_utc:%Y-%m-%d})")


def verify_chain(name: str, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate],
                 trust: Sequence[x509.Certificate], *, dns_names: Sequence[str], ip_addresses: Sequence[str],
                 ext_key_usage: Sequence[str], now: datetime, against: str) -> None:
    """Path validation as a TLS peer does it: a chain to one of `trust`, valid at `now`, for every SAN
    (server certificates) or as a client certificate. `against` names the trust anchors in the error."""
    if not trust:
        raise VerifyFailed(f"{name}: {against} holds no certificate to trust")
    builder = PolicyBuilder().store(Store(list(trust))).time(now)
    try:
        if "server_auth" in ext_key_usage or not ext_key_usage:
            subjects: list[x509.DNSName | x509.IPAddress] = [x509.DNSName(n) for n in dns_names]
            subjects += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
            for subject in subjects:
                builder.build_server_verifier(subject).verify(leaf, list(intermediates))
        if "client_auth" in ext_key_usage:
            builder.build_client_verifier().verify(leaf, list(intermediates))
    except VerificationError as exc:
        raise VerifyFailed(f"{name}: the certificate does not verify against {against}: {_first_line(exc)}") \
            from None


def probe(name: str, ca_cert: x509.Certificate, ca_key: Any, trust: Sequence[x509.Certificate],
          now: datetime, against: str) -> None:
    """Sign a throwaway leaf with the CA key and validate it against `trust`: the CA can issue what
    consumers will accept."""
    throwaway = ec.generate_private_key(ec.SECP256R1())
    leaf = make_leaf(ca_cert, ca_key, throwaway.public_key(), common_name="probe.invalid",
                     dns_names=["probe.invalid"], ip_addresses=[], ttl=timedelta(minutes=10),
                     key_usage=["digital_signature"], ext_key_usage=["server_auth"], now=now)
    verify_chain(name, leaf, [], trust, dns_names=["probe.invalid"], ip_addresses=[], ext_key_usage=["server_auth"],
                 now=now, against=against)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
