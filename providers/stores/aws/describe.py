"""What DescribeSecret says about one secret before a change: its labelled versions, and whether the
secret is someone else's to rotate or on its way out."""

from __future__ import annotations

from dataclasses import dataclass

from providers.errors import Refused, StoreError
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.labels import CURRENT, holding, labelled

# Why a secret with AWS rotation on is refused: one line, shared with the bulk status.
ROTATED_BY_AWS = ("AWS rotates this secret itself (rotation is enabled, by a Lambda function or the service "
                  "that owns it): turn that rotation off, or leave the secret out of secretkeeper.yaml")


@dataclass(frozen=True)
class Described:
    versions: dict[str, frozenset[str]]  # labelled versions only
    rotated_by_aws: bool
    deleted: bool  # scheduled for deletion

    @property
    def current(self) -> str | None:
        return holding(self.versions, CURRENT)


def describe(api: SecretsApi, path: str) -> Described:
    """NotFound when the secret does not exist."""
    answer = api.call("DescribeSecret", path, SecretId=path)
    return Described(labelled(answer.get("VersionIdsToStages")), bool(answer.get("RotationEnabled")),
                     answer.get("DeletedDate") is not None)


def writable(api: SecretsApi, path: str, described: Described) -> Described:
    """`described`, once sure that secretkeeper may change the secret."""
    if described.rotated_by_aws:
        raise Refused(f"{api.where(path)}: {ROTATED_BY_AWS}")
    if described.deleted:
        raise StoreError(f"{api.where(path)}: the secret is scheduled for deletion: restore it "
                         "(aws secretsmanager restore-secret) or leave it out of secretkeeper.yaml")
    return described
