"""One rotation of a Vault secret, step by step as the rotation engine runs it, for the crash tests.

Run as `python -m tests.integration.vault_crash_run` with SECRETKEEPER_CRASH_AT=store-request:N, it dies
right after its Nth request to Vault. `rotate` run again afterwards, in any process, resumes from what the
journal says and finishes: every store method is safe to repeat. The child reads its job as JSON on stdin
(mount, path, the new value, the version current before), so no value is on a command line.
"""

from __future__ import annotations

import json
import os
import sys

from providers.base import Step
from providers.stores.vault.store import VaultKVStore
from secretkeeper.config.stores import VaultStore
from tests.integration.vault_kit import record

TOKEN = "rot-crash"


def rotate(store: VaultKVStore, path: str, new: dict[str, bytes], previous: str) -> None:
    pending = str(int(previous) + 1)
    started = record(TOKEN, previous=previous)
    staged = record(TOKEN, Step.STAGED, previous=previous, pending=pending)
    promoted = record(TOKEN, Step.PROMOTED, previous=previous, pending=pending)
    journal = store.journal(path)
    held = journal.read()
    if held is None:
        if store.read(path).version != previous:
            return  # the journal was cleared after the promote: done
        journal.write(started, expect=None)
        held = started
    version = store.stage(path, new, token=TOKEN)
    if held == started:
        journal.write(staged, expect=started)
        held = staged
    store.promote(path, version.version, expect_current=previous)
    if held == staged:
        journal.write(promoted, expect=staged)
    journal.clear(expect=promoted)


if __name__ == "__main__":
    job = json.load(sys.stdin)
    store = VaultKVStore(VaultStore(type="vault", mount=job["mount"]), environ=os.environ)
    rotate(store, job["path"], {k: v.encode() for k, v in job["new"].items()}, job["previous"])
