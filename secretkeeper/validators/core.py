"""Generic structural validators: checksums, base64/JSON shape, PEM private keys, JWTs."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

from secretkeeper.filters import is_documented_example
from secretkeeper.validators.base import validator

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_crc32(payload: bytes, width: int = 6) -> str:
    n = zlib.crc32(payload) & 0xFFFFFFFF
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


@validator("crc32-base62")
def crc32_base62(secret: bytes, _match: bytes) -> bool:
    """GitHub / npm style: the last `_` segment is random + a 6-char base62 CRC32 of that random part."""
    _, sep, tail = secret.strip().rpartition(b"_")
    if not sep or len(tail) < 12 or not tail.isalnum():
        return False
    return base62_crc32(tail[:-6]) == tail[-6:].decode("ascii", "replace")


def _b64decode(data: bytes) -> bytes | None:
    data = data.strip()
    pad = b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data + pad, altchars=b"-_" if (b"-" in data or b"_" in data) else None,
                                validate=True)
    except (binascii.Error, ValueError):
        return None


def _json_part(part: bytes) -> Any:
    """A base64(url) part of a token decoded as JSON; None when it is not JSON."""
    try:
        return json.loads(_b64decode(part) or b"")
    except (ValueError, UnicodeDecodeError):
        return None


def jwt_json(secret: bytes) -> tuple[dict, dict] | None:
    """A JWT's header and payload, when `secret` is one: three base64url parts, the first two JSON objects
    and the header naming its `alg`."""
    parts = secret.strip().split(b".")
    if len(parts) != 3:
        return None
    header, payload = _json_part(parts[0]), _json_part(parts[1])
    if not isinstance(header, dict) or "alg" not in header or not isinstance(payload, dict):
        return None
    return header, payload


@validator("jwt")
def jwt_structure(secret: bytes, _match: bytes) -> bool:
    """A JWT (jwt_json) that is signed, or at least carries a signature part."""
    parsed = jwt_json(secret)
    if parsed is None:
        return False
    return str(parsed[0].get("alg", "")).lower() != "none" or bool(secret.strip().rsplit(b".", 1)[1])


@validator("jwt-base64")
def jwt_in_base64(secret: bytes, _match: bytes) -> bool:
    """A JWT (signed: three parts; encrypted: five) wrapped once more in base64, as Kubernetes Secret data
    and CI variables hold tokens: the decoded header and payload (or header alone, for JWE) are JSON
    objects. jwt.io's documented token, wrapped, is still the documented token."""
    inner = _b64decode(secret)
    if inner is None or not inner.startswith(b"eyJ"):
        return False
    parts = inner.strip().split(b".")
    if len(parts) not in (3, 5) or is_documented_example(inner[:512]):
        return False
    return all(isinstance(d, dict) and d for d in map(_json_part, parts[: 2 if len(parts) == 3 else 1]))


_PEM_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*)-----\s*(.*?)-----END \1-----", re.S
)


@validator("pem-private-key")
def pem_private_key(secret: bytes, match: bytes) -> bool:
    """A PEM block whose body is real base64 of plausible length (headers such as Proc-Type allowed).

    Full parsing would reject encrypted and truncated-but-real keys; a body check keeps those and drops
    documentation snippets such as `-----BEGIN RSA PRIVATE KEY-----\\n...\\n-----END`.
    """
    m = _PEM_RE.search(secret) or _PEM_RE.search(match)
    if not m:
        return False
    body_lines = []
    for line in m.group(2).splitlines():
        line = line.strip().strip(b"\"',\\n").replace(b"\\n", b"")
        if not line or b":" in line:  # RFC 1421 headers (Proc-Type, DEK-Info)
            continue
        body_lines.append(line)
    body = b"".join(body_lines).replace(b"\\n", b"").replace(b" ", b"")
    if len(body) < 64:
        return False
    if not re.fullmatch(rb"[A-Za-z0-9+/=]+", body):
        return False
    decoded = _b64decode(body)
    return decoded is not None and len(set(body)) > 16


@validator("base64")
def base64_value(secret: bytes, _match: bytes) -> bool:
    return _b64decode(secret) is not None


@validator("luhn")
def luhn(secret: bytes, _match: bytes) -> bool:
    digits = [int(c) for c in secret.decode("ascii", "ignore") if c.isdigit()]
    if len(digits) < 12:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@validator("not-all-same-class")
def mixed_classes(secret: bytes, _match: bytes) -> bool:
    """At least two character classes (digits, lower, upper): drops words and plain numbers."""
    s = secret.decode("ascii", "ignore")
    classes = sum([any(c.isdigit() for c in s), any(c.islower() for c in s), any(c.isupper() for c in s)])
    return classes >= 2


@validator("mixed-or-passphrase")
def mixed_or_passphrase(secret: bytes, match: bytes) -> bool:
    """`not-all-same-class`, or a passphrase of run-together lowercase words (`dolphinstaplemountain`):
    16 letters or more. Names that short are words (the filters drop those built on credential words)."""
    return mixed_classes(secret, match) or (len(secret) >= 16 and secret.isalpha() and secret.islower())
