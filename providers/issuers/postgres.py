"""The `postgres` issuer: a PostgreSQL role's password, changed by an admin that is itself a managed secret.

    issuer: {type: postgres, host: db.internal, port: 5432, database: orders, role: orders,
             admin: pg-admin, strategy: single | alternating, grace: 1h}

The password is set with `ALTER ROLE ... PASSWORD` carrying a SCRAM-SHA-256 verifier computed here
(libpq's `PQencryptPasswordConn`), so the plaintext never reaches the server, its logs or
`pg_stat_statements`. Every login this issuer makes refuses to send a password in clear (`require_auth`).

- `single`: one role, its password replaced. Consumers holding the old password fail from the change until
  they have the new one; retire has nothing left to revoke.
- `alternating`: two roles, `<role>` and `<role>_clone`, used in turn. The clone is created by the admin
  on first use with `<role>`'s memberships plus `<role>` itself (so it holds the same privileges), and it
  acts as `<role>` (`SET role`), so what it creates belongs to `<role>`. A rotation sets a new password
  on the role that is not in use; the previous role keeps working until `retire` (after `grace`) sets its
  password to NULL. No consumer ever holds a credential that stopped working.

The version holds username, password, host, port, database and uri (postgresql://...). `verify` logs in
with the new credential. A rolled-back rotation retires the new credential: `single` puts the store's
current password back on the role, `alternating` locks the role the rotation had set.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, NotFound, VerifyFailed
from providers.issuers.pglogin import effective_sslmode, login

KEYS = ("username", "password", "host", "port", "database", "uri")
CLONE_SUFFIX = "_clone"
ALTERNATING_GRACE = timedelta(hours=1)
_ALNUM = string.ascii_letters + string.digits


class PostgresIssuer:
    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.cfg, self.managed = secret.name, cfg, managed
        self.alternating = cfg.strategy == "alternating"
        self.sslmode = effective_sslmode(cfg.host, cfg.sslmode, cfg.sslrootcert)
        self.roles = (cfg.role, cfg.role + CLONE_SUFFIX) if self.alternating else (cfg.role,)
        if len(self.roles[-1].encode()) > 63:
            raise IssuerError(f"{self.name}: issuer.role: {self.roles[-1]!r} is longer than PostgreSQL's "
                              "63-byte names")
        if cfg.grace is not None and not self.alternating:
            raise IssuerError(f"{self.name}: issuer.grace: a `single` role has one password, and the old one "
                              "stops working at once; grace needs strategy: alternating")
        self.grace = cfg.grace or (ALTERNATING_GRACE if self.alternating else timedelta(0))
        if secret.keys and not set(secret.keys) <= set(KEYS):
            raise IssuerError(f"{self.name}: keys: a postgres credential holds {', '.join(KEYS)}")

    # -- what it is ------------------------------------------------------------------------------------
    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        where = f"{self.cfg.host}:{self.cfg.port}/{self.cfg.database}"
        if self.alternating:
            return (f"postgres: a new password for whichever of roles {self.roles[0]}, {self.roles[1]} is not in "
                    f"use, on {where}, set as a SCRAM-SHA-256 verifier by admin {self.cfg.admin}")
        return (f"postgres: a new password for role {self.cfg.role} on {where}, set as a SCRAM-SHA-256 verifier "
                f"by admin {self.cfg.admin}")

    def needs(self) -> Sequence[str]:
        role, admin = self.cfg.role, self.cfg.admin
        out = [f"managed secret {admin} holding username and password: a role with CREATEROLE (and ADMIN "
               f"OPTION on {role}) or superuser, for ALTER ROLE {role} PASSWORD",
               f"network: {self.cfg.host}:{self.cfg.port}, pg_hba allowing scram-sha-256 logins to database "
               f"{self.cfg.database} for {admin}'s user and {' and '.join(self.roles)}"]
        if self.alternating:
            clone = self.roles[1]
            out.append(f"grants: the admin creates role {clone} once (CREATE ROLE ... LOGIN, GRANT {role} and "
                       f"{role}'s role memberships TO {clone}, ALTER ROLE {clone} SET role), so it needs ADMIN "
                       f"OPTION on those roles too; later rotations only ALTER ROLE")
        return out

    # -- issue / verify / retire -----------------------------------------------------------------------
    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        user = self._next_user(current)
        password = "".join(secrets.choice(_ALNUM) for _ in range(self.cfg.length))
        with self._admin() as conn:
            if user not in self._existing(conn):
                if user == self.cfg.role:
                    raise IssuerError(f"{self.name}: role {user!r} does not exist on {self._where()}: create it "
                                      "first (secretkeeper manages its password, not its privileges)")
                self._create_clone(conn)
            elif self.alternating and user != self.cfg.role:
                self._check_clone(conn)
            self._set_password(conn, user, password)
        return self._version(user, password)

    def verify(self, data: Mapping[str, bytes]) -> None:
        """Logs in with the new credential, as a consumer will."""
        user, password = _text(data, "username", self.name), _text(data, "password", self.name)
        if user not in self.roles:
            raise VerifyFailed(f"{self.name}: the new version's username is not one of {', '.join(self.roles)}")
        try:
            with self._connect(user, password, require_auth="scram-sha-256") as conn:
                row = conn.execute("SELECT session_user").fetchone()
        except IssuerError as exc:
            detail = str(exc).removeprefix(f"{self.name}: ")
            raise VerifyFailed(f"{self.name}: the new credential does not log in: {detail}") from None
        if row is None or row[0] != user:
            raise VerifyFailed(f"{self.name}: logged in with the new credential, but as {row and row[0]!r}")

    def retire(self, old: SecretVersion) -> None:
        """Called after grace on the previous version, and on a rolled-back new one. The store's current
        version always keeps working: a role it names is never locked."""
        current = self._current()
        if current is not None and current.version == old.version:
            return
        user = _text(old.data, "username", self.name)
        if user not in self.roles:  # a version `put` by hand, naming a role this issuer does not manage
            return
        now_user = _text(current.data, "username", self.name) if current is not None else None
        with self._admin() as conn:
            if self.alternating or current is None:
                if user != now_user:
                    self._lock(conn, user)
                return
            # single: the role has one password, which must be the current version's again (a rolled-back
            # rotation had changed it); after a promotion it already is, and the old one is gone.
            password = _text(current.data, "password", self.name)
            try:
                with self._connect(now_user or user, password, require_auth="scram-sha-256"):
                    return
            except IssuerError:
                self._set_password(conn, now_user or user, password)

    # -- parts -----------------------------------------------------------------------------------------
    def _next_user(self, current: SecretVersion | None) -> str:
        if not self.alternating or current is None or "username" not in current.data:
            return self.cfg.role
        user = _text(current.data, "username", self.name)
        if user not in self.roles:
            raise IssuerError(f"{self.name}: the current version's username is not {self.roles[0]} or "
                              f"{self.roles[1]}: put one of them (`secretkeeper put {self.name}`)")
        return self.roles[1] if user == self.roles[0] else self.roles[0]

    def _version(self, user: str, password: str) -> dict[str, bytes]:
        host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
        uri = (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{self.cfg.port}/"
               f"{quote(self.cfg.database, safe='')}")
        if self.sslmode != "prefer":
            uri += f"?sslmode={self.sslmode}"
        return {"username": user.encode(), "password": password.encode(), "host": self.cfg.host.encode(),
                "port": str(self.cfg.port).encode(), "database": self.cfg.database.encode(), "uri": uri.encode()}

    def _current(self) -> SecretVersion | None:
        try:
            return self.managed.current(self.name)
        except NotFound:
            return None

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        try:
            admin = self.managed.current(self.cfg.admin)
        except NotFound:
            raise IssuerError(f"{self.name}: admin secret {self.cfg.admin!r} has no value yet: set it with "
                              f"`secretkeeper put {self.cfg.admin}`") from None
        user = _text(admin.data, "username", self.cfg.admin)
        password = _text(admin.data, "password", self.cfg.admin)
        # Any method but a password in clear: the admin may use md5, or SCRAM; a server (or something in
        # between) that asks for cleartext gets nothing.
        with self._connect(user, password, require_auth="!password", admin=True) as conn:
            yield conn

    @contextmanager
    def _connect(self, user: str, password: str, *, require_auth: str, admin: bool = False) -> Iterator[Any]:
        with login(self.name, host=self.cfg.host, port=self.cfg.port, database=self.cfg.database, user=user,
                   password=password, require_auth=require_auth, sslmode=self.sslmode,
                   sslrootcert=self.cfg.sslrootcert, connect_timeout=self.cfg.connect_timeout,
                   who=f"as {'admin ' if admin else ''}{user}") as conn:
            yield conn

    def _existing(self, conn: Any) -> set[str]:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(self.roles)])
        return {row[0] for row in rows}

    def _set_password(self, conn: Any, user: str, password: str) -> None:
        from psycopg import sql

        # The verifier (salted, iterated) is all the server sees: computed by libpq with the server's
        # own parameters, never the plaintext, so log_statement=all logs nothing worth stealing.
        verifier = conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(sql.Identifier(user), sql.Literal(verifier)))

    def _lock(self, conn: Any, user: str) -> None:
        from psycopg import sql

        conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD NULL").format(sql.Identifier(user)))

    def _create_clone(self, conn: Any) -> None:
        """The clone holds what the role holds: its memberships, and the role itself (its own grants)."""
        from psycopg import sql

        role, clone = (sql.Identifier(r) for r in self.roles)
        memberships = [row[0] for row in conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s", [self.cfg.role])]
        with conn.transaction():
            conn.execute(sql.SQL("CREATE ROLE {} WITH LOGIN INHERIT").format(clone))
            conn.execute(sql.SQL("GRANT {} TO {}").format(role, clone))
            for group in memberships:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), clone))
            # Sessions of the clone act as the role: what they create is the role's, as if it had made it.
            conn.execute(sql.SQL("ALTER ROLE {} SET role = {}").format(clone, sql.Literal(self.cfg.role)))

    def _check_clone(self, conn: Any) -> None:
        row = conn.execute("SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                           "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = %s AND r.rolname = %s",
                           [self.cfg.role, self.roles[1]]).fetchone()
        if row is None:
            raise IssuerError(f"{self.name}: role {self.roles[1]!r} exists but is not a member of "
                              f"{self.cfg.role!r}: it was not made by secretkeeper; drop or rename it")

    def _where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.port}/{self.cfg.database}"


def _text(data: Mapping[str, bytes], key: str, name: str) -> str:
    try:
        return data[key].decode("utf-8")
    except KeyError:
        raise IssuerError(f"{name}: the version holds no {key!r}") from None
    except UnicodeDecodeError:
        raise IssuerError(f"{name}: {key!r} is not UTF-8 text") from None


ISSUERS.register("postgres")(PostgresIssuer)
