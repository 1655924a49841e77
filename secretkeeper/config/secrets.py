"""The `secrets:` section: the managed secrets, each in a declared store, made by an issuer, rotated by a
policy and synced to targets.

    secrets:
      - name: payments-db
        store: aws
        path: prod/payments/db
        issuer: {type: random, length: 32}
        rotate: {every: 30d}
        sync:
          - manifest: {dir: out/secrets}

Imported only to load a file that has rotation sections (pydantic at import). Only what is cheap and
certain is checked here (types, names, durations, references between sections); the rotation engine
owns the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import time, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from secretkeeper.config.credentials import Credential
from secretkeeper.config.durations import parse_duration
from secretkeeper.config.invalid import FORBID_EXTRA, Invalid
from secretkeeper.config.stores import Url
from secretkeeper.errors import shown

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONSUMER_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*/[^/\s]+/[^/\s]+")


def _name(value: str) -> str:
    # Names reach command lines, lock and journal names, file names of the local store.
    if not _NAME_RE.fullmatch(value):
        raise ValueError("a name is letters, digits, '.', '_' and '-', starting with a letter or digit")
    return value


def _consumer(value: str) -> str:
    if not _CONSUMER_RE.fullmatch(value):
        raise ValueError("expected Kind/namespace/name, e.g. Deployment/shop/web")
    return value


def _clock(value: str) -> str:
    try:
        time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError("expected a time of day, HH:MM") from None
    return value


def _cron(value: str) -> str:
    from croniter import croniter  # ~0.2 s to import: only for a file that declares a cron policy

    fields = value.split()
    if not (value.startswith("@") or len(fields) == 5) or not croniter.is_valid(value):
        raise ValueError("not a cron expression: five fields, minute hour day-of-month month day-of-week "
                         "(e.g. '0 3 * * 1'), evaluated in UTC")
    return " ".join(fields)


def _jitter(value: Any) -> float | timedelta:
    """A fraction of the interval (`10%`) or a duration (`15m`); `0` turns jitter off."""
    if value in (0, "0", "0%"):
        return 0.0
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            percent = -1.0
        if not 0 <= percent <= 50:
            raise ValueError("a jitter percentage is between 0% and 50% of the interval")
        return percent / 100
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("expected a share of the interval (e.g. 10%) or a duration (e.g. 15m); 0 for none") \
            from None


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Jitter = Annotated[float | timedelta, BeforeValidator(_jitter)]


@dataclass
class RandomIssuer:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["random"]
    length: Annotated[int, Field(gt=0)] = 32
    charset: str | None = None  # the characters to draw from (default: letters and digits)
    exclude: str = ""  # characters never used
    templates: dict[str, str] = field(default_factory=dict)  # key -> text with {placeholders}: other keys
    # placeholder -> a credential read from elsewhere at run time ({from: STORE:PATH#KEY} or {env: NAME}):
    # `uri: "amqp://{user}:{password}@mq"` with `inputs: {user: {from: "shared:mq/admin#user"}}`
    inputs: dict[str, Credential] = field(default_factory=dict)
    keep: list[str] = field(default_factory=list)  # keys carried over from the current version (a user name)


@dataclass
class KeypairIssuer:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["keypair"]
    algorithm: Literal["rsa", "ec", "ed25519"] = "ed25519"
    size: Annotated[int, Field(gt=0)] | None = None  # RSA modulus bits or EC curve size
    format: Literal["pem", "openssh"] = "pem"


@dataclass
class StaticIssuer:
    """Set by a person (`secretkeeper put`): the tool tracks its age and reminds."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["static"]


