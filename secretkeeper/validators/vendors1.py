"""Structural checks for vendor rules in cloud, vcs, chat, payments, registries and infra families."""

from __future__ import annotations

from secretkeeper.validators import validator


@validator("aws-secret-key-shape")
def aws_secret_key_shape(secret: bytes, _match: bytes) -> bool:
    """A 40-char AWS secret key is base64-ish: it has `/` or `+`, or upper, lower and digits together.

    Drops hex digests (git SHAs), all-lower identifiers and upper-case constants of the same length.
    """
    s = secret.strip()
    if len(s) != 40:
        return False
    if b"/" in s or b"+" in s:
        return not s.startswith(b"/") and not s.endswith(b"/") and b"//" not in s
    return any(c in b"0123456789" for c in s) and any(97 <= c <= 122 for c in s) and any(65 <= c <= 90 for c in s)
