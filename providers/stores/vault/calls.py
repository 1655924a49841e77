"""One request to Vault on behalf of a store: the token made fresh first, bounded retries of what may pass
on its own, and a failure turned into a one-line StoreError naming the address and the API path."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import hvac
import requests

from providers.stores.vault.errors import HTTPFailure, PermissionDenied, retryable, translate

if TYPE_CHECKING:  # pragma: no cover
    from providers.stores.vault.auth import Auth

T = TypeVar("T")
TRIES = 4  # one request and up to three retries
BACKOFF = 0.25  # seconds before the first retry, doubled each time: at most 1.75 s of waiting in all


class Vault:
    def __init__(self, client: hvac.Client, address: str, timeout: float) -> None:
        self.client, self.address, self.timeout = client, address, timeout
        self.auth: Auth | None = None  # set by the store once built (auth makes its requests through here)
        self.tries = TRIES

    def call(self, fn: Callable[[hvac.Client], T], *, api_path: str, capability: str) -> T:
        """`fn(client)` with a valid token. A 403 makes a login method log in again and try once more: the
        token may have expired while the process was stopped."""
        assert self.auth is not None
        need = f"the token needs '{capability}' on it, or it expired"
        self.auth.ensure()
        try:
            return self.request(fn, api_path=api_path, need=need)
        except PermissionDenied:
            if not self.auth.can_login:
                raise
        self.auth.login()
        return self.request(fn, api_path=api_path, need=need)

    def request(self, fn: Callable[[hvac.Client], T], *, api_path: str, need: str) -> T:
        """`fn(client)` as it is (no token refresh): what auth itself uses."""
        attempt = 1
        while True:
            try:
                return fn(self.client)
            except (HTTPFailure, requests.RequestException) as exc:
                if attempt >= self.tries or not retryable(exc):
                    raise translate(exc, address=self.address, api_path=api_path, need=need, tries=attempt,
                                    timeout=self.timeout) from None
            time.sleep(BACKOFF * 2 ** (attempt - 1))
            attempt += 1

    @contextmanager
    def quick(self, timeout: float) -> Iterator[None]:
        """Requests in this block: one try each, at most `timeout` seconds each."""
        adapter = self.client.adapter
        tries, self.tries, adapter.quick_timeout = self.tries, 1, timeout
        try:
            yield
        finally:
            self.tries, adapter.quick_timeout = tries, None
