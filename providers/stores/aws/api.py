"""The one door to Secrets Manager for a configured store: every request goes through `SecretsApi.call`.

The client is made on first use (a config may declare an AWS store that a run never touches: it needs no
region or credentials then). Each answered request is a crash point for tests (`store-request`), and each
botocore error leaves as a one-line StoreError (errors.translate), its botocore cause dropped.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from providers.stores.aws.session import new_client, new_session
from providers.stores.aws.errors import translate
from secretkeeper.config.stores import AwsSecretsManagerStore
from secretkeeper.rotation.crashpoints import reached


def store_request(**_: Any) -> None:
    reached("store-request")


class SecretsApi:
    def __init__(self, store: str, config: AwsSecretsManagerStore) -> None:
        self.store = store  # the store's name in the config, for messages
        self.config = config

    @cached_property
    def session(self) -> Any:
        return new_session(region=self.config.region, profile=self.config.profile)

    @cached_property
    def client(self) -> Any:
        return new_client(self.session, "secretsmanager", endpoint_url=self.config.endpoint_url,
                              after_call=store_request)

    def where(self, path: str) -> str:
        return f"aws store {self.store}: {path}"

    def call(self, operation: str, path: str, **params: Any) -> dict[str, Any]:
        """Run `operation` (e.g. "PutSecretValue") about the secret `path` (named in errors)."""
        try:
            return getattr(self.client, xform_name(operation))(**params)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, where=self.where(path), action=f"secretsmanager:{operation}") from None