def _ip(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IP address (e.g. 10.0.0.7 or fd00::7)") from None


_KEY_USAGES = Literal["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                      "key_agreement"]
_EXT_KEY_USAGES = Literal["server_auth", "client_auth", "code_signing", "email_protection", "ocsp_signing"]


@dataclass
class X509CaIssuer:
    """A self-signed CA kept in the store (providers/issuers/x509_ca.py): its key signs the `x509` leaves
    that name it; its trust bundle (`ca-bundle.crt`) is what consumers trust."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["x509-ca"]
    common_name: Annotated[str, Field(min_length=1, max_length=64)]
    ttl: Duration = timedelta(days=3650)
    renew_before: Duration | None = None  # default: a third of the lifetime
    key_type: Literal["rsa", "ecdsa"] = "ecdsa"
    key_size: Annotated[int, Field(gt=0)] | None = None  # RSA bits (default 3072) or EC curve (default 256)


@dataclass
class VaultPki:
    """Issue through a PKI secrets engine of Vault or OpenBao: `<mount>/issue/<role>`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    role: Annotated[str, AfterValidator(_name)]
    mount: Annotated[str, Field(min_length=1)] = "pki"
    store: str | None = None  # the `vault` store whose address and login to use (default: the secret's)


@dataclass
class X509Issuer:
    """A leaf certificate signed by the managed CA named by `ca`, or issued by a Vault PKI role
    (providers/issuers/x509.py)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    secret_refs: ClassVar[tuple[str, ...]] = ("ca",)
    type: Literal["x509"]
    common_name: Annotated[str, Field(min_length=1, max_length=64)]
    ca: str | None = None  # a managed secret of type x509-ca
    vault_pki: VaultPki | None = None
    dns_names: list[str] = field(default_factory=list)  # default: [common_name] when no IP is given either
    ip_addresses: list[Annotated[str, AfterValidator(_ip)]] = field(default_factory=list)
    ttl: Duration = timedelta(days=90)
    renew_before: Duration | None = None  # default: a third of the lifetime
    key_type: Literal["rsa", "ecdsa"] = "ecdsa"
    key_size: Annotated[int, Field(gt=0)] | None = None
    key_usage: list[_KEY_USAGES] | None = None  # default: digital_signature (+ key_encipherment for RSA)
    ext_key_usage: list[_EXT_KEY_USAGES] = field(default_factory=lambda: ["server_auth"])
    reuse_key: bool = False  # keep the private key across renewals (default: a new key every time)

    def __post_init__(self) -> None:
        if (self.ca is None) == (self.vault_pki is None):
            raise ValueError("give `ca` (a managed x509-ca secret) or `vault_pki`, exactly one")


@dataclass
class PostgresIssuer:
    """A PostgreSQL role's password, changed by the `admin` managed secret ({"username", "password"})."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    secret_refs: ClassVar[tuple[str, ...]] = ("admin",)
    type: Literal["postgres"]
    host: Annotated[str, Field(min_length=1)]
    database: Annotated[str, Field(min_length=1)]
    role: Annotated[str, Field(min_length=1)]
    admin: str  # the managed secret holding the admin's username and password
    port: Annotated[int, Field(gt=0, lt=65536)] = 5432
    strategy: Literal["single", "alternating"] = "single"  # alternating: <role> and <role>_clone in turn
    length: Annotated[int, Field(ge=16, le=99)] = 40  # password characters (letters and digits)
    grace: Duration | None = None  # alternating: how long the previous role keeps working (default 1h)
    # default: verify-full, or prefer for a loopback host (providers/issuers/pglogin.py)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    sslrootcert: str | None = None  # CA file for verify-ca / verify-full
    connect_timeout: Annotated[int, Field(gt=0)] = 10  # seconds


@dataclass
class VaultDatabaseIssuer:
    """A static role of Vault's database secrets engine: Vault changes the password (`rotate-role`),
    the new one is read from `static-creds`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["vault-database"]
    role: Annotated[str, Field(min_length=1)]  # the static role's name
    mount: str = "database"
    store: str | None = None  # the `vault` store whose address and login to use (default: the secret's)
    # A PostgreSQL server to log in to with the new credential (verify): optional, Vault's own word otherwise
    host: str | None = None
    port: Annotated[int, Field(gt=0, lt=65536)] = 5432
    database: str | None = None
    # default: verify-full, or prefer for a loopback host (providers/issuers/pglogin.py)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    sslrootcert: str | None = None  # CA file for verify-ca / verify-full


@dataclass
class AwsIamKeyIssuer:
    """An IAM user's access key: a second key is created, verified, and the old one retired after `grace`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["aws-iam-key"]
    user: Annotated[str, Field(min_length=1)]
    grace: Duration | None = None  # how long the old key stays active after the new one is current (default 24h)
    region: str | None = None  # default: the standard AWS chain
    endpoint_url: Url | None = None  # IAM's endpoint (moto, LocalStack)
    sts_endpoint_url: Url | None = None  # STS's (default: endpoint_url)
    profile: str | None = None
    verify_timeout: Duration = timedelta(seconds=30)  # a new key takes a few seconds to reach every region




@dataclass
class K8sTokenIssuer:
    """Service-account tokens through the TokenRequest API, each bound to its own holder Secret
    (providers/issuers/k8s_token.py); `context`: the kubeconfig context (default: current, or in-cluster)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    type: Literal["k8s-token"]
    namespace: K8sName
    service_account: K8sName
    audiences: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    ttl: Duration = timedelta(hours=24)
    grace: Duration = timedelta(0)  # how long the previous token keeps working after the new one is current
    context: str | None = None

    def __post_init__(self) -> None:
        # TokenRequest's expirationSeconds: at least 10 minutes, whole seconds, an int64 the API accepts
        if self.ttl < timedelta(minutes=10):
            raise ValueError("ttl: a TokenRequest lasts at least 10m (expirationSeconds >= 600)")
        if self.ttl % timedelta(seconds=1) or self.ttl > timedelta(days=3650):
            raise ValueError("ttl: whole seconds, at most 3650d")


IssuerConfig = Annotated[RandomIssuer | KeypairIssuer | StaticIssuer | X509CaIssuer | X509Issuer
                         | PostgresIssuer | VaultDatabaseIssuer | AwsIamKeyIssuer | K8sTokenIssuer,
                         Field(discriminator="type")]
# An issuer section whose fields name other managed secrets (`admin: pg-admin`, `ca: internal-ca`) lists
# those fields in a class attribute `secret_refs`: a run handles the named secrets first.


@dataclass
class MaintenanceWindow:
    """When rotations may run: local wall-clock times in an explicit zone, so the window does not move
    with a host's zone. `end` before `start` crosses midnight; `days` are the days a window starts on."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    start: Annotated[str, AfterValidator(_clock)]
    end: Annotated[str, AfterValidator(_clock)]
    timezone: Annotated[str, AfterValidator(_timezone)]
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = field(default_factory=list)  # all

    def __post_init__(self) -> None:
        if time.fromisoformat(self.start) == time.fromisoformat(self.end):
            raise ValueError("start and end are the same time: the window would be empty")


@dataclass
class RotatePolicy:
    """When a secret is due (secretkeeper.rotation.policy): the first of `every` / `cron`, `max_age` and
    `renew_before` (against the expiry the issuer notes), then held back by `min_interval` since the last
    rotation (a guard against loops; only --force passes it) and to the maintenance `window`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    every: Duration | None = None
    cron: Annotated[str, AfterValidator(_cron)] | None = None  # in UTC: hold local hours with a `window`
    max_age: Duration | None = None  # a hard limit: never delayed by jitter
    renew_before: Duration | None = None  # for credentials that expire (default: a third of the lifetime)
    window: MaintenanceWindow | None = None
    # Spreads the due times of `every` and `cron` per secret (a stable hash of its name), so many secrets
    # do not fire in the same minute: a share of the interval or a duration (at most half the interval).
    # Default: 5% of the interval, at most 1h.
    jitter: Jitter | None = None
    min_interval: Duration = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.every is not None and self.cron is not None:
            raise ValueError("give `every` or `cron`, not both")


@dataclass
class ManifestTarget:
    """A plain Secret manifest written into `dir` (not encrypted)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    dir: str
    namespace: str | None = None
    secret: str | None = None  # the Secret's name (default: the managed secret's)
    keys: list[str] | None = None  # only these keys (a CA's `ca-bundle.crt` for its consumers); default: all


def kube_name(value: str) -> str:
    # A namespace or Secret name: it becomes a file name and part of the sealing scope.
    if not _K8S_NAME_RE.fullmatch(value) or len(value) > 253:
        raise ValueError("a Kubernetes name is lower-case letters, digits, '-' and '.', starting and ending "
                         "with a letter or digit")
    return value


def _age_recipient(value: str) -> str:
    if not _AGE_RE.fullmatch(value):
        raise ValueError("not an age recipient (age1 followed by 58 characters, as age-keygen prints it)")
    return value


_K8S_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_AGE_RE = re.compile(r"age1[02-9ac-hj-np-z]{58}")
K8sName = Annotated[str, AfterValidator(kube_name)]


@dataclass
class SealedTarget:
    """A SealedSecret manifest in `dir` (sealed-secrets), sealed to the controller's certificate: the file
    `cert`, or, without it, the certificate the controller serves, fetched through the API server of
    `context` (default: the current context, or in-cluster)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    dir: str
    namespace: K8sName | None = None
    secret: K8sName | None = None  # the Secret's name (default: the managed secret's)
    scope: Literal["strict", "namespace-wide", "cluster-wide"] = "strict"
    cert: str | None = None
    context: str | None = None
    controller_name: K8sName = "sealed-secrets-controller"
    controller_namespace: K8sName = "kube-system"
    keys: list[str] | None = None  # only these keys (as for `manifest`); default: all

    def __post_init__(self) -> None:
        if self.scope != "cluster-wide" and not self.namespace:
            raise ValueError(f"scope {self.scope} seals the value to a namespace: give `namespace` "
                             "(or scope: cluster-wide)")


@dataclass
class SopsTarget:
    """A Secret manifest encrypted by `sops` to age recipients, values only (as Flux decrypts it)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    file: str
    age: Annotated[list[Annotated[str, AfterValidator(_age_recipient)]], Field(min_length=1)]
    namespace: K8sName | None = None
    secret: K8sName | None = None  # the Secret's name (default: the managed secret's)
    keys: list[str] | None = None  # only these keys (as for `manifest`); default: all


@dataclass
class KubernetesTarget:
    """A live Secret in a cluster (secretkeeper/kube/sync/kubernetes.py), its consumers rolled after a
    change: `rolling` patches the live workloads, `gitops` writes the hash into their manifests in the
    repository instead, `never` leaves them alone."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    namespace: Annotated[str, AfterValidator(_name)]
    secret: Annotated[str, AfterValidator(_name)] | None = None  # the Secret's name (default: the managed secret's)
    type: Literal["Opaque", "kubernetes.io/tls", "kubernetes.io/dockerconfigjson"] = "Opaque"
    restart: Literal["rolling", "never", "gitops"] = "rolling"
    context: str | None = None  # a kubeconfig context (default: the current one, or in-cluster)
    adopt: bool = False  # take over a Secret of that name that secretkeeper did not create
    immutable: bool = False  # an immutable Secret per content, `NAME-<hash>`, consumers re-pointed to it
    keys: list[str] | None = None  # only these keys, before `type` shapes them; default: all

    def __post_init__(self) -> None:
        if self.immutable and self.restart != "rolling":
            # Versioned names are re-pointed in the live pod templates; older versions are deleted, so a
            # consumer left on one would lose its Secret.
            raise ValueError("immutable: true re-points the consumers to each new Secret as it rolls them: "
                             "it needs restart: rolling")


@dataclass
class SyncTarget:
    """One target, written as a mapping with the target's kind as its only key: `- manifest: {...}`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    manifest: ManifestTarget | None = None
    sealed: SealedTarget | None = None
    sops: SopsTarget | None = None
    kubernetes: KubernetesTarget | None = None

    def __post_init__(self) -> None:
        kinds = [f.name for f in dataclass_fields(self)]
        if all(getattr(self, kind) is None for kind in kinds):
            raise ValueError(f"a sync target names its kind: {', '.join(kinds)}")


@dataclass
class SecretConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    name: Annotated[str, AfterValidator(_name)]
    store: str  # a name under `stores:`
    path: Annotated[str, Field(min_length=1)]  # where the store keeps it
    issuer: IssuerConfig
    keys: list[str] = field(default_factory=list)  # the keys it holds (default: what the issuer makes)
    rotate: RotatePolicy | None = None
    sync: list[SyncTarget] = field(default_factory=list)
    consumers: list[Annotated[str, AfterValidator(_consumer)]] = field(default_factory=list)


def check_references(secrets: list[SecretConfig], store_names: set[str]) -> None:
    """Each secret's store is declared, each name is used once, and the secrets an issuer names are
    declared and do not depend on each other in a circle."""
    first: dict[str, int] = {}
    for i, secret in enumerate(secrets):
        if secret.name in first:
            raise Invalid(("secrets", i, "name"), f"{shown(secret.name)!r} is already the name of "
                          f"secrets[{first[secret.name]}]", None)
        first[secret.name] = i
        if secret.store not in store_names:
            declared = ", ".join(shown(name) for name in sorted(store_names)) or "none"
            raise Invalid(("secrets", i, "store"), f"store {shown(secret.store)!r} is not declared under "
                          f"stores (declared: {declared})", None)
    for i, secret in enumerate(secrets):
        for key, name in needed_secrets(secret):
            if name not in first:
                raise Invalid(("secrets", i, "issuer", key), f"{shown(name)!r} is not the name of a managed secret", None)
    dependency_order(secrets)


def needed_secrets(secret: SecretConfig) -> list[tuple[str, str]]:
    """(issuer field, managed secret's name) for each other secret this one's issuer needs."""
    return [(key, getattr(secret.issuer, key)) for key in getattr(secret.issuer, "secret_refs", ())
            if getattr(secret.issuer, key, None)]


def dependency_order(secrets: list[SecretConfig]) -> list[SecretConfig]:
    """The secrets with each one after those its issuer needs, otherwise in config order; a cycle is a
    config error naming it."""
    index = {secret.name: i for i, secret in enumerate(secrets)}
    done: set[str] = set()
    order: list[SecretConfig] = []

    def visit(secret: SecretConfig, path: list[str]) -> None:
        if secret.name in done:
            return
        if secret.name in path:
            cycle = " -> ".join([*path[path.index(secret.name):], secret.name])
            raise Invalid(("secrets", index[secret.name], "issuer"), f"secrets need each other in a cycle: {cycle}",
                          None)
        for _key, name in needed_secrets(secret):
            if name in index:
                visit(secrets[index[name]], [*path, secret.name])
        done.add(secret.name)
        order.append(secret)

    for secret in secrets:
        visit(secret, [])
    return order
