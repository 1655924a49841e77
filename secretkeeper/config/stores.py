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

from secretkeeper.config.credentials import Credential
from secretkeeper.config.invalid import FORBID_EXTRA


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("expected an http(s):// URL")
    if "@" in value.split("://", 1)[1].split("/", 1)[0]:  # user:password@host: a credential in the file
        raise ValueError("a URL with user info (user:password@) in it: the config never holds a credential; give it "
                         "through the store's `auth` or the environment")
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
    """`token` when given (`{from: STORE:PATH#KEY}` or `{env: NAME}`), else VAULT_TOKEN, else
    ~/.vault-token (what `vault login` leaves)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["token"]
    token: Credential | None = None


@dataclass
class VaultKubernetesAuth:
    """The pod's service-account JWT, exchanged for a token of `role`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["kubernetes"]
    role: str
    mount: str = "kubernetes"
    # read at every login: projected service-account tokens are rotated by the kubelet
    token_path: str = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass
class VaultAppRoleAuth:
    """A role id (not secret) and a secret id: `secret_id` (another stored secret, `{from: STORE:PATH#KEY}`,
    or `{env: NAME}`), else a file, else an environment variable; never a literal in the config."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    method: Literal["approle"]
    role_id: str
    mount: str = "approle"
    secret_id: Credential | None = None
    secret_id_file: str | None = None
    secret_id_env: str = "VAULT_SECRET_ID"  # read when secret_id_file is not set


VaultAuth = Annotated[VaultTokenAuth | VaultKubernetesAuth | VaultAppRoleAuth, Field(discriminator="method")]


@dataclass
class VaultStore:
    """A KV version 2 engine of Vault (or OpenBao)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["vault"]
    address: Url | None = None  # default: VAULT_ADDR
    mount: str = "secret"
    namespace: str | None = None  # Enterprise / OpenBao namespace, passed through
    ca_bundle: str | None = None  # a CA file for TLS (default: VAULT_CACERT); verification is never off
    auth: VaultAuth = field(default_factory=lambda: VaultTokenAuth("token"))
    max_versions: Annotated[int, Field(ge=0)] | None = None  # versions kept per secret (0: the mount's)
    timeout: Annotated[float, Field(gt=0)] = 30.0  # seconds per request
    # where rotation journals live in the mount: `<journal_prefix>/<secret path>` (providers/stores/vault)
    journal_prefix: str = "secretkeeper-rotation"


StoreConfig = Annotated[VaultStore | AwsSecretsManagerStore | LocalStore, Field(discriminator="type")]
