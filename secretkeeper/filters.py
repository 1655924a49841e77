"""Value filters: the false-positive controls a rule opts into with `filters = [...]`.

Each filter looks at the candidate secret (bytes) and the whole matched text, and returns True when the
candidate is *not* a credential (a placeholder, a reference to an environment variable, a hash...).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Callable

Filter = Callable[[bytes, bytes], bool]

_PLACEHOLDER_WORDS = (
    b"changeme", b"change_me", b"change-me", b"changeit", b"replaceme", b"replace_me", b"replace-me",
    b"redacted", b"placeholder", b"your_", b"your-", b"yourpassword", b"yourtoken", b"yoursecret",
    b"example", b"dummy", b"fake_", b"fakefake", b"notarealsecret", b"not_a_real", b"not-a-real",
    b"insert_", b"insert-", b"put_your", b"put-your", b"enter_your", b"enter-your", b"todo", b"tbd",
    b"fixme", b"secretkeeper:", b"<secret>", b"<password>", b"********", b"xxxxxxx", b"#####",
    b"....", b"...",
)
_PLACEHOLDER_EXACT = {
    b"password", b"passwd", b"secret", b"token", b"none", b"null", b"nil", b"undefined", b"true", b"false",
    b"string", b"str", b"empty", b"default", b"value", b"required", b"optional", b"pass", b"test", b"xxx",
    b"apikey", b"api_key", b"api-key", b"access_key", b"secret_key", b"key", b"bearer", b"basic",
}
_TEMPLATE_RE = re.compile(
    rb"""^(?:
        \$\{[^}]*\}? | \$\([^)]*\)? | \$[A-Za-z_][A-Za-z0-9_]* | \{\{.*\}\}? | \{\%.*\%\}? | \{[A-Za-z_.][\w.]*\}
        | <[^<>]{1,60}> | %\([^)]*\)[sd] | %[sd] | @[A-Za-z_][\w.]*@ | __[A-Z0-9_]+__ | \[[A-Z_ -]+\]
        | \#\{[^}]*\} | \$\$[A-Za-z_]\w* | \(\(.*\)\) | ENC\[.*\] | vault:.* | ref\+.* | arn:aws:secretsmanager:.*
    )$""",
    re.X | re.S,
)
_REPEATED_RE = re.compile(rb"^(.)\1{3,}$|^(..)\2{3,}$")
_SEQUENCE = b"0123456789abcdefghijklmnopqrstuvwxyz"


def is_placeholder(secret: bytes, _match: bytes = b"") -> bool:
    s = secret.strip().strip(b"\"'`")
    low = s.lower()
    if not s or low in _PLACEHOLDER_EXACT:
        return True
    if _TEMPLATE_RE.match(s):
        return True
    if any(word in low for word in _PLACEHOLDER_WORDS):
        return True
    if _REPEATED_RE.match(low):
        return True
    core = low.rstrip(b"0123456789")
    if len(core) >= 6 and (core in _SEQUENCE or core in _SEQUENCE[::-1]):
        return True
    return False


_ENV_REF_RE = re.compile(
    rb"""(?:os\.environ|os\.getenv|getenv\s*\(|process\.env|System\.getenv|ENV\[|ENV\.fetch|Environment\.
    GetEnvironmentVariable|env\(|\$ENV\{|%env\(|\benv\.|config\[|settings\.|secrets\.|vars\.|\{\{\s*secrets\.
    |Deno\.env|import\.meta\.env|viper\.Get|os\.Getenv|std::env::var|System\.Environment)""",
    re.X,
)


def is_env_reference(secret: bytes, match: bytes = b"") -> bool:
    """The value is read from somewhere (env var, config lookup, template), not written down."""
    return bool(_ENV_REF_RE.search(secret))


_UUID_RE = re.compile(rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(secret: bytes, _match: bytes = b"") -> bool:
    return bool(_UUID_RE.match(secret.strip()))


_HEX_HASH_RE = re.compile(rb"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{40}|[0-9A-F]{64})$")
_HASH_KEY_RE = re.compile(rb"(?i)(sha|hash|digest|checksum|integrity|commit|revision|etag|fingerprint|md5|crc)")


def is_hash_context(secret: bytes, match: bytes = b"") -> bool:
    """A hex digest under a key that names a hash (`commit_sha = ...`, `integrity: ...`)."""
    s = secret.strip()
    if s.startswith((b"sha1-", b"sha256-", b"sha384-", b"sha512-", b"h1:", b"sha256:", b"sha512:")):
        return True
    key = match[: max(0, match.find(s))] if s in match else match
    return bool(_HEX_HASH_RE.match(s)) and bool(_HASH_KEY_RE.search(key))


def is_integrity_hash(secret: bytes, _match: bytes = b"") -> bool:
    s = secret.strip()
    return s.startswith((b"sha1-", b"sha256-", b"sha384-", b"sha512-", b"h1:", b"sha256:", b"sha512:", b"md5-"))


def is_public_material(secret: bytes, match: bytes = b"") -> bool:
    s = secret.strip()
    if s.startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-", b"ssh-dss ", b"sk-ssh-", b"sk-ecdsa-")):
        return True
    if b"-----BEGIN CERTIFICATE" in s or b"-----BEGIN PUBLIC KEY" in s or b"PUBLIC KEY BLOCK" in s:
        return True
    key = match[: match.find(s)] if s and s in match else b""
    return bool(re.search(rb"(?i)public|\bpub(_|-)?key", key))


def is_data_uri(secret: bytes, _match: bytes = b"") -> bool:
    return secret.strip().startswith(b"data:")


_CODE_RE = re.compile(rb"^[A-Za-z_][\w.]*(\(.*\))?$|^[A-Za-z_][\w]*\.[A-Za-z_][\w.]*$|^\w+\[.+\]$|^new\s")


def is_code_expression(secret: bytes, _match: bytes = b"") -> bool:
    """Unquoted identifiers and calls (`password = get_password()`, `token = self.token`)."""
    s = secret.strip()
    if not s or s[:1] in b"\"'`":
        return False
    if _CODE_RE.match(s) and (b"(" in s or b"." in s or b"[" in s or s.isidentifier() and s.islower() and b"_" in s):
        return True
    return False


def is_path_or_url_only(secret: bytes, _match: bytes = b"") -> bool:
    """A file path or a plain URL without credentials, e.g. `password_file: /run/secrets/db`."""
    s = secret.strip()
    if s.startswith((b"/", b"./", b"../", b"~/", b"file:")) and b" " not in s:
        return True
    return bool(re.match(rb"^[a-z][a-z0-9+.-]*://[^@/\s]+(/|$)", s)) and b"@" not in s


FILTERS: dict[str, Filter] = {
    "placeholder": is_placeholder,
    "env-ref": is_env_reference,
    "uuid": is_uuid,
    "hash": is_hash_context,
    "integrity": is_integrity_hash,
    "public": is_public_material,
    "data-uri": is_data_uri,
    "code": is_code_expression,
    "path": is_path_or_url_only,
}


def shannon_entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
