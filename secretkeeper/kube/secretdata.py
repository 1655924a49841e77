"""The values Secrets, ConfigMaps and SealedSecrets hold, read one way for every feature that needs them
(the manifest and cluster scanners, the storage hygiene checks; later sync and rotation).

- Secret: `data` (base64) and `stringData` (text);
- ConfigMap: `data` (text) and `binaryData` (base64);
- SealedSecret: `spec.encryptedData` (ciphertext, never decoded) and `spec.template.data` (text that the
  controller writes into the Secret it unseals).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from secretkeeper.kube.objects import FieldPath, KubeObject, once

_BASE64, _TEXT, _SEALED = "base64", "text", "sealed"
# Where each kind keeps values, and how they are written there.
_FIELDS: dict[str, tuple[tuple[FieldPath, str], ...]] = {
    "Secret": ((("data",), _BASE64), (("stringData",), _TEXT)),
    "ConfigMap": ((("data",), _TEXT), (("binaryData",), _BASE64)),
    "SealedSecret": ((("spec", "encryptedData"), _SEALED), (("spec", "template", "data"), _TEXT)),
}


@dataclass(frozen=True)
class StoredValue:
    field: str  # where the map of values is: "data", "stringData", "binaryData", "spec.encryptedData", ...
    key: str
    path: FieldPath  # the value's field path: `obj.line(*path)` is its key's line in a manifest
    written: Any  # as the object holds it: base64, ciphertext or text (or anything a broken object has)
    written_as: str

    @property
    def encoded(self) -> bool:
        """Written as base64 or ciphertext: the text written is not the value."""
        return self.written_as != _TEXT

    @once
    def value(self) -> bytes | None:
        """The value's bytes (base64 decoded, text as UTF-8); None for ciphertext, a value that is not a
        string or not base64. Decoded on first read: most callers want only some of them."""
        if self.written_as == _BASE64:
            return _b64decode(self.written)
        if self.written_as == _TEXT and isinstance(self.written, str):
            return self.written.encode("utf-8", "surrogateescape")
        return None


def stored_values(obj: KubeObject) -> Iterator[StoredValue]:
    """Every value `obj` holds, field by field, in the order written."""
    for fpath, written_as in _FIELDS.get(obj.kind, ()):
        values: Any = obj.body
        for name in fpath:
            values = values.get(name) if isinstance(values, dict) else None
        if not isinstance(values, dict):
            continue
        field = ".".join(fpath)
        for key, written in values.items():
            key = str(key)
            yield StoredValue(field, key, (*fpath, key), written, written_as)


def is_encoded(kind: str, fpath: FieldPath) -> bool:
    """Is `fpath` in (or under) a field whose values `kind` writes as base64 or ciphertext?"""
    return any(written_as != _TEXT and fpath[:len(field)] == field
               for field, written_as in _FIELDS.get(kind, ()))


def _b64decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
