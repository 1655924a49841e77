"""The config's managed secrets wired to their stores, issuers and sync targets, each opened once, when
first used: a run that finds nothing due opens only the stores it asks for status.

Credentials the config names (`from: STORE:PATH#KEY`, `env: NAME`: secretkeeper/config/credentials.py)
are read here, when the store or issuer that needs them is first built, and live only in its config copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from dataclasses import replace

from providers.base import SecretVersion, Store, StoreStatus
from providers.errors import NotFound
from providers.issuers import build_issuer
from providers.stores import open_store
from secretkeeper.config import Config
from secretkeeper.config.credentials import SecretRef, resolve
from secretkeeper.config.invalid import Invalid
from secretkeeper.config.secrets import SecretConfig, dependency_order, needed_secrets
from secretkeeper.errors import ConfigError, shown, shown_path
from secretkeeper.kube.sync import targets_for
from secretkeeper.rotation.locks import holder_gone, this_holder
from secretkeeper.rotation.trail import Subject

if TYPE_CHECKING:
    from secretkeeper.kube.lease import Leases


class Wiring:
    def __init__(self, config: Config, stores: Mapping[str, Store] | None = None) -> None:
        """`stores`: stores already open, by name (an embedding program's own)."""
        self.config = config
        self.base = config.path.parent if config.path is not None else Path.cwd()
        self.secrets = {secret.name: secret for secret in config.secrets}
        self._stores: dict[str, Store] = dict(stores or {})
        self._subjects: dict[str, Subject] = {}
        self._leases: Leases | None = None

    def select(self, names: Sequence[str]) -> list[SecretConfig]:
        """The named secrets (all when none are named), in dependency order."""
        unknown = [name for name in names if name not in self.secrets]
        if unknown:
            declared = ", ".join(self.secrets) or "none"
            raise ConfigError(f"{self._where()}: no managed secret named {', '.join(map(repr, unknown))} "
                              f"(declared: {declared})")
        wanted = set(names) or set(self.secrets)
        return [secret for secret in dependency_order(self.config.secrets) if secret.name in wanted]

    def check_stores(self, secrets: Sequence[SecretConfig]) -> None:
        """Faults of the stores `secrets` live in that show without touching a secret (a local store's
        key that is missing, malformed or another store's), raised before anything is written: a bad key
        is a usage error (exit 2), not a rotation left half done. A store without such checks (Vault,
        AWS: reachable only over the network) is judged by the run itself."""
        for name in sorted({secret.store for secret in secrets}):
            check = getattr(self.store(name), "check", None)
            if check is not None:
                check()

    def store(self, name: str) -> Store:
        if name not in self._stores:
            self._stores[name] = open_store(name, self._resolved(self.config.stores[name]))
        return self._stores[name]

    def subject(self, name: str) -> Subject:
        if name not in self._subjects:
            secret = self.secrets[name]
            issuer = self._resolved(secret.issuer)
            if issuer is not secret.issuer:
                secret = replace(secret, issuer=issuer)
            self._subjects[name] = Subject(secret, secret.store, self.store(secret.store),
                                           build_issuer(secret, self),
                                           targets_for(secret, secret.store, self.base),
                                           self._cluster_lock(name))
        return self._subjects[name]

    def statuses(self, secrets: Sequence[SecretConfig]) -> Mapping[str, StoreStatus]:
        """Each secret's status by name, asked of each store once for all its secrets; the secrets their
        issuers need are answered too (a CA's notes say when its leaves are due)."""
        wanted = {secret.name: secret for secret in secrets}
        for secret in secrets:
            for _key, name in needed_secrets(secret):
                wanted.setdefault(name, self.secrets[name])
        by_store: dict[str, list[SecretConfig]] = {}
        for secret in wanted.values():
            by_store.setdefault(secret.store, []).append(secret)
        out: dict[str, StoreStatus] = {}
        for store_name, group in by_store.items():
            found = self.store(store_name).status([secret.path for secret in group])
            for secret in group:
                out[secret.name] = found.get(secret.path) or StoreStatus(secret.path, exists=False)
        return out

    def current(self, name: str) -> SecretVersion:
        """ManagedSecrets, for issuers that need another managed secret (`admin: pg-admin`)."""
        secret = self.secrets[name]
        return self.store(secret.store).read(secret.path)

    def dependents(self, name: str) -> list[str]:
        """ManagedSecrets: the managed secrets whose issuer names `name` (the leaves of a CA)."""
        return [secret.name for secret in self.config.secrets
                if any(needed == name for _key, needed in needed_secrets(secret))]

    def _cluster_lock(self, name: str) -> Callable[[], AbstractContextManager[None]] | None:
        """The Lease held around `name`'s rotation when the config has `lock: {kubernetes: ...}`; the
        cluster is reached when the first rotation starts, not before (a run with nothing due never does)."""
        lock = self.config.lock.kubernetes if self.config.lock is not None else None
        if lock is None:
            return None

        def hold() -> AbstractContextManager[None]:
            if self._leases is None:
                from secretkeeper.kube.client import connect
                from secretkeeper.kube.lease import Leases

                conn = connect(lock.context)
                self._leases = Leases(conn, lock.namespace or conn.namespace, lock.lease_duration, holder_gone)
            return self._leases.hold(name, this_holder()[0])

        return hold

    def _resolved(self, section: object) -> object:
        """`section` with its credential references read; a problem is the config's, at their line."""
        try:
            return resolve(section, self._read_ref)
        except Invalid as exc:
            raise self.config.error(exc.loc, exc.msg) from None

    def _read_ref(self, ref: SecretRef) -> str:
        where = ref.loc + ("from",)
        named = f"{shown(ref.store)}:{shown_path(ref.path)}#{shown(ref.key)}"  # names from the file, as shown
        try:
            data = self.store(ref.store).read(ref.path).data
        except NotFound:
            raise self.config.error(where, f"{named}: no secret at {shown_path(ref.path)!r} in store {shown(ref.store)!r}") from None
        if ref.key not in data:
            keys = ", ".join(shown(key) for key in sorted(data)) or "none"
            raise self.config.error(where, f"{named}: the secret has no key {shown(ref.key)!r} (its keys: {keys})")
        try:
            return data[ref.key].decode("utf-8")
        except UnicodeDecodeError:
            raise self.config.error(where, f"{named}: the value is not UTF-8 text") from None

    def _where(self) -> str:
        return str(self.config.path) if self.config.path is not None else "config"
