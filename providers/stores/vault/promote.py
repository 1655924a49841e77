"""promote: the staged value becomes the secret's current version by a check-and-set write of the data
path on the version it was staged against (0 for a secret that does not exist yet), so a reader only ever
sees verified values and of two rotators at most one wins. Then the pending value leaves the journal, which
records the promoted version instead: a repeat after a crash anywhere in between does nothing more.
"""

from __future__ import annotations

from providers.errors import Conflict, NotFound
from providers.stores.vault.journal_entry import Promoted, drop_pending, load
from providers.stores.vault.kv import KV


def promote(kv: KV, secret: str, journal: str, version: str, expect_current: str | None) -> None:
    """Conflict when the current version is no longer `expect_current` (None: when the secret has a
    readable version); NotFound when `version` is neither staged nor current."""
    where = f"vault {kv.vault.address}: {kv.mount}/data/{secret}"
    entry = load(kv, journal)
    if entry.promoted is not None and entry.promoted.version == version:
        return
    pending = entry.pending
    if pending is None or pending.version != version:
        meta = kv.metadata(secret)
        if meta is not None and meta.live is not None and str(meta.current) == version:
            return  # current already, and the journal moved on since
        raise NotFound(f"{where}: version {version} is neither staged nor current")
    base = int(version) - 1
    if expect_current is not None and expect_current != str(base):
        raise Conflict(f"{where}: version {version} was staged on version {base}, not {expect_current}")
    if expect_current is None and base > 0:  # the current version was deleted: nothing readable to replace
        meta = kv.metadata(secret)
        if meta is not None and meta.live is not None and meta.current == base:
            raise Conflict(f"{where}: version {base} is readable, but the promote expected no current version")
    try:
        kv.write(secret, pending.data, cas=base)
    except Conflict:
        landed = kv.read(secret, int(version))
        if landed is None or landed.data != pending.data:  # else: ours, from a run whose answer was lost
            raise Conflict(f"{where} changed since version {base}: version {version} is someone else's; "
                           "nothing was overwritten") from None
    drop_pending(kv, entry, version, Promoted(pending.token, version))
