"""Which names and values look like credentials: one place for env vars, ConfigMap keys and Secret data.

`is_secret_like_name` answers for a variable or key name (`DB_PASSWORD`, `stripe.apiKey`, not
`PASSWORD_FILE`, `TOKEN_TTL`, `SECRET_NAME`); `looks_real` for a literal value (not empty, not a
placeholder, not a `$(VAR)` reference, not a bare path or URL without credentials).
"""

from __future__ import annotations

import re
from functools import lru_cache

from secretkeeper.filters import is_path_or_url_only, is_placeholder
from secretkeeper.secretwords import Use, alternation

# Names are compared upper case, with and without their `_`: a compound's parts may be apart or not.
_NAME_RE = re.compile(rf"(?:{alternation(Use.NAME, '_?')})|(?:^|_)(?:{alternation(Use.NAME_PART)})(?:_|$)",
                      re.IGNORECASE | re.ASCII)
# A name that ends in one of these holds metadata about a secret, not the secret.
_NOT_SECRET_SUFFIX = re.compile(
    r"_(?:FILE|FILES|PATH|DIR|NAME|NAMES|TTL|EXPIRY|EXPIRES|EXPIRATION|EXPIRES_IN|LENGTH|LEN|ENABLED|ENABLE"
    r"|DISABLED|TYPE|HEADER|ID|USER|USERNAME|ISSUER|AUDIENCE|ENDPOINT|HOST|HOSTNAME|PORT|REF|MOUNT"
    r"|ALGORITHM|ALG|VERSION|TIMEOUT|SIZE|MODE|POLICY|REGION|KIND|LOCATION|SOURCE|URL|URI|PREFIX|FORMAT"
    r"|COUNT|MAX|MIN|LIFETIME|DURATION|INTERVAL|FIELD|PARAM|SCOPE|SCOPES|COMMAND|CMD|PROVIDER|STORE"
    r"|BACKEND|REQUIRED|ROTATION|VAR|KEY_ID|METHOD|STRATEGY|RETRIES|LIMIT|AGE|COOKIE_NAME|SECRET_NAME"
    r"|SECRETNAME|NAMESPACE|ARN|HASH_ROUNDS|ROUNDS|COST|CHARSET|REALM|VAULT_PATH)$"
)
_NOT_SECRET_WORD = re.compile(r"TOKENIZ|SECRETAR|PASSTHROUGH|PASSIVE|COMPASS|BYPASS")
_SPLIT_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_URL_WITH_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_VAR_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")


def normalise_name(name: str) -> str:
    """`stripe.apiKey` -> `STRIPE_API_KEY`; `db-password` -> `DB_PASSWORD`."""
    name = _SPLIT_CAMEL.sub("_", name)
    return _NON_ALNUM.sub("_", name).strip("_").upper()


@lru_cache(maxsize=4096)  # manifests repeat the same few env var and key names
def is_secret_like_name(name: str) -> bool:
    norm = normalise_name(name)
    if not norm or _NOT_SECRET_SUFFIX.search(norm) or _NOT_SECRET_WORD.search(norm):
        return False
    return bool(_NAME_RE.search(norm)) or bool(_NAME_RE.search(norm.replace("_", "")))


def url_password(value: str) -> str | None:
    """The password in `scheme://user:password@host`, when there is a real-looking one."""
    m = _URL_WITH_PASSWORD.match(value.strip())
    if not m or is_placeholder(m.group(1).encode("utf-8", "surrogateescape")):
        return None
    return m.group(1)


def looks_real(value: object, min_length: int = 4) -> bool:
    """A literal that could be a credential: long enough, not a placeholder, reference, path or number."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if len(text) < min_length:
        return False
    raw = text.encode("utf-8", "surrogateescape")
    if is_placeholder(raw) or is_path_or_url_only(raw):
        return False
    if _VAR_REFERENCE.fullmatch(text):
        return False
    if text.isdigit() and len(text) < 6:
        return False
    return text.lower() not in {"yes", "no", "on", "off", "enabled", "disabled"}
