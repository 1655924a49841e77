"""What the Vault store's integration tests share: a store on a test mount, journal records, and what
another client of the same Vault (External Secrets, a Vault agent) sees at a path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from providers.base import JournalRecord, Step
from providers.stores.vault.store import VaultKVStore
from secretkeeper.config.stores import VaultStore

if TYPE_CHECKING:  # pragma: no cover
    from tests.integration.vault_server import VaultServer

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_store(server: VaultServer, mount: str, *, address: str | None = None,
               env: dict[str, str] | None = None, **config: Any) -> VaultKVStore:
    """A store on `mount` with the server's root token (VAULT_TOKEN); `address` to go through a shim."""
    environ = server.env(**(env or {}))
    if address is not None:
        environ["VAULT_ADDR"] = address
    return VaultKVStore(VaultStore(type="vault", mount=mount, **config), environ=environ)


def record(token: str = "rot-1", step: Step = Step.STARTED, holder: str = "tester@host-a pid 1",
           **fields: Any) -> JournalRecord:
    return JournalRecord("payments-db", step, token, holder, WHEN, WHEN, **fields)


def seen_by_reader(server: VaultServer, mount: str, path: str) -> tuple[int, dict[str, str]] | None:
    """(version, data) that a plain reader of the data path gets, or None when it gets nothing."""
    response = requests.get(f"{server.address}/v1/{mount}/data/{path}",
                            headers={"X-Vault-Token": server.token}, timeout=30)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body = response.json()["data"]
    return body["metadata"]["version"], body["data"]


def listed(server: VaultServer, mount: str, folder: str) -> list[str]:
    """The keys a LIST of `folder` shows (what External Secrets' `dataFrom.find` walks)."""
    response = requests.request("LIST", f"{server.address}/v1/{mount}/metadata/{folder}",
                                headers={"X-Vault-Token": server.token}, timeout=30)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return sorted(response.json()["data"]["keys"])


def write_raw(server: VaultServer, mount: str, path: str, data: dict[str, Any]) -> int:
    """Someone else's write to the data path (a person, another tool): its new version."""
    return server.api("POST", f"{mount}/data/{path}", {"data": data})["data"]["version"]
