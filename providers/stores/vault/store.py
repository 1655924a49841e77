"""VaultKVStore: providers.base.Store on a KV version 2 mount of Vault or OpenBao, put together from the
verb modules of this package."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from providers.base import SecretVersion, StoreStatus
from providers.stores.vault.annotate import annotate
from providers.stores.vault.auth import for_method
from providers.stores.vault.calls import Vault
from providers.stores.vault.client import address_of, build
from providers.stores.vault.discard import discard
from providers.stores.vault.journal import VaultJournal
from providers.stores.vault.kv import KV
from providers.stores.vault.paths import journal_prefix, locate
from providers.stores.vault.promote import promote
from providers.stores.vault.read import read
from providers.stores.vault.stage import stage, staged
from providers.stores.vault.status import status

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import VaultStore

IDENTITY_TIMEOUT = 3.0  # seconds: the audit's actor lookup must not hold up a rotation


class VaultKVStore:
    def __init__(self, config: VaultStore, *, name: str = "vault", environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        environ = os.environ if environ is None else environ
        self.name, self.config = name, config
        self.prefix = journal_prefix(config.journal_prefix)
        address = address_of(config, environ)
        self.vault = Vault(build(config, address, environ), address, config.timeout)
        self.vault.auth = for_method(self.vault, config.auth, environ, clock)
        self.kv = KV(self.vault, config.mount)

    def _paths(self, path: str) -> tuple[str, str]:
        return locate(path, self.prefix)

    def read(self, path: str, version: str | None = None) -> SecretVersion:
        return read(self.kv, *self._paths(path), version)

    def stage(self, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
        return stage(self.kv, *self._paths(path), data, token)

    def staged(self, path: str, token: str) -> SecretVersion | None:
        return staged(self.kv, *self._paths(path), token)

    def promote(self, path: str, version: str, *, expect_current: str | None) -> None:
        promote(self.kv, *self._paths(path), version, expect_current)

    def discard(self, path: str, version: str) -> None:
        discard(self.kv, self._paths(path)[1], version)

    def journal(self, path: str) -> VaultJournal:
        secret, journal = self._paths(path)
        return VaultJournal(self.kv, journal, secret)

    def status(self, paths: Sequence[str]) -> Mapping[str, StoreStatus]:
        return status(self.kv, [(p, *self._paths(p)) for p in paths])

    def annotate(self, path: str, notes: Mapping[str, str]) -> None:
        annotate(self.kv, self._paths(path)[0], notes, self.config.max_versions)

    def identity(self) -> str | None:
        """The token's display name (lookup-self), or None; at most one quick try, never an error."""
        auth = self.vault.auth
        assert auth is not None
        try:
            with self.vault.quick(IDENTITY_TIMEOUT):
                auth.ensure()
                return auth.display_name or auth.lookup().get("display_name") or None
        except Exception:  # best effort by contract: an actor lookup never fails a rotation
            return None
