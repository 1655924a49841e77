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
from typing import Any

from secretkeeper.kube.objects import FieldPath, KubeObject

_BASE64, _TEXT, _SEALED = "base64", "text", "sealed"
_UNREAD = object()
# Where each kind keeps values (as a field path and as the `field` name), and how they are written there.
_FIELDS: dict[str, tuple[tuple[FieldPath, str, str], ...]] = {
    "Secret": ((("data",), "data", _BASE64), (("stringData",), "stringData", _TEXT)),
    "ConfigMap": ((("data",), "data", _TEXT), (("binaryData",), "binaryData", _BASE64)),
    "SealedSecret": ((("spec", "encryptedData"), "spec.encryptedData", _SEALED),
                     (("spec", "template", "data"), "spec.template.data", _TEXT)),
}


class StoredValue:
    """One value an object holds: `field` (where its map is: "data", "stringData", "binaryData",
    "spec.encryptedData", "spec.template.data"), `key`, `path` (its field path: `obj.line(*path)` is its
    key's line in a manifest) and `written` (as the object holds it: base64, ciphertext or text, or
    anything a broken object has). Its repr names the key, never the value."""

    __slots__ = ("_value", "field", "key", "path", "written", "written_as")

    def __init__(self, field: str, key: str, path: FieldPath, written: Any, written_as: str) -> None:
        self.field = field
        self.key = key
        self.path = path
        self.written = written
        self.written_as = written_as
        self._value: Any = _UNREAD

    def __repr__(self) -> str:
        return f"StoredValue({self.field} {self.key})"

    @property
    def encoded(self) -> bool:
        """Written as base64 or ciphertext: the text written is not the value."""
        return self.written_as != _TEXT

    @property
    def value(self) -> bytes | None:
        """The value's bytes (base64 decoded, text as UTF-8); None for ciphertext, a value that is not a
        string or not base64. Decoded on first read: most callers want only some of them."""
        if self._value is _UNREAD:
            written = self.written
            if self.written_as == _BASE64:
                self._value = _b64decode(written)
            elif self.written_as == _TEXT and isinstance(written, str):
                self._value = written.encode("utf-8", "surrogateescape")
            else:
                self._value = None
        return self._value


def stored_values(obj: KubeObject) -> list[StoredValue]:
    """Every value `obj` holds, field by field, in the order written (a list: most objects hold none, and
    the manifest scan asks every object several times)."""
    fields = _FIELDS.get(obj.kind)
    if fields is None:
        return []
    out = []
    for fpath, field, written_as in fields:
        values: Any = obj.body
        for name in fpath:
            values = values.get(name) if isinstance(values, dict) else None
        if not isinstance(values, dict):
            continue
        for key, written in values.items():
            key = str(key)
            out.append(StoredValue(field, key, (*fpath, key), written, written_as))
    return out


def is_encoded(kind: str, fpath: FieldPath) -> bool:
    """Is `fpath` in (or under) a field whose values `kind` writes as base64 or ciphertext?"""
    return any(written_as != _TEXT and fpath[:len(where)] == where
               for where, _field, written_as in _FIELDS.get(kind, ()))


def _b64decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
