"""Test helpers for SealedSecrets: throwaway sealing keys and certificates, and the controller's side of
the format (unsealing with the private key), written here from the format so that what we seal is checked
by code that shares nothing with secretkeeper/kube/sealing.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

DATA = Path(__file__).resolve().parent / "data" / "sealed"


def make_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def cert_pem(key: rsa.RSAPrivateKey, cn: str = "sealed-secret") -> bytes:
    """A self-signed certificate like the controller's (it signs its own, CN sealed-secret)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.fingerprint(hashes.SHA256()).hex()


def unseal(key: rsa.RSAPrivateKey, label: bytes, sealed: str) -> bytes:
    """What the controller does with one value of `spec.encryptedData`: raises if the label (scope) or
    the key does not match."""
    raw = base64.b64decode(sealed, validate=True)
    size = int.from_bytes(raw[:2], "big")
    session = key.decrypt(raw[2:2 + size], padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                        algorithm=hashes.SHA256(), label=label))
    return AESGCM(session).decrypt(bytes(12), raw[2 + size:], None)


def unseal_all(key: rsa.RSAPrivateKey, doc: dict[str, Any]) -> dict[str, bytes]:
    """Every value of a SealedSecret document, with the label its scope annotations say."""
    meta = doc["metadata"]
    notes = meta.get("annotations") or {}
    if notes.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        label = b""
    elif notes.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        label = meta["namespace"].encode()
    else:
        label = f"{meta['namespace']}/{meta['name']}".encode()
    return {k: unseal(key, label, v) for k, v in doc["spec"]["encryptedData"].items()}
