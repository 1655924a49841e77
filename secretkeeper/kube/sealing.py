"""Sealing for the sealed-secrets controller: the bytes its `kubeseal` writes, made without it.

One value is sealed as the controller's hybrid scheme has it (a format fact, checked by the tests against
an independent implementation):

    session key   32 random bytes, fresh for every value
    RSA-OAEP      the session key under the controller's public key; SHA-256 as hash and MGF1 hash; the
                  scope label as the OAEP label (`namespace/name` strict, `namespace` namespace-wide,
                  empty cluster-wide), so a value sealed for one Secret does not open as another
    AES-256-GCM   the value under the session key with a zero nonce (safe: each key seals one message)
    output        uint16 big-endian length of the RSA ciphertext, RSA ciphertext, AES-GCM ciphertext+tag;
                  standard base64

Only the public half is ever needed here: the controller's private key never leaves the cluster.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Literal

from secretkeeper.errors import SecretkeeperError

Scope = Literal["strict", "namespace-wide", "cluster-wide"]
SCOPES: tuple[Scope, ...] = ("strict", "namespace-wide", "cluster-wide")
# The controller reads these annotations to know which label a value was sealed with.
SCOPE_ANNOTATIONS = {"namespace-wide": "sealedsecrets.bitnami.com/namespace-wide",
                     "cluster-wide": "sealedsecrets.bitnami.com/cluster-wide"}
MAX_CERT_BYTES = 64 << 10  # a PEM certificate is ~2 KB; a larger answer is not one
_SESSION_KEY_BYTES = 32
_ZERO_NONCE = bytes(12)


@dataclass(frozen=True)
class SealingCert:
    """The controller's certificate: its RSA public key and the SHA-256 fingerprint of its DER form (what
    `openssl x509 -fingerprint -sha256` prints, lower-case hex without colons)."""

    public_key: Any  # cryptography RSAPublicKey
    fingerprint: str
    not_after: str  # ISO date, for people

    @property
    def short(self) -> str:
        return self.fingerprint[:16]


def load_cert(pem: bytes, where: str) -> SealingCert:
    """The sealing certificate in `pem`; a SecretkeeperError naming `where` if it is not an RSA one."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding

    if len(pem) > MAX_CERT_BYTES:
        raise SecretkeeperError(f"{where}: not a sealing certificate (larger than {MAX_CERT_BYTES} bytes)")
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SecretkeeperError(f"{where}: not a PEM certificate (expected the controller's cert.pem, "
                                "as `kubeseal --fetch-cert` writes it)") from None
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SecretkeeperError(f"{where}: the certificate's key is not RSA (the controller seals with RSA)")
    if key.key_size < 2048:
        raise SecretkeeperError(f"{where}: RSA key of {key.key_size} bits is too small to seal to")
    return SealingCert(key, hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
                       cert.not_valid_after_utc.date().isoformat())


def scope_label(scope: Scope, namespace: str | None, name: str) -> bytes:
    """The OAEP label a value is sealed with: what the controller checks when it unseals."""
    if scope == "cluster-wide":
        return b""
    if not namespace:
        raise ValueError(f"scope {scope} seals to a namespace, and none is given")
    return namespace.encode() if scope == "namespace-wide" else f"{namespace}/{name}".encode()


def seal(cert: SealingCert, label: bytes, value: bytes) -> str:
    """One value sealed for `label`, base64 as it goes into `spec.encryptedData`."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session_key = os.urandom(_SESSION_KEY_BYTES)
    wrapped = cert.public_key.encrypt(session_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                                algorithm=hashes.SHA256(), label=label))
    sealed = AESGCM(session_key).encrypt(_ZERO_NONCE, value, None)
    return base64.b64encode(len(wrapped).to_bytes(2, "big") + wrapped + sealed).decode("ascii")
