"""Status notes (last rotation, next due, rotation id, issuer) as tags `secretkeeper:<name>` on the secret:
readable by the bulk listing, and never a value."""

from __future__ import annotations

import re
from collections.abc import Mapping

from providers.errors import StoreError
from providers.stores.aws.api import SecretsApi

PREFIX = "secretkeeper:"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,100}")
MAX_VALUE = 256  # AWS's limit for a tag value


def annotate(api: SecretsApi, path: str, notes: Mapping[str, str]) -> None:
    for name, value in notes.items():
        if not _NAME.fullmatch(name):
            raise StoreError(f"{api.where(path)}: status note name {name!r} is not lower-case words joined by '-'")
        if len(value) > MAX_VALUE:
            raise StoreError(f"{api.where(path)}: status note {name!r} is longer than {MAX_VALUE} characters")
    if notes:
        api.call("TagResource", path, SecretId=path,
                 Tags=[{"Key": PREFIX + name, "Value": value} for name, value in sorted(notes.items())])
