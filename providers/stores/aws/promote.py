"""Promote a staged version: move AWSCURRENT onto it with RemoveFromVersionId naming the version the
caller saw as current. AWS refuses the move if AWSCURRENT is no longer there, so of two rotators (or a
rotator and a person) only one can win. AWS keeps AWSPREVIOUS on the version that was current; AWSPENDING
is removed explicitly (AWS does that only for its own Lambda rotations)."""

from __future__ import annotations

from providers.errors import Conflict, NotFound
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.describe import describe, writable
from providers.stores.aws.errors import Rejected
from providers.stores.aws.labels import CURRENT, PENDING, UNSET, holding


def promote(api: SecretsApi, path: str, version: str, *, expect_current: str | None) -> None:
    """`expect_current=None`: a first rotation (the current version is still the bootstrap placeholder).
    Promoting the version that is already current only finishes the job (AWSPENDING removed)."""
    versions = writable(api, path, describe(api, path)).versions
    if version not in versions:
        raise NotFound(f"{api.where(path)}: version {version} not found, or discarded")
    if CURRENT not in versions[version]:
        expected = expect_current or UNSET
        current = holding(versions, CURRENT)
        if current != expected:
            raise _lost(api, path, current, expect_current)
        try:
            api.call("UpdateSecretVersionStage", path, SecretId=path, VersionStage=CURRENT,
                     MoveToVersionId=version, RemoveFromVersionId=expected)
        except Rejected as exc:
            if exc.code != "InvalidParameterException":
                raise
            # AWSCURRENT left `expected` since we looked, or a retried request of ours already moved it.
            versions = describe(api, path).versions
            if CURRENT not in versions.get(version, ()):
                current = holding(versions, CURRENT)
                raise _lost(api, path, current, expect_current) from None
    if PENDING in versions[version]:
        api.call("UpdateSecretVersionStage", path, SecretId=path, VersionStage=PENDING,
                 RemoveFromVersionId=version)


def _lost(api: SecretsApi, path: str, current: str | None, expected: str | None) -> Conflict:
    seen = "the bootstrap placeholder" if current == UNSET else (current or "none")
    wanted = expected or "the bootstrap placeholder (a first rotation)"
    return Conflict(f"{api.where(path)}: the current version is {seen}, not {wanted}: another rotation or "
                    "a person changed the secret first")
