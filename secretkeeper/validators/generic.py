"""Validators for the generic credential families: HTTP basic credentials, URL userinfo, Rails master keys."""

from __future__ import annotations

import base64
import binascii
import re

from secretkeeper.validators.register import validator

_PRINTABLE = re.compile(rb"^[\x20-\x7e]+$")
_TRIVIAL_PASSWORDS = frozenset(
    b"pass password passwd pwd secret pw p changeme xxx xxxx test user username admin root".split()
)


def _b64(data: bytes) -> bytes | None:
    data = data.strip()
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


@validator("basic-auth")
def basic_auth(secret: bytes, _match: bytes) -> bool:
    """Base64 of `user:password` (HTTP Basic, docker `auth`, npm `_auth`): printable, both parts set."""
    raw = _b64(secret)
    if raw is None or not _PRINTABLE.match(raw) or b":" not in raw:
        return False
    user, _, password = raw.partition(b":")
    if not user or len(password) < 3 or password.lower() in _TRIVIAL_PASSWORDS or password == user:
        return False
    return not (password.startswith((b"$", b"<", b"{")) or set(password) <= {b"*"[0], b"x"[0]})


_USERINFO = re.compile(rb"(?:://|^|[\s\"'])([^\s:@/?#\"'`<>]{0,100}):([^\s@/?#\"'`<>]{1,200})@")


@validator("url-userinfo")
def url_userinfo(secret: bytes, match: bytes) -> bool:
    """A URL password that is not a copy of the user name nor a documentation stand-in (`user:pass@`)."""
    m = _USERINFO.search(match)
    user = m.group(1) if m else b""
    s = secret.strip()
    if s.lower() in _TRIVIAL_PASSWORDS:
        return False
    return not (user and s.lower() == user.lower())


@validator("hex-32")
def hex_32(secret: bytes, _match: bytes) -> bool:
    """Exactly 32 hex digits (a Rails master.key / credentials key file)."""
    return bool(re.fullmatch(rb"[0-9a-f]{32}", secret.strip()))
