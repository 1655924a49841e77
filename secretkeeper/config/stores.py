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
    """AES-256-GCM encrypted files: the embedded default."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["local"]
    path: str = ".secretkeeper/store"


@dataclass
class AwsSecretsManagerStore:
    """AWS Secrets Manager; credentials from boto3's standard chain (environment, profile, web identity,
    instance role)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["aws-secrets-manager"]
    region: str | None = None  # default: the standard AWS chain (AWS_REGION, profile)
    endpoint_url: Url | None = None  # moto, LocalStack
    kms_key_id: str | None = None  # the key secrets (and their journals) are created with; default aws/secretsmanager
    profile: str | None = None  # a profile of the AWS config files; default AWS_PROFILE, else the default chain


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
