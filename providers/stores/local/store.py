"""`LocalStore`: the local store's face, the Store protocol over its verb modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from providers.base import SecretVersion, StoreStatus
import providers.stores.local.status as status
import providers.stores.local.versions as versions
from providers.stores.local.journal import LocalJournal
from providers.stores.local.keyring import Keyring


class LocalStore:
    def __init__(self, name: str, root: Path, key_file: Path, max_versions: int = 10) -> None:
        self.name, self.root, self.max_versions = name, root, max_versions
        self.keyring = Keyring(name, root, key_file)

    def check(self) -> None:
        """Raise StoreError when the key is missing, malformed or not this store's: a command stops
        before it writes a journal record it could not finish (a store with no header yet has no key to
        check: its first write creates both)."""
        self.keyring.key(create=False)

    def where(self, path: str) -> str:
        """How errors name a secret of this store."""
        return f"local store {self.name!r}: {path}"

    def read(self, path: str, version: str | None = None) -> SecretVersion:
        return versions.read(self, path, version)

    def stage(self, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
        return versions.stage(self, path, data, token=token)

    def staged(self, path: str, token: str) -> SecretVersion | None:
        return versions.staged(self, path, token)

    def promote(self, path: str, version: str, *, expect_current: str | None) -> None:
        versions.promote(self, path, version, expect_current=expect_current)

    def discard(self, path: str, version: str) -> None:
        versions.discard(self, path, version)

    def journal(self, path: str) -> LocalJournal:
        return LocalJournal(self, path)

    def status(self, paths: Sequence[str]) -> Mapping[str, StoreStatus]:
        return status.statuses(self, paths)

    def annotate(self, path: str, notes: Mapping[str, str]) -> None:
        status.annotate(self, path, notes)
