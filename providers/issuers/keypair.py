"""The `keypair` issuer: a new asymmetric key pair on every rotation.

    issuer: {type: keypair, algorithm: rsa | ec | ed25519, size: 3072, format: pem | openssh}

Keys `private_key` (PKCS#8 PEM, or the OpenSSH private key format) and `public_key` (SubjectPublicKeyInfo
PEM, or one `authorized_keys` line). `size` is the RSA modulus (default 3072, at least 2048) or the EC
curve (256, 384, 521; default 256). Verify loads both halves and checks they are one pair. Whoever trusts
the public key (an `authorized_keys`, a deploy key) is the consumer's business: retire has nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, VerifyFailed

KEYS = ("private_key", "public_key")
_CURVES = {256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}


class KeypairIssuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.algorithm, self.format = secret.name, cfg.algorithm, cfg.format
        self.size = cfg.size
        if self.algorithm == "rsa":
            self.size = self.size or 3072
            if self.size < 2048:
                raise IssuerError(f"{self.name}: issuer.size: RSA keys are at least 2048 bits")
        elif self.algorithm == "ec":
            self.size = self.size or 256
            if self.size not in _CURVES:
                raise IssuerError(f"{self.name}: issuer.size: EC curves are 256, 384 or 521")
        elif self.size is not None:
            raise IssuerError(f"{self.name}: issuer.size: ed25519 keys have one size")
        if secret.keys and sorted(secret.keys) != sorted(KEYS):
            raise IssuerError(f"{self.name}: keys: a keypair holds {', '.join(KEYS)}")

    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        size = f"-{self.size}" if self.size else ""
        return f"keypair: a new {self.algorithm}{size} key pair ({self.format}) into {', '.join(KEYS)}"

    def needs(self) -> Sequence[str]:
        return []

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        if self.algorithm == "rsa":
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=self.size)
        elif self.algorithm == "ec":
            key = ec.generate_private_key(_CURVES[self.size]())
        else:
            key = ed25519.Ed25519PrivateKey.generate()
        if self.format == "openssh":
            private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                        serialization.NoEncryption())
            public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH) + b"\n"
        else:
            private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"private_key": private, "public_key": public}

    def verify(self, data: Mapping[str, bytes]) -> None:
        """Both halves load, and the public key is the private key's."""
        try:
            if self.format == "openssh":
                private = serialization.load_ssh_private_key(data["private_key"], password=None)
                public = serialization.load_ssh_public_key(data["public_key"].strip())
            else:
                private = serialization.load_pem_private_key(data["private_key"], password=None)
                public = serialization.load_pem_public_key(data["public_key"])
        except (KeyError, ValueError, TypeError, UnsupportedAlgorithm):
            raise VerifyFailed(f"{self.name}: the new key pair does not load as {self.algorithm} "
                               f"{self.format}") from None
        if private.public_key() != public:
            raise VerifyFailed(f"{self.name}: the new public key is not the private key's")

    def retire(self, old: SecretVersion) -> None:
        """Nothing to revoke here: the key pair is only what the store holds."""


ISSUERS.register("keypair")(KeypairIssuer)
