"""Discard a staged version that will not be promoted: take its AWSPENDING label away. A version with no
label left is deprecated, and AWS deletes it in time; no reader ever got it."""

from __future__ import annotations

from providers.errors import NotFound, StoreError
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.describe import describe
from providers.stores.aws.labels import CURRENT, PENDING


def discard(api: SecretsApi, path: str, version: str) -> None:
    """Nothing to do when the secret, the version or its AWSPENDING label is already gone."""
    try:
        stages = describe(api, path).versions.get(version, frozenset())
    except NotFound:
        return
    if CURRENT in stages:
        raise StoreError(f"{api.where(path)}: version {version} is current and cannot be discarded: promote "
                         "the previous version back instead")
    if PENDING in stages:
        api.call("UpdateSecretVersionStage", path, SecretId=path, VersionStage=PENDING,
                 RemoveFromVersionId=version)
