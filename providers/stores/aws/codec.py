"""A secret's keys and values as Secrets Manager keeps them: SecretString holding a JSON object of key ->
UTF-8 text (what the console, External Secrets and AWS's own rotation templates read and write)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from providers.errors import StoreError


def encode(data: Mapping[str, bytes], where: str) -> str:
    text = {}
    for key, value in data.items():
        try:
            text[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError(f"{where}: the value of key {key!r} is not UTF-8 text, which is all a "
                             "SecretString can hold") from None
    return json.dumps(text, sort_keys=True)


def decode(answer: Mapping[str, Any], where: str) -> dict[str, bytes]:
    """`answer`: a GetSecretValue response. Errors describe the shape, never the content."""
    if "SecretString" not in answer:
        raise StoreError(f"{where}: the secret holds SecretBinary; secretkeeper keeps a JSON object of "
                         "keys in SecretString")
    try:
        doc = json.loads(answer["SecretString"])
    except ValueError:
        raise StoreError(f"{where}: SecretString is not JSON; secretkeeper keeps a JSON object of keys") from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise StoreError(f"{where}: SecretString is not a JSON object of text values")
    return {key: value.encode("utf-8") for key, value in doc.items()}
