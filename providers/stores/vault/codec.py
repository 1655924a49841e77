"""A secret's value as Vault keeps it: a JSON object of key -> UTF-8 string; in memory, key -> bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.errors import StoreError


def encode(where: str, data: Mapping[str, bytes]) -> dict[str, str]:
    """A StoreError naming `where` and the key when a value is not UTF-8 text (never the value)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise StoreError(f"vault: {where}: key names must be non-empty strings")
        try:
            out[key] = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError(f"vault: {where}: value of key {key!r} is not UTF-8 text "
                             "(Vault keeps strings)") from None
    return out


def decode(where: str, doc: Any) -> dict[str, bytes]:
    """A StoreError naming `where` and the key when Vault holds something other than strings (a secret
    written by another tool with a number or a nested object)."""
    if not isinstance(doc, dict):
        raise StoreError(f"vault: {where}: data is not a JSON object of strings")
    out: dict[str, bytes] = {}
    for key, value in doc.items():
        if not isinstance(value, str):
            raise StoreError(f"vault: {where}: value of key {key!r} is not a string")
        out[key] = value.encode("utf-8")
    return out
