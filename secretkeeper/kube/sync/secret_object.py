"""The Kubernetes Secret every sync target writes for one version of a managed secret.

Labels say who manages it; annotations say which store, path and version it holds and a hash of its
content (so a restart or a re-seal can tell a change), never a value.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import SecretVersion
from secretkeeper.kube.sync.target import SyncError

MANAGED_BY = {"app.kubernetes.io/managed-by": "secretkeeper"}
STORE, PATH, VERSION, CONTENT = ("secretkeeper.io/store", "secretkeeper.io/path", "secretkeeper.io/version",
                                 "secretkeeper.io/content-sha256")
_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")  # what the API server accepts as a Secret data key


TLS_KEYS = frozenset({"tls.crt", "tls.key"})


def secret_type(version: SecretVersion) -> str:
    """`kubernetes.io/tls` for a certificate and its key (what ingress controllers and cert consumers
    expect), else Opaque."""
    return "kubernetes.io/tls" if set(version.data) >= TLS_KEYS else "Opaque"


def only_keys(version: SecretVersion, keys: Sequence[str] | None, where: str) -> SecretVersion:
    """The version with only `keys` (a target's `keys:`), or all of it; SyncError naming a missing key."""
    if keys is None:
        return version
    missing = [k for k in keys if k not in version.data]
    if missing:
        raise SyncError(f"{where}: keys: version {version.version} holds no {', '.join(missing)}")
    return SecretVersion(version.version, {k: version.data[k] for k in keys}, version.created, version.stages)


def content_hash(path: str, data: Mapping[str, bytes]) -> str:
    """sha256 over the path and the sorted keys and values, length-prefixed so no two contents collide:
    equal content, equal hash, whatever the version id."""
    digest = hashlib.sha256(b"secretkeeper-content-v1\0" + path.encode() + b"\0")
    for key in sorted(data):
        for part in (key.encode(), data[key]):
            digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def secret_object(name: str, namespace: str | None, store: str, path: str, version: SecretVersion,
                  secret_type: str = "Opaque") -> dict[str, Any]:
    """A v1 Secret holding `version.data`; raises ValueError naming a key the API server would refuse."""
    for key in version.data:
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"key {key!r} is not a valid Secret data key (letters, digits, '-', '_', '.')")
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(MANAGED_BY)
    metadata["annotations"] = {STORE: store, PATH: path, VERSION: version.version,
                               CONTENT: content_hash(path, version.data)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": secret_type,
            "data": {key: base64.b64encode(version.data[key]).decode("ascii") for key in sorted(version.data)}}
