"""The token a Vault store sends, kept valid through a long run.

The token method takes VAULT_TOKEN (else ~/.vault-token) and looks itself up once to learn its TTL; the
login methods (approle, kubernetes) log in at the first request. Before each request, a token with less
than a third of its TTL left is renewed when it is renewable; a login method logs in again when its token
cannot be renewed, or when the max TTL caps a renewal short. A token that can neither be renewed nor
replaced is used until Vault refuses it, which is a one-line permission error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import hvac

from providers.stores.vault.auth_approle import login as approle_login
from providers.stores.vault.auth_kubernetes import login as kubernetes_login
from providers.stores.vault.auth_token import token
from providers.stores.vault.calls import Vault
from providers.stores.vault.errors import PermissionDenied

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import VaultAuth

SELF = "every token may, through the default policy, unless it expired"  # lookup-self, renew-self


@dataclass(frozen=True)
class Lease:
    ttl: float  # seconds left when obtained; 0: does not expire (or cannot be refreshed: stop checking)
    period: float  # the TTL it was issued with: a third of it left is when to renew
    renewable: bool
    obtained: float  # clock reading


@dataclass(frozen=True)
class Login:
    call: Callable[[hvac.Client], Mapping[str, Any]]  # logs in (setting the client's token), returns `auth`
    api_path: str
    need: str  # what a refusal means, for the error


class Auth:
    def __init__(self, vault: Vault, *, login: Login | None = None,
                 token: Callable[[], str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.vault, self._login, self._token, self._clock = vault, login, token, clock
        self.lease: Lease | None = None
        self.display_name: str | None = None  # known once the token looked itself up

    @property
    def can_login(self) -> bool:
        return self._login is not None

    def ensure(self) -> None:
        if self.lease is None and self._login is not None:
            self.login()
        elif self.lease is None:
            self._lookup()
        elif self.lease.ttl and self._clock() - self.lease.obtained > self.lease.ttl - self.lease.period / 3:
            self._refresh()

    def login(self) -> None:
        assert self._login is not None
        auth = self.vault.request(self._login.call, api_path=self._login.api_path, need=self._login.need)
        ttl = float(auth.get("lease_duration") or 0)
        self.lease = Lease(ttl, ttl, bool(auth.get("renewable")), self._clock())

    def lookup(self) -> Mapping[str, Any]:
        """The token's own description (lookup-self): display name, TTL, policies."""
        return self.vault.request(lambda c: c.auth.token.lookup_self()["data"], api_path="auth/token/lookup-self",
                                  need=SELF)

    def _lookup(self) -> None:
        assert self._token is not None
        self.vault.client.token = self._token()
        now = self._clock()
        try:
            data = self.lookup()
        except PermissionDenied:  # lookup-self denied by policy: nothing to renew by; requests will tell
            self.lease = Lease(0, 0, False, now)
            return
        self.display_name = data.get("display_name") or None
        ttl = float(data.get("ttl") or 0)
        self.lease = Lease(ttl, float(data.get("period") or data.get("creation_ttl") or ttl),
                           bool(data.get("renewable")), now)

    def _refresh(self) -> None:
        assert self.lease is not None
        if self.lease.renewable:
            try:
                auth = self.vault.request(lambda c: c.auth.token.renew_self()["auth"],
                                          api_path="auth/token/renew-self", need=SELF)
            except PermissionDenied:  # expired or revoked meanwhile
                auth = None
            if auth is not None:
                lease = Lease(float(auth.get("lease_duration") or 0), self.lease.period,
                              bool(auth.get("renewable")), self._clock())
                if lease.ttl > lease.period / 3:
                    self.lease = lease
                    return
        if self._login is not None:
            self.login()
        else:
            self.lease = replace(self.lease, ttl=0)


def for_method(vault: Vault, method: VaultAuth, environ: Mapping[str, str],
               clock: Callable[[], float] = time.monotonic) -> Auth:
    if method.method == "approle":
        return Auth(vault, clock=clock, login=Login(
            lambda c: approle_login(c, method, environ), f"auth/{method.mount}/login",
            f"role_id {method.role_id!r} with its secret id"))
    if method.method == "kubernetes":
        return Auth(vault, clock=clock, login=Login(
            lambda c: kubernetes_login(c, method), f"auth/{method.mount}/login",
            f"role {method.role!r} with the service-account token in {method.token_path}"))
    return Auth(vault, clock=clock, token=lambda: token(environ, vault.address, getattr(method, "token", None)))
