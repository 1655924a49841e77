"""providers.base.Journal on the journal entry (journal_entry.py): the rotation record, written with
check-and-set, which is also the lock."""

from __future__ import annotations

from providers.base import JournalRecord
from providers.errors import Conflict
from providers.stores.vault.journal_entry import JournalEntry, end, load, save
from providers.stores.vault.kv import KV


class VaultJournal:
    def __init__(self, kv: KV, path: str, secret: str) -> None:
        self.kv, self.path, self.secret = kv, path, secret

    def read(self) -> JournalRecord | None:
        return load(self.kv, self.path).record

    def write(self, record: JournalRecord, *, expect: JournalRecord | None) -> None:
        """Conflict (with the record that won) unless the journal still holds `expect`. Writing the record
        it already holds does nothing: a repeat after a crash, or after a lost answer."""
        entry = load(self.kv, self.path)
        if entry.record == record:
            return
        if entry.record != expect:
            raise self._lost(entry)
        try:
            save(self.kv, entry, record=record)
        except Conflict:
            entry = load(self.kv, self.path)
            if entry.record != record:  # else: ours landed and only its answer was lost
                raise self._lost(entry) from None

    def clear(self, *, expect: JournalRecord) -> None:
        """Ends the rotation: the entry's version is destroyed, pending value included. Conflict when
        another record holds it; nothing to do when it was already cleared."""
        entry = load(self.kv, self.path)
        if entry.record is not None and entry.record != expect:
            raise self._lost(entry)
        end(self.kv, entry)

    def _lost(self, entry: JournalEntry) -> Conflict:
        where = f"vault {self.kv.vault.address}: rotation journal of {self.secret}"
        if entry.record is None:
            return Conflict(f"{where} was cleared by another run")
        held = entry.record
        return Conflict(f"{where} is held by {held.holder} (rotation {held.token}, step {held.step.value})",
                        holder=held)
