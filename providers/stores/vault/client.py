"""The hvac client a Vault store talks through.

Address from the config or VAULT_ADDR; namespace from the config or VAULT_NAMESPACE (sent as
X-Vault-Namespace); TLS verified against the system CAs or a CA bundle (the config or VAULT_CACERT), never
off; a timeout on every request; redirects not followed, since the token header would follow them to
whatever host a redirect names. Every HTTP request reaches the `store-request` crash point once it is
answered, so tests can kill a rotation after any single request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import hvac
import requests
from hvac.adapters import JSONAdapter

from providers.errors import StoreError
from providers.stores.vault.errors import HTTPFailure
from secretkeeper.rotation.crashpoints import reached

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import VaultStore

CONNECT_TIMEOUT = 10.0  # seconds to open a connection, at most the configured timeout


class _Session(requests.Session):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, **kwargs)
        finally:
            reached("store-request")


class _Adapter(JSONAdapter):
    """hvac's JSON adapter raising HTTPFailure, which keeps only the status and Vault's error phrases:
    hvac's own exceptions carry the response text. `quick_timeout` bounds requests that must not block
    (the audit's identity lookup)."""

    quick_timeout: float | None = None

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.quick_timeout is not None:
            kwargs["timeout"] = self.quick_timeout
        response = super().request(*args, **kwargs)
        if isinstance(response, requests.Response) and 300 <= response.status_code < 400:
            raise HTTPFailure(response.status_code, [])  # not followed (allow_redirects=False)
        return response

    def _raise_for_error(self, method: str, url: str, response: requests.Response) -> None:
        errors: list[str] = []
        metadata = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("errors"), list):
                errors = [str(e) for e in body["errors"]]
            data = body.get("data")
            if response.status_code == 404 and isinstance(data, dict) and isinstance(data.get("metadata"), dict):
                metadata = data["metadata"]  # a deleted KV version: its number and times, no values
        raise HTTPFailure(response.status_code, errors, metadata)


def address_of(cfg: VaultStore, environ: Mapping[str, str]) -> str:
    address = (cfg.address or environ.get("VAULT_ADDR", "")).rstrip("/")
    if not address:
        raise StoreError("vault: no address: set the store's `address` or VAULT_ADDR")
    if not address.startswith(("https://", "http://")):
        raise StoreError("vault: VAULT_ADDR is not an http(s):// URL")
    if "@" in address.split("://", 1)[1].split("/", 1)[0]:  # errors name the address: no userinfo in it
        raise StoreError("vault: VAULT_ADDR holds user:password@: give the credential through the store's `auth`")
    return address


def build(cfg: VaultStore, address: str, environ: Mapping[str, str]) -> hvac.Client:
    """A client with no token yet (auth.py sets it), never the one hvac would take from the environment."""
    ca_bundle = cfg.ca_bundle or environ.get("VAULT_CACERT") or None
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise StoreError(f"vault {address}: CA bundle {ca_bundle} is not a readable file")
    session = _Session()
    # hvac takes `verify` from a session it is given (and requests' default is True): set it there
    session.verify = ca_bundle or True
    namespace = cfg.namespace or environ.get("VAULT_NAMESPACE") or None
    return hvac.Client(url=address, token="", verify=session.verify, session=session, adapter=_Adapter,
                       timeout=(min(CONNECT_TIMEOUT, cfg.timeout), cfg.timeout), namespace=namespace,
                       allow_redirects=False)
