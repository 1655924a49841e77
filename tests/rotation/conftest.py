"""Fixtures for rotation tests.

`project` is a folder with a secretkeeper.yaml whose store named `local` persists across processes, and
runs the `secretkeeper` command there in other processes (so tests can kill them). Four kinds of store
stand behind that name:

    memory  the file-backed MemoryStore (tests/rotation/memstore.py, through `tests.rotation.memcli`),
            which can also be told to fail or slow a request (MEMSTORE_FAIL, MEMSTORE_DELAY)
    local   the real encrypted local store (providers/stores/local)
    vault   the OpenBao dev server of the session (tests/integration/vault_server.py), a fresh KV mount
    aws     the moto server of the session (tests/integration/aws_server.py), reset for each project

`project` uses the MemoryStore; `any_project` runs a test once with each kind, `real_project` with each
real store. Tests read a store only through the Store protocol.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from providers.base import Store
from secretkeeper.config import load_config
from tests.rotation.memstore import MemoryStore

MEMCLI, CLI = [sys.executable, "-m", "tests.rotation.memcli"], [sys.executable, "-m", "secretkeeper.cli"]
KINDS = ["memory", "local", "vault", "aws"]
REAL = ["local", "vault", "aws"]
LOCAL_STORE = "  local: {type: local, path: .secretkeeper/store}\n"
REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
  - name: app-db
    store: local
    path: apps/db
    keys: [password]
    issuer: {type: random, length: 40}
    rotate: {every: 30d}
    sync:
      - manifest: {dir: out/secrets, namespace: shop}
"""


@dataclass(frozen=True)
class Backend:
    """Where a project's `local` store lives: its section of the config and the environment it needs."""

    kind: str
    section: str = LOCAL_STORE  # the `local:` line of `stores:`
    environ: Mapping[str, str] = field(default_factory=dict)


