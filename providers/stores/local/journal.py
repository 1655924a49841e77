"""The rotation journal of a local secret (journal.json beside its versions): the lock of a rotation.
`write` and `clear` compare the record on disk with `expect` under the secret's file lock, so of two
processes writing at once exactly one wins and the other learns who holds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.base import JournalRecord
from providers.errors import Conflict, StoreError
import providers.stores.local.files as files
from providers.stores.local.lock import locked

if TYPE_CHECKING:  # pragma: no cover
    from providers.stores.local.store import LocalStore


class LocalJournal:
    def __init__(self, store: LocalStore, path: str) -> None:
        self.store, self.path = store, path
        self.directory = files.secret_dir(store.root, path)
        self.file = self.directory / "journal.json"

    def read(self) -> JournalRecord | None:
        data = files.read_bytes(self.file)
        if data is None:
            return None
        try:
            return JournalRecord.from_json(data.decode("utf-8", "replace"))
        except ValueError as exc:
            raise StoreError(f"{self.store.where(self.path)}: {self.file}: {exc}") from None

    def write(self, record: JournalRecord, *, expect: JournalRecord | None) -> None:
        """A repeat of a write that landed (the record on disk is `record`) does nothing."""
        files.make_dirs(self.directory)
        with locked(self.directory):
            on_disk = self.read()
            if on_disk == record:
                return
            self._compare(on_disk, expect)
            files.write(self.file, record.to_json().encode())

    def clear(self, *, expect: JournalRecord) -> None:
        """A repeat of a clear that landed (no record left) does nothing."""
        if not self.directory.is_dir():
            return
        with locked(self.directory):
            on_disk = self.read()
            if on_disk is None:
                return
            self._compare(on_disk, expect)
            files.remove(self.file)

    def _compare(self, on_disk: JournalRecord | None, expect: JournalRecord | None) -> None:
        if on_disk == expect:
            return
        where = self.store.where(self.path)
        if on_disk is None:
            raise Conflict(f"{where}: the rotation journal was cleared by another rotator")
        raise Conflict(f"{where}: rotation journal held by {on_disk.holder} (step {on_disk.step.value}, "
                       f"since {on_disk.started.isoformat()})", holder=on_disk)
