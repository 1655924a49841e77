"""The `vault-database` issuer: a static role of Vault's database secrets engine, rotated by Vault.

    issuer: {type: vault-database, mount: database, role: orders, store: vault,
             host: db.internal, port: 5432, database: orders}      # optional: verify by logging in

`issue` asks Vault to change the password (`POST <mount>/rotate-role/<role>`: Vault's own database admin
runs the ALTER ROLE) and reads the new credential (`GET <mount>/static-creds/<role>`); the version holds
username and password, plus host, port, database and uri when `host` and `database` are given. `verify`
reads static-creds again (Vault still holds this password: nobody rotated meanwhile) and, with `host`,
logs in to PostgreSQL with it. Requests go through the connection of the `vault` store named by `store`
(default: the secret's own store): its address, TLS settings, login, retries and one-line errors.

A static role has one live password: rotate-role replaces the old one at once, so there is no grace and
`retire` has nothing left to revoke; a rolled-back rotation leaves Vault's new password in Vault (readers of
static-creds have it) while the store keeps the version it had.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, VerifyFailed
from providers.issuers.pglogin import effective_sslmode

_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")  # Vault role names, and each part of a mount path


class VaultDatabaseIssuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.cfg, self.managed = secret.name, cfg, managed
        self.store_name = cfg.store or secret.store
        self.mount = cfg.mount.strip("/")
        if not _SEGMENT.fullmatch(cfg.role):
            raise IssuerError(f"{self.name}: issuer.role: a Vault role name is letters, digits, '_', '-', '.'")
        if not all(_SEGMENT.fullmatch(part) for part in self.mount.split("/")):
            raise IssuerError(f"{self.name}: issuer.mount: not a Vault mount path")
        self.login_check = bool(cfg.host and cfg.database)
        self.sslmode = effective_sslmode(cfg.host, cfg.sslmode, cfg.sslrootcert) if cfg.host else "prefer"
        if bool(cfg.host) != bool(cfg.database):
            raise IssuerError(f"{self.name}: issuer: give both host and database (to verify by logging in), "
                              "or neither")
        self._keys = ("username", "password", *(("host", "port", "database", "uri") if self.login_check else ()))
        if secret.keys and not set(secret.keys) <= set(self._keys):
            raise IssuerError(f"{self.name}: keys: a vault-database credential holds {', '.join(self._keys)}")
        self._vault: Any = None

    def keys(self) -> Sequence[str]:
        return self._keys

    def describe(self) -> str:
        return (f"vault-database: Vault changes static role {self.cfg.role}'s password ({self.mount}/rotate-role/"
                f"{self.cfg.role}), read from {self.mount}/static-creds/{self.cfg.role}")

    def needs(self) -> Sequence[str]:
        rotate, creds = f"{self.mount}/rotate-role/{self.cfg.role}", f"{self.mount}/static-creds/{self.cfg.role}"
        out = [f'Vault policy for the token of store {self.store_name}: path "{rotate}" '
               '{ capabilities = ["update"] }',
               f'and path "{creds}" {{ capabilities = ["read"] }}',
               f"Vault: static role {self.cfg.role} on a {self.mount} connection whose user may ALTER ROLE it "
               "(password_authentication=scram-sha-256 keeps the plaintext out of the database's logs); its "
               "rotation_period longer than this secret's `rotate`, or Vault changes the password behind the "
               "synced copy"]
        if self.login_check:
            out.append(f"network: {self.cfg.host}:{self.cfg.port}, to log in to database {self.cfg.database} "
                       "with the new credential")
        return out

    # -- issue / verify / retire -----------------------------------------------------------------------
    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        vault = self._client()
        vault.call(lambda c: c.adapter.post(f"/v1/{self.mount}/rotate-role/{self.cfg.role}"),
                   api_path=f"{self.mount}/rotate-role/{self.cfg.role}", capability="update")
        user, password = self._static_creds()
        out = {"username": user.encode(), "password": password.encode()}
        if self.login_check:
            assert self.cfg.host is not None and self.cfg.database is not None
            host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
            uri = (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{self.cfg.port}/"
                   f"{quote(self.cfg.database, safe='')}")
            if self.sslmode != "prefer":
                uri += f"?sslmode={self.sslmode}"
            out.update(host=self.cfg.host.encode(), port=str(self.cfg.port).encode(),
                       database=self.cfg.database.encode(), uri=uri.encode())
        return out

    def verify(self, data: Mapping[str, bytes]) -> None:
        try:
            user, password = data["username"].decode(), data["password"].decode()
        except (KeyError, UnicodeDecodeError):
            raise VerifyFailed(f"{self.name}: the new version lacks username or password") from None
        held_user, held = self._static_creds()
        if (held_user, held) != (user, password):
            raise VerifyFailed(f"{self.name}: Vault holds another credential for {self.cfg.role} now (rotated "
                               "again meanwhile?)")
        if not self.login_check:
            return
        from providers.issuers.pglogin import login

        assert self.cfg.host is not None and self.cfg.database is not None
        try:
            with login(self.name, host=self.cfg.host, port=self.cfg.port, database=self.cfg.database, user=user,
                       password=password, require_auth="!password", sslmode=self.sslmode,
                       sslrootcert=self.cfg.sslrootcert) as conn:
                conn.execute("SELECT 1")
        except IssuerError as exc:
            detail = str(exc).removeprefix(f"{self.name}: ")
            raise VerifyFailed(f"{self.name}: the new credential does not log in: {detail}") from None

    def retire(self, old: SecretVersion) -> None:
        """Vault replaced the old password when it rotated the role: nothing is left to revoke."""

    # -- parts -----------------------------------------------------------------------------------------
    def _static_creds(self) -> tuple[str, str]:
        path = f"{self.mount}/static-creds/{self.cfg.role}"
        answer = self._client().call(lambda c: c.adapter.get(f"/v1/{path}"), api_path=path, capability="read")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
                or not isinstance(data.get("password"), str):
            raise IssuerError(f"{self.name}: Vault {path} answered without a username and password")
        return data["username"], data["password"]

    def _client(self) -> Any:
        """The Vault store's connection (opened once, when first needed)."""
        if self._vault is None:
            store = self.managed.store(self.store_name)  # type: ignore[attr-defined]
            self._vault = getattr(store, "vault", None)
            if self._vault is None:
                raise IssuerError(f"{self.name}: issuer.store: {self.store_name!r} is not a vault store (name one "
                                  "with issuer.store)")
        return self._vault


ISSUERS.register("vault-database")(VaultDatabaseIssuer)
