"""Read a secret as its consumers do: the version labelled AWSCURRENT, asked for by that label (a read
without a label is not the same thing everywhere: moto answers it with a version it no longer calls
current); or one version by id; or what a rotation's token staged."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from providers.base import SecretVersion
from providers.errors import NotFound
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.codec import decode
from providers.stores.aws.labels import CURRENT, UNSET


def read(api: SecretsApi, path: str, version: str | None = None) -> SecretVersion:
    which = {"VersionId": version} if version else {"VersionStage": CURRENT}
    answer = api.call("GetSecretValue", path, SecretId=path, **which)
    if answer["VersionId"] == UNSET:
        raise NotFound(f"{api.where(path)}: no value yet (its first rotation has not finished)")
    return _version(api, path, answer)


def staged(api: SecretsApi, path: str, token: str) -> SecretVersion | None:
    """The version that `stage(token=token)` wrote, unless it is gone or discarded (no label left)."""
    try:
        answer = api.call("GetSecretValue", path, SecretId=path, VersionId=token)
    except NotFound:
        return None
    return _version(api, path, answer) if answer.get("VersionStages") else None


def _version(api: SecretsApi, path: str, answer: Mapping[str, Any]) -> SecretVersion:
    return SecretVersion(answer["VersionId"], decode(answer, api.where(path)),
                         answer["CreatedDate"].astimezone(UTC), frozenset(answer.get("VersionStages", ())))
