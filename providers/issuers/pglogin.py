"""One PostgreSQL login for the issuers that change database credentials (postgres, vault-database):
psycopg 3 with a connect timeout, autocommit, and `require_auth` so a password is never sent in clear;
a failure is one IssuerError line naming the server and the user, never the password.

TLS: `sslmode` defaults to verify-full (the server's certificate checked against `sslrootcert`, or libpq's
~/.postgresql/root.crt) for any host but loopback, where there is no network to cross and TLS is rarely
set up (`prefer`); the user can say otherwise, and a failed TLS login says how."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from typing import Any

from providers.errors import IssuerError


def effective_sslmode(host: str, sslmode: str | None, sslrootcert: str | None = None) -> str:
    """The sslmode given, or the default for `host`: `prefer` on loopback (or a Unix socket folder),
    `verify-full` anywhere else, and wherever a CA (`sslrootcert`) is given to verify against."""
    if sslmode:
        return sslmode
    if sslrootcert:
        return "verify-full"
    if host == "localhost" or host.startswith("/"):
        return "prefer"
    try:
        return "prefer" if ip_address(host.strip("[]")).is_loopback else "verify-full"
    except ValueError:  # a host name
        return "verify-full"


@contextmanager
def login(name: str, *, host: str, port: int, database: str, user: str, password: str, require_auth: str,
          sslmode: str = "verify-full", sslrootcert: str | None = None, connect_timeout: int = 10,
          who: str | None = None) -> Iterator[Any]:
    """An open connection; errors of the login and of the block become IssuerError naming `name`."""
    import psycopg  # ~0.1 s: only for a run that rotates a database credential

    if psycopg.pq.version() < 160000:  # require_auth came with libpq 16: without it, no login here
        raise IssuerError(f"{name}: libpq {psycopg.pq.version()} cannot refuse to send a password in clear "
                          "(require_auth needs libpq 16 or later): install psycopg[binary]")
    params: dict[str, Any] = {
        "host": host, "port": port, "dbname": database, "user": user, "password": password,
        "connect_timeout": connect_timeout, "sslmode": sslmode, "require_auth": require_auth,
        "application_name": "secretkeeper", "autocommit": True,
    }
    if sslrootcert:
        params["sslrootcert"] = sslrootcert
    where = f"{name}: postgres {host}:{port}/{database} {who or f'as {user}'}"
    try:
        conn = psycopg.connect(**params)
    except psycopg.Error as exc:
        raise IssuerError(f"{where}: {message(exc, password)}{_tls_hint(exc, sslmode)}") from None
    try:
        yield conn
    except psycopg.Error as exc:
        raise IssuerError(f"{where}: {message(exc, password)}") from None
    finally:
        conn.close()


def message(exc: Exception, password: str) -> str:
    """The server's (or libpq's) first line, which names users and hosts, never a password; scrubbed all
    the same, in case a driver ever echoes a connection string."""
    diag = getattr(exc, "diag", None)
    text = (diag.message_primary if diag is not None and diag.message_primary else str(exc)).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.replace(password, "[redacted]") if password else line


def _tls_hint(exc: Exception, sslmode: str) -> str:
    """After a login refused for TLS under a verifying sslmode: what to set."""
    text = str(exc)
    if sslmode not in ("require", "verify-ca", "verify-full") or not any(
            word in text for word in ("SSL", "certificate", "root.crt")):
        return ""
    return (f" (sslmode {sslmode}; the default for a host that is not loopback is verify-full: set "
            "issuer.sslrootcert to the CA that signed the server's certificate (`system`: the OS's trusted CAs), "
            "or issuer.sslmode: prefer or "
            "disable for a server without TLS)")