class Project:
    def __init__(self, root: Path, config: str, kind: str = "memory", backend: Backend | None = None, *,
                 fork: bool = False) -> None:
        """`fork`: `run` forks this process instead of starting a new interpreter (see `run`)."""
        self.backend = backend or Backend(kind)
        self.root, self.kind, self.fork = root, self.backend.kind, fork
        self.command = MEMCLI if self.kind == "memory" else CLI
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "secretkeeper.yaml"
        if self.backend.section != LOCAL_STORE:
            assert LOCAL_STORE in config, f"a {self.kind} project's config declares its store as {LOCAL_STORE!r}"
            config = config.replace(LOCAL_STORE, self.backend.section)
        self.config.write_text(config)
        self.cfg = load_config(self.config)
        self._server_store: Store | None = None

    @property
    def store(self) -> Store:
        """The project's store, as a test reads it (a new handle each time: another process wrote it)."""
        if self.kind == "memory":
            return MemoryStore(file=self.root / ".secretkeeper/store/memstore.json")
        from providers.stores import open_store

        if self._server_store is not None:  # a server's client holds no state of the secret: kept
            return self._server_store
        if self.kind == "vault":
            from providers.stores.vault.store import VaultKVStore

            self._server_store = VaultKVStore(self.cfg.stores["local"], name="local",
                                              environ={**os.environ, **self.backend.environ})
            return self._server_store
        cwd, saved = os.getcwd(), {k: os.environ.get(k) for k in self.backend.environ}
        os.chdir(self.root)  # the config's relative store path, as the command sees it
        os.environ.update(self.backend.environ)  # a Vault token, AWS keys: read when the store is opened
        try:
            store = open_store("local", self.cfg.stores["local"])
            if self.kind == "aws":
                store.api.client  # noqa: B018  (boto3 reads its credentials now, while they are set)
                self._server_store = store
            return store
        finally:
            os.chdir(cwd)
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRETKEEPER_", "MEMSTORE_"))}
        env["PYTHONPATH"] = str(REPO)
        return {**env, **self.backend.environ, **(extra or {})}

    def run(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The `secretkeeper` command run to its end in another process. With `fork` (projects made by
        `make_project`), a child forked from this one: the same `main` and stores as `python -m
        secretkeeper.cli`, without a new interpreter's start-up (0.3-1 s with boto3 and hvac), which the
        loops that kill a run at every request cannot afford. The child starts as a new command does: its
        own environment, working directory, stdin, no store request counted yet; a crash point ends it
        with `os._exit(137)`. Without `fork`, and in `run_process`, a new interpreter."""
        if not self.fork:
            return self.run_process(*args, env=env, input=input, timeout=timeout)
        import signal
        import tempfile

        from secretkeeper.cli import main

        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as stdin:
            stdin.write(input or b"")
            stdin.seek(0)
            pid = os.fork()
            if pid == 0:  # the child: never returns into pytest
                code = 70
                try:
                    for fd, file in ((0, stdin), (1, out), (2, err)):
                        os.dup2(file.fileno(), fd)
                    sys.stdin = open(0, closefd=False)  # not pytest's capture of the parent's
                    sys.stdout = open(1, "w", closefd=False)
                    sys.stderr = open(2, "w", closefd=False)
                    os.chdir(self.root)
                    os.environ.clear()
                    os.environ.update(self.env(env))
                    if self.kind == "memory":
                        from tests.rotation.memcli import install

                        install()
                    code = main(list(args))
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else 1
                except BaseException:  # reported on the child's stderr
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            deadline = time.monotonic() + timeout
            while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    raise subprocess.TimeoutExpired(list(args), timeout)
                time.sleep(0.01)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(list(args), os.waitstatus_to_exitcode(done[1]),
                                               out.read().decode(), err.read().decode())

    def run_process(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The command in a new interpreter, as a user starts it."""
        proc = subprocess.run([*self.command, *args], cwd=self.root, env=self.env(env), input=input,
                              capture_output=True, timeout=timeout, check=False)
        return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                           proc.stderr.decode())

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*self.command, *args], cwd=self.root, env=self.env(env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def value(self, name: str) -> dict[str, bytes] | None:
        """The current value of managed secret `name`, through the Store protocol."""
        from providers.errors import NotFound

        path = next(s.path for s in self.cfg.secrets if s.name == name)
        try:
            return dict(self.store.read(path).data)
        except NotFound:
            return None

    def write_directly(self, name: str, data: Mapping[str, str]) -> None:
        """Someone else's new current value, written past secretkeeper and its journal: with the server's
        own API (Vault, AWS), or through the store's verbs without the lock (local, memory)."""
        import json
        import uuid

        path = next(s.path for s in self.cfg.secrets if s.name == name)
        section = self.cfg.stores["local"]
        if self.kind == "vault":
            import requests

            response = requests.post(f"{section.address}/v1/{section.mount}/data/{path}", json={"data": data},
                                     headers={"X-Vault-Token": self.backend.environ["VAULT_TOKEN"]}, timeout=30)
            response.raise_for_status()
        elif self.kind == "aws":
            # What a plain PutSecretValue does on AWS (AWSCURRENT moves to the new version, AWSPREVIOUS to the
            # old) in the two steps moto gets right: its own leaves AWSCURRENT on both (DESIGN.md).
            client, theirs = self.store.api.client, str(uuid.uuid4())
            old = client.get_secret_value(SecretId=path, VersionStage="AWSCURRENT")["VersionId"]
            client.put_secret_value(SecretId=path, ClientRequestToken=theirs, SecretString=json.dumps(dict(data)),
                                    VersionStages=["THEIRS"])
            client.update_secret_version_stage(SecretId=path, VersionStage="AWSCURRENT", MoveToVersionId=theirs,
                                               RemoveFromVersionId=old)
        else:
            from providers.errors import NotFound

            store = self.store
            try:
                current: str | None = store.read(path).version
            except NotFound:
                current = None
            staged = store.stage(path, {k: v.encode() for k, v in data.items()}, token=str(uuid.uuid4()))
            store.promote(path, staged.version, expect_current=current)

    def manifest(self, name: str) -> Path:
        return self.root / "out/secrets" / f"{name}.yaml"


@pytest.fixture
def make_project(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Project]:
    """`make_project(config, name, kind)`: a project on a store of that kind. Vault and AWS projects share
    the session's server (started on first use); two projects of one test share its mount or its moto."""
    backends: dict[str, Backend] = {}

    def make(config: str = CONFIG, name: str = "project", kind: str = "memory") -> Project:
        if kind not in backends:
            backends[kind] = _backend(kind, request)
        return Project(tmp_path / name, config, backend=backends[kind], fork=True)

    return make


def _backend(kind: str, request: pytest.FixtureRequest) -> Backend:
    if kind == "vault":
        server, mount = request.getfixturevalue("vault_server"), request.getfixturevalue("vault_mount")
        return Backend(kind, f"  local: {{type: vault, address: '{server.address}', mount: {mount}}}\n",
                       {"VAULT_TOKEN": server.token, "VAULT_NAMESPACE": ""})
    if kind == "aws":
        from tests.integration.aws_server import FAKE_ENV, REGION

        moto = request.getfixturevalue("moto")
        moto.reset()  # secret names are the same in every test: each starts on an empty account
        return Backend(kind, f"  local: {{type: aws-secrets-manager, region: {REGION}, "
                             f"endpoint_url: '{moto.endpoint}'}}\n", FAKE_ENV)
    return Backend(kind)


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return make_project()


@pytest.fixture(params=KINDS)
def any_project(request: pytest.FixtureRequest, make_project: Callable[..., Project]) -> Project:
    """The same test against every kind of store: the MemoryStore, local, Vault, AWS."""
    return make_project(kind=request.param)


@pytest.fixture(params=REAL)
def real_project(request: pytest.FixtureRequest, make_project: Callable[..., Project]) -> Project:
    """The same test against every real store: local, Vault (OpenBao), AWS (moto)."""
    return make_project(kind=request.param)


def manifest_data(path: Path) -> dict[str, bytes]:
    """The values a manifest target holds, decoded."""
    import base64

    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(path.read_text())
    return {k: base64.b64decode(v) for k, v in doc["data"].items()}


def manifest_version(path: Path) -> str:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text())["metadata"]["annotations"]["secretkeeper.io/version"]


def mismatched(current: dict[str, bytes]) -> bytes:
    """`put` input: the current private key with the public key of another pair."""
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    return json.dumps({"private_key": current["private_key"].decode(), "public_key": other.decode()}).encode()


def ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}\n{proc.stdout}\n{proc.stderr}"
    return proc


__all__: Sequence[str] = ["KINDS", "REAL", "Project", "manifest_data", "manifest_version", "mismatched", "ok"]
