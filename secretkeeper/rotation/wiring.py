"""The config's managed secrets wired to their stores, issuers and sync targets, each opened once, when
first used: a run that finds nothing due opens only the stores it asks for status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from providers.base import SecretVersion, Store, StoreStatus
from providers.issuers import build_issuer
from providers.stores import open_store
from secretkeeper.config import Config
from secretkeeper.config.secrets import SecretConfig, dependency_order
from secretkeeper.errors import ConfigError
from secretkeeper.kube.sync import targets_for
from secretkeeper.rotation.trail import Subject


class Wiring:
    def __init__(self, config: Config, stores: Mapping[str, Store] | None = None) -> None:
        """`stores`: stores already open, by name (an embedding program's own)."""
        self.config = config
        self.base = config.path.parent if config.path is not None else Path.cwd()
        self.secrets = {secret.name: secret for secret in config.secrets}
        self._stores: dict[str, Store] = dict(stores or {})
        self._subjects: dict[str, Subject] = {}

    def select(self, names: Sequence[str]) -> list[SecretConfig]:
        """The named secrets (all when none are named), in dependency order."""
        unknown = [name for name in names if name not in self.secrets]
        if unknown:
            declared = ", ".join(self.secrets) or "none"
            raise ConfigError(f"{self._where()}: no managed secret named {', '.join(map(repr, unknown))} "
                              f"(declared: {declared})")
        wanted = set(names) or set(self.secrets)
        return [secret for secret in dependency_order(self.config.secrets) if secret.name in wanted]

    def store(self, name: str) -> Store:
        if name not in self._stores:
            self._stores[name] = open_store(name, self.config.stores[name])
        return self._stores[name]

    def subject(self, name: str) -> Subject:
        if name not in self._subjects:
            secret = self.secrets[name]
            self._subjects[name] = Subject(secret, secret.store, self.store(secret.store),
                                           build_issuer(secret, self),
                                           targets_for(secret, secret.store, self.base))
        return self._subjects[name]

    def statuses(self, secrets: Sequence[SecretConfig]) -> Mapping[str, StoreStatus]:
        """Each secret's status by name, asked of each store once for all its secrets."""
        by_store: dict[str, list[SecretConfig]] = {}
        for secret in secrets:
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

    def _where(self) -> str:
        return str(self.config.path) if self.config.path is not None else "config"
