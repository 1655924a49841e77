"""The keys a Secret of each type must hold, mapped from the keys a managed secret holds.

    Opaque                           the keys as they are
    kubernetes.io/tls                tls.crt and tls.key (from cert / certificate / crt and key /
                                     private_key, as issuers name them); ca.crt from ca; others kept
    kubernetes.io/dockerconfigjson   .dockerconfigjson as held, or built from registry, username and
                                     password (the `auths` file `docker login` writes)

Values are only moved or put in JSON, never shown: an error names the keys missing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

TLS, DOCKER = "kubernetes.io/tls", "kubernetes.io/dockerconfigjson"
_TLS_ALIASES = {"tls.crt": ("tls.crt", "cert", "certificate", "crt", "cert.pem"),
                "tls.key": ("tls.key", "key", "private_key", "private.pem", "key.pem"),
                "ca.crt": ("ca.crt", "ca", "ca.pem")}


def shape(secret_type: str, data: Mapping[str, bytes]) -> dict[str, bytes]:
    """`data` as a Secret of `secret_type` holds it; ValueError naming what is missing."""
    if secret_type == TLS:
        return _tls(data)
    if secret_type == DOCKER:
        return _docker(data)
    return dict(data)


def _tls(data: Mapping[str, bytes]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    used: set[str] = set()
    for want, aliases in _TLS_ALIASES.items():
        found = next((key for key in aliases if key in data), None)
        if found is not None:
            out[want] = data[found]
            used.add(found)
    missing = [key for key in ("tls.crt", "tls.key") if key not in out]
    if missing:
        raise ValueError(f"type {TLS} needs {' and '.join(missing)} (held: {', '.join(sorted(data)) or 'none'}; "
                         "cert/certificate and key/private_key are mapped)")
    out.update({key: value for key, value in data.items() if key not in used})
    return out


def _docker(data: Mapping[str, bytes]) -> dict[str, bytes]:
    if ".dockerconfigjson" in data:
        return {".dockerconfigjson": data[".dockerconfigjson"]}
    missing = [key for key in ("registry", "username", "password") if key not in data]
    if missing:
        raise ValueError(f"type {DOCKER} needs .dockerconfigjson, or registry, username and password "
                         f"(missing: {', '.join(missing)})")
    try:
        registry, user, password = (data[k].decode("utf-8") for k in ("registry", "username", "password"))
    except UnicodeDecodeError:
        raise ValueError(f"type {DOCKER}: registry, username and password must be UTF-8 text") from None
    auth = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    body = {"auths": {registry: {"username": user, "password": password, "auth": auth}}}
    return {".dockerconfigjson": json.dumps(body, sort_keys=True, separators=(",", ":")).encode()}
