"""Vault's answers and transport failures as one-line StoreErrors naming the address and the API path.

Vault's own error text is never passed on: a proxy, a plugin or a future Vault version may put anything in
a body. Messages are built from the status, a few recognised phrases and the request's path; hvac's
exceptions (which embed bodies) are never raised at all (client.py raises HTTPFailure instead).
"""

from __future__ import annotations

import requests

from providers.errors import Conflict, NotFound, StoreError


class HTTPFailure(Exception):
    """A non-2xx answer from Vault: its status and Vault's error phrases, kept only to classify it.
    `metadata` is the version metadata a KV read of a deleted version carries (no values)."""

    def __init__(self, status: int, errors: list[str], metadata: dict | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.errors, self.metadata = status, errors, metadata

    def says(self, phrase: str) -> bool:
        return any(phrase in e for e in self.errors)


class PermissionDenied(StoreError):
    """403: the token lacks a capability, or expired (a login method logs in again once)."""


def is_sealed(exc: BaseException) -> bool:
    return isinstance(exc, HTTPFailure) and exc.status == 503 and exc.says("sealed")


def retryable(exc: BaseException) -> bool:
    """What may pass on its own: throttling, a standby's or a proxy's 5xx, a KV mount upgrading its
    storage (a 400 for a moment after it is mounted or upgraded), a refused or reset connection. Not a
    sealed Vault (an operator must unseal it), not a timeout (the request may still be running)."""
    if isinstance(exc, HTTPFailure):
        return (exc.status in (412, 429) or (500 <= exc.status < 600 and exc.status != 501)
                or (exc.status == 400 and exc.says("Upgrading from non-versioned to versioned"))) \
            and not is_sealed(exc)
    return isinstance(exc, requests.ConnectionError) and not isinstance(
        exc, requests.Timeout | requests.exceptions.SSLError)


def translate(exc: HTTPFailure | requests.RequestException, *, address: str, api_path: str, need: str,
              tries: int, timeout: float) -> StoreError:
    """The one-line StoreError for a failed request to `api_path` (e.g. `secret/data/prod/db`); `need` says
    what a refusal means there ("the token needs 'read' on it", "a valid secret id for role_id ...")."""
    where = f"vault {address}"
    if isinstance(exc, HTTPFailure):
        status = exc.status
        if status in (401, 403):
            return PermissionDenied(f"{where}: permission denied on {api_path} ({need})")
        if status == 400 and api_path.endswith("/login"):  # Vault answers a refused login with 400
            return PermissionDenied(f"{where}: login refused at {api_path} ({need})")
        if exc.says("no handler for route"):
            return StoreError(f"{where}: nothing is mounted for {api_path} (check the store's mount and "
                              "namespace)")
        if status == 404:
            return NotFound(f"{where}: {api_path} does not exist")
        if status == 400 and exc.says("check-and-set"):
            return Conflict(f"{where}: {api_path} changed since it was read (check-and-set)")
        if is_sealed(exc):
            return StoreError(f"{where} is sealed: {api_path} is not served until an operator unseals it")
        if status == 501:
            return StoreError(f"{where} is not initialized")
        if 300 <= status < 400:
            return StoreError(f"{where}: {api_path} answered with a redirect ({status}), not followed so "
                              "the token goes nowhere else: set the address of the active node")
        if status == 429:
            return StoreError(f"{where}: {api_path} rate limited (429) after {tries} tries")
        if status >= 500 or status == 412:
            return StoreError(f"{where}: {api_path} failed with {status} after {tries} tries")
        return StoreError(f"{where}: {api_path} refused ({status})")
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return StoreError(f"{where}: TLS certificate not trusted (set ca_bundle or VAULT_CACERT to the CA "
                              "that signed it)")
        return StoreError(f"{where}: TLS handshake failed")
    if isinstance(exc, requests.Timeout):
        return StoreError(f"{where}: no answer within {timeout:g}s on {api_path}")
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        why = ("connection refused" if "refused" in text.lower()
               else "connection closed without an answer" if "without response" in text or "reset" in text
               else "cannot connect")
        return StoreError(f"{where} unreachable ({why}) after {tries} tries, on {api_path}")
    return StoreError(f"{where}: request for {api_path} failed ({type(exc).__name__})")
