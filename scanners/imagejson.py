"""The JSON documents that describe an image, parsed and checked: an OCI or Docker index, an image
manifest, an image config, a docker-archive's manifest.json.

Each comes from a registry, an OCI layout or a tarball under scan, so it is attacker-controlled: a
document of the wrong shape is a one-line SecretkeeperError naming the input (never a KeyError or
TypeError later), and a digest must be `sha256:` with 64 hex digits before it becomes part of a path or
a URL (`sha256:../../etc/passwd` would read outside an OCI layout).
"""

from __future__ import annotations

import json
import re
from typing import Any

from secretkeeper.errors import SecretkeeperError

DIGEST = r"sha256:[0-9a-f]{64}"  # the one algorithm registry.verify_digest checks
_DIGEST_RE = re.compile(DIGEST)
Descriptor = tuple[str, str, int]  # digest, media type, size


def parse_json(data: bytes, what: str, kind: type = dict) -> Any:
    """`data` as JSON of type `kind` (an object unless told)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SecretkeeperError(f"{what}: not valid JSON") from None
    if not isinstance(doc, kind):
        raise SecretkeeperError(f"{what}: not a JSON {'object' if kind is dict else 'array'}")
    return doc


def checked_digest(digest: Any, what: str) -> str:
    """`digest` if it is `sha256:` and 64 lowercase hex digits."""
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise SecretkeeperError(f"{what}: a digest is not sha256: and 64 hex digits")
    return digest


def descriptor(desc: Any, what: str) -> Descriptor:
    """A content descriptor: a sha256 digest, a string media type, a non-negative integer size."""
    if not isinstance(desc, dict):
        raise SecretkeeperError(f"{what}: a descriptor is not a JSON object")
    size, media = desc.get("size", 0), desc.get("mediaType", "")
    if type(size) is not int or size < 0 or not isinstance(media, str):
        raise SecretkeeperError(f"{what}: a descriptor's size is not a non-negative integer or its mediaType "
                                "not a string")
    return checked_digest(desc.get("digest"), what), media, size


def index_entries(index: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """The `manifests` of an index: descriptors, each with its `platform` and `annotations` objects."""
    entries = index.get("manifests") or []
    if not isinstance(entries, list):
        raise SecretkeeperError(f"{what}: manifests is not a list")
    for entry in entries:
        descriptor(entry, what)
        if not all(isinstance(entry.get(key) or {}, dict) for key in ("platform", "annotations")):
            raise SecretkeeperError(f"{what}: a manifest's platform or annotations is not a JSON object")
    return entries


def image_manifest(doc: dict[str, Any], what: str) -> tuple[str, list[Descriptor]]:
    """The config digest and the layer descriptors of an image manifest."""
    config = doc.get("config")
    if not isinstance(config, dict) or not config.get("digest"):
        raise SecretkeeperError(f"{what}: manifest has no config (schema 1 images are not supported)")
    layers = doc.get("layers") or []
    if not isinstance(layers, list):
        raise SecretkeeperError(f"{what} manifest: layers is not a list")
    return descriptor(config, f"{what} manifest")[0], [descriptor(d, f"{what} manifest") for d in layers]


def image_config(data: bytes, what: str) -> dict[str, Any]:
    """An image config whose fields the scan reads have their types: `config` an object, its `Env` a list
    and `Labels` an object, `history` a list of objects."""
    doc = parse_json(data, what)
    inner = doc.get("config") or {}
    if (not isinstance(inner, dict) or not isinstance(inner.get("Env") or [], list)
            or not isinstance(inner.get("Labels") or {}, dict)
            or not isinstance(doc.get("history") or [], list)
            or not all(isinstance(h, dict) for h in doc.get("history") or [])):
        raise SecretkeeperError(f"{what}: config, Env, Labels or history has the wrong type")
    return doc


def archive_entries(data: bytes, what: str) -> list[dict[str, Any]]:
    """The images a docker-archive's manifest.json lists: each with a `Config` member name, a `Layers` list
    of member names and `RepoTags` strings."""
    entries = parse_json(data, what, list)
    if not entries:
        raise SecretkeeperError(f"{what}: lists no image")
    for entry in entries:
        if (not isinstance(entry, dict) or not isinstance(entry.get("Config"), str)
                or not _strings(entry.get("Layers") or []) or not _strings(entry.get("RepoTags") or [])):
            raise SecretkeeperError(f"{what}: an image is not an object with a Config name, a Layers list and "
                                    "RepoTags strings")
    return entries


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
