"""The `stores:` section: where managed secrets live, by name.

    stores:
      local: {type: local, path: .secretkeeper/store}
      aws:   {type: aws-secrets-manager, region: eu-west-1}
      vault: {type: vault, address: https://vault.internal:8200, mount: secret,
              auth: {method: kubernetes, role: secretkeeper}}

Imported only to load a file that has rotation sections (pydantic at import). The stores themselves are
in `providers/stores/`, registered under the same `type` names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from secretkeeper.config.invalid import FORBID_EXTRA


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("expected an http(s):// URL")
    return value


Url = Annotated[str, AfterValidator(_url)]


@dataclass
class LocalStore:
    """AES-256-GCM encrypted files: the embedded default. Relative paths are taken from the working
    directory. The key comes from SECRETKEEPER_LOCAL_KEY, else from `key_file` (created on first use)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["local"]
    path: Annotated[str, Field(min_length=1)] = ".secretkeeper/store"
    key_file: str | None = None  # default `<path>.key`: beside the store directory, so it never travels with it
    max_versions: Annotated[int, Field(ge=2)] = 10  # versions kept per secret (current and previous always)

    def __post_init__(self) -> None:
        store = os.path.abspath(self.path)
        if self.key_file is not None and os.path.abspath(self.key_file).startswith(store + os.sep):
            raise ValueError("key_file must not be inside the store directory: a copy of the folder "
                             "would carry its own key")

    @property
    def key_path(self) -> str:
        return self.key_file if self.key_file is not None else self.path.rstrip("/" + os.sep) + ".key"


@dataclass
class AwsSecretsManagerStore:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["aws-secrets-manager"]
    region: str | None = None  # default: the standard AWS chain (AWS_REGION, profile)
    endpoint_url: Url | None = None  # moto, LocalStack
    kms_key_id: str | None = None


@dataclass
class VaultTokenAuth:
    """The token in VAULT_TOKEN."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["token"]


@dataclass
class VaultKubernetesAuth:
    """The pod's service-account JWT, exchanged for a token of `role`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["kubernetes"]
    role: str
    mount: str = "kubernetes"


@dataclass
class VaultAppRoleAuth:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["approle"]
    role_id: str
    mount: str = "approle"


VaultAuth = Annotated[VaultTokenAuth | VaultKubernetesAuth | VaultAppRoleAuth, Field(discriminator="method")]


@dataclass
class VaultStore:
    """A KV version 2 engine of Vault (or OpenBao)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["vault"]
    address: Url | None = None  # default: VAULT_ADDR
    mount: str = "secret"
    namespace: str | None = None  # Enterprise / OpenBao namespace, passed through
    ca_bundle: str | None = None  # a CA file for TLS; verification is never off
    auth: VaultAuth = field(default_factory=lambda: VaultTokenAuth("token"))


StoreConfig = Annotated[VaultStore | AwsSecretsManagerStore | LocalStore, Field(discriminator="type")]
