"""The `vault` store: managed secrets in a KV version 2 engine of HashiCorp Vault or OpenBao (hvac).

KV v2 has no staging labels: a write to the data path is at once the latest version for every reader. So
a rotation's state and its pending value live in a journal entry beside the secret, in the same mount
(paths.py says where and why), written with check-and-set, which is also the lock; promote is a
check-and-set write of the data path. Only what Vault itself offers is used (no OpenBao-only feature).

    client.py          the hvac client: address, namespace, TLS, timeouts, no redirects, crash point
    calls.py           one request: token refreshed, bounded retries, errors translated (errors.py)
    auth.py            token lease and renewal; auth_token.py, auth_approle.py, auth_kubernetes.py log in
    kv.py              KV v2 requests and their answers as records; the mount checked to be KV v2
    paths.py codec.py  where a secret and its journal live; values as Vault keeps them
    journal_entry.py   the journal entry document: record, pending value, promoted version
    journal.py         the Journal protocol on it (the lock)
    read.py stage.py promote.py discard.py annotate.py status.py    one verb each
    store.py           VaultKVStore, the Store the verbs make

docs/vault.md is the user's page: config, auth, the rotator's policy, errors.
"""

from __future__ import annotations

from typing import Any

from providers.base import STORES


@STORES.register("vault")
def build_store(name: str, config: Any) -> Any:
    from providers.stores.vault.store import VaultKVStore  # hvac and requests load only when used

    return VaultKVStore(config, name=name)
