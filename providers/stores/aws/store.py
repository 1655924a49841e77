"""`AwsStore`: the Store protocol over one configured Secrets Manager (region, profile, endpoint), each
verb in its own module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

from providers.base import SecretVersion, StoreStatus
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.discard import discard
from providers.stores.aws.identity import identity
from providers.stores.aws.journal import AwsJournal
from providers.stores.aws.notes import annotate
from providers.stores.aws.promote import promote
from providers.stores.aws.read import read, staged
from providers.stores.aws.stage import stage
from providers.stores.aws.status import status
from secretkeeper.config.stores import AwsSecretsManagerStore


class AwsStore:
    def __init__(self, name: str, config: AwsSecretsManagerStore) -> None:
        self.name = name
        self.api = SecretsApi(name, config)

    def read(self, path: str, version: str | None = None) -> SecretVersion:
        return read(self.api, path, version)

    def stage(self, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
        return stage(self.api, path, data, token=token)

    def staged(self, path: str, token: str) -> SecretVersion | None:
        return staged(self.api, path, token)

    def promote(self, path: str, version: str, *, expect_current: str | None) -> None:
        promote(self.api, path, version, expect_current=expect_current)

    def discard(self, path: str, version: str) -> None:
        discard(self.api, path, version)

    def journal(self, path: str) -> AwsJournal:
        return AwsJournal(self.api, path)

    def status(self, paths: Sequence[str]) -> Mapping[str, StoreStatus]:
        return status(self.api, paths)

    def annotate(self, path: str, notes: Mapping[str, str]) -> None:
        annotate(self.api, path, notes)

    def identity(self) -> str | None:
        return self._identity

    @cached_property
    def _identity(self) -> str | None:  # asked once per run: the caller does not change within one
        return identity(self.api)
