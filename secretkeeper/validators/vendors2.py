"""Vendor token structure checks (SaaS and AI vendors): embedded JSON payloads and similar."""

from __future__ import annotations

import base64
import binascii
import json

from secretkeeper.validators.register import validator


@validator("sentry-org-token")
def sentry_org_token(secret: bytes, _match: bytes) -> bool:
    """`sntrys_<base64 JSON with iat and url>_<secret>`: the payload must decode to that JSON object."""
    s = secret.strip()
    if not s.startswith(b"sntrys_"):
        return False
    payload, sep, _tail = s[len(b"sntrys_"):].rpartition(b"_")
    if not sep:
        return False
    payload = payload.rstrip(b"=")
    try:
        doc = json.loads(base64.b64decode(payload + b"=" * (-len(payload) % 4), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and "iat" in doc and ("url" in doc or "region_url" in doc)
