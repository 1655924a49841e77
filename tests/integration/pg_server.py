"""A real PostgreSQL server for integration tests: a throwaway cluster made with Debian's `initdb` and
`pg_ctl` (package `postgresql`, installed by .ci/system-deps) in a temp folder, on a free 127.0.0.1 port,
with `log_statement=all` so a test can read every statement the server received. initdb and the server
refuse to run as root: as root they run as the `postgres` user (`runuser`), otherwise as the caller.

Host logins use scram-sha-256 (pg_hba), the superuser's password is random. One server per session
(`pg_server`); each test makes its own database and roles (`PgServer.database`).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60  # seconds for initdb and for the server to accept connections (about 2 s idle)
SUPERUSER = "sk_super"


def find_bin(name: str) -> str | None:
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    host: str
    port: int
    superuser: str
    password: str
    log: Path  # the server's log: every statement (log_statement=all)

    def connect(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, dbname=database, user=user or self.superuser,
                               password=password if user else self.password, autocommit=True, connect_timeout=10)

    def execute(self, statement: Any, params: Any = None, database: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(database) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def database(self, label: str = "db") -> str:
        """A fresh database, unique to the caller."""
        from psycopg import sql

        name = f"{label}_{uuid.uuid4().hex[:8]}"
        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class _Cluster:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="sk-pg-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port, self.password = free_port(), secrets.token_urlsafe(24)
        self.started = False

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"})
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-800:]}")

    def __enter__(self) -> PgServer:
        if self.initdb is None or self.pg_ctl is None:
            raise FileNotFoundError("PostgreSQL's initdb/pg_ctl are not installed (Debian package postgresql)")
        if self.as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise FileNotFoundError("no `postgres` user to run the server as (Debian package postgresql)") \
                    from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.dir.chmod(0o700)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.as_root:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        try:
            self._run(self.initdb, "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
                      "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions")
        finally:
            pwfile.unlink()
        options = " ".join(["-c listen_addresses=127.0.0.1", f"-c port={self.port}",
                            f"-c unix_socket_directories={self.dir}", "-c log_statement=all",
                            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                            "-c max_connections=50", "-c shared_buffers=16MB"])
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", str(START_TIMEOUT), "start")
        self.started = True
        server = PgServer("127.0.0.1", self.port, SUPERUSER, self.password, self.log)
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # pg_ctl -w waited for the socket; one real login says the server is ready
            try:
                server.execute("SELECT 1")
                return server
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __exit__(self, *_: object) -> None:
        if self.started:
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    from tests.integration.conftest import need

    try:
        import psycopg  # noqa: F401
    except ImportError:
        need("psycopg is not installed (pip install 'psycopg[binary]')")
    cluster = _Cluster()
    try:
        server = cluster.__enter__()
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        cluster.__exit__()
        need(f"cannot start PostgreSQL: {exc}")
    try:
        yield server
    finally:
        cluster.__exit__()
