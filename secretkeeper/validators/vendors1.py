"""Structural checks for vendor rules in the cloud, vcs, chat, payments, registries and infra families."""

from __future__ import annotations

from secretkeeper.validators.register import validator


@validator("aws-secret-key-shape")
def aws_secret_key_shape(secret: bytes, _match: bytes) -> bool:
    """A 40-char AWS secret key is random base64: upper, lower and digits all appear.

    Drops hex digests (git SHAs), identifiers and constants of the same length. A random key lacks a
    digit about once in a thousand; `/` may sit anywhere, so paths are left to the rules' key context.
    """
    s = secret.strip()
    if len(s) != 40:
        return False
    has_digit = any(48 <= c <= 57 for c in s)
    has_lower = any(97 <= c <= 122 for c in s)
    has_upper = any(65 <= c <= 90 for c in s)
    return has_digit and has_lower and has_upper
