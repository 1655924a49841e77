"""AES-256-GCM for the local store: a random 96-bit nonce per write, and associated data that binds each
ciphertext to its store, secret path and version, so a file copied to another secret, another version
or another store does not decrypt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_MAGIC = b"SKL1"  # format 1: magic, 12-byte nonce, ciphertext with its 16-byte tag
_NONCE = 12


class Undecryptable(Exception):
    """The ciphertext does not open with this key and binding (wrong key, altered, or moved)."""


def binding(store_id: str, path: str, version: str) -> bytes:
    return b"\0".join((b"secretkeeper-local-v1", store_id.encode(), path.encode(), version.encode()))


def seal(key: bytes, bound_to: bytes, data: Mapping[str, bytes]) -> bytes:
    plain = json.dumps({k: base64.b64encode(v).decode() for k, v in data.items()}, sort_keys=True)
    nonce = os.urandom(_NONCE)
    return _MAGIC + nonce + AESGCM(key).encrypt(nonce, plain.encode(), bound_to)


def unseal(key: bytes, bound_to: bytes, blob: bytes) -> dict[str, bytes]:
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE + 16:
        raise Undecryptable("not a local store ciphertext")
    nonce, body = blob[len(_MAGIC):len(_MAGIC) + _NONCE], blob[len(_MAGIC) + _NONCE:]
    try:
        plain = AESGCM(key).decrypt(nonce, body, bound_to)
    except InvalidTag:
        raise Undecryptable("authentication failed") from None
    return {k: base64.b64decode(v) for k, v in json.loads(plain).items()}


def key_check(key: bytes, store_id: str) -> str:
    """What store.json records to tell the store's key from another one before anything is decrypted
    or, worse, written with the wrong key: an HMAC, which says nothing about the key itself."""
    return hmac.new(key, b"secretkeeper-local key check\0" + store_id.encode(), hashlib.sha256).hexdigest()
