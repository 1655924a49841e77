"""Fixtures for rotation tests.

`project` is a folder with a secretkeeper.yaml whose `local` store persists across processes, and runs
the `secretkeeper` command there in other processes (so tests can kill them). Two stores stand behind
`local`: the real encrypted local store (providers/stores/local), and the file-backed MemoryStore
(tests/rotation/memstore.py, through `tests.rotation.memcli`), which can also be told to fail or slow a
request (MEMSTORE_FAIL, MEMSTORE_DELAY). `project` uses the MemoryStore; `any_project` runs a test once
with each. Tests read a store only through the Store protocol.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from providers.base import Store
from secretkeeper.config import load_config
from tests.rotation.memstore import MemoryStore

COMMANDS = {"memory": [sys.executable, "-m", "tests.rotation.memcli"],  # the `local` type is a MemoryStore
            "local": [sys.executable, "-m", "secretkeeper.cli"]}
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


class Project:
    def __init__(self, root: Path, config: str, kind: str = "memory") -> None:
        self.root, self.kind, self.command = root, kind, COMMANDS[kind]
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "secretkeeper.yaml"
        self.config.write_text(config)
        self.cfg = load_config(self.config)

    @property
    def store(self) -> Store:
        """The project's store, as a test reads it (a new handle each time: another process wrote it)."""
        if self.kind == "memory":
            return MemoryStore(file=self.root / ".secretkeeper/store/memstore.json")
        from providers.stores import open_store

        cwd = os.getcwd()
        os.chdir(self.root)  # the config's relative store path, as the command sees it
        try:
            return open_store("local", self.cfg.stores["local"])
        finally:
            os.chdir(cwd)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRETKEEPER_", "MEMSTORE_"))}
        env["PYTHONPATH"] = str(REPO)
        return {**env, **(extra or {})}

    def run(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
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

    def manifest(self, name: str) -> Path:
        return self.root / "out/secrets" / f"{name}.yaml"


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    def make(config: str = CONFIG, name: str = "project", kind: str = "memory") -> Project:
        return Project(tmp_path / name, config, kind)

    return make


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return make_project()


@pytest.fixture(params=["local", "memory"])
def any_project(request: pytest.FixtureRequest, make_project: Callable[..., Project]) -> Project:
    """The same test against the real local store and the MemoryStore."""
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


def ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}\n{proc.stdout}\n{proc.stderr}"
    return proc


__all__: Sequence[str] = ["Project", "manifest_data", "manifest_version", "ok"]
