"""Fixtures for rotation tests.

`project` is a folder with a secretkeeper.yaml whose `local` store persists across processes, and runs
the `secretkeeper` command there in other processes (so tests can kill them). Today the store is the
file-backed MemoryStore (tests/rotation/memstore.py) through `tests.rotation.memcli`; tests read it only
through the Store protocol, so moving them to the real local store is a change to `SK` and
`Project.store` alone.
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

SK = [sys.executable, "-m", "tests.rotation.memcli"]
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
    def __init__(self, root: Path, config: str) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "secretkeeper.yaml"
        self.config.write_text(config)
        self.cfg = load_config(self.config)

    @property
    def store(self) -> Store:
        """The project's store, as a test reads it (a new handle each time: another process wrote it)."""
        return MemoryStore(file=self.root / ".secretkeeper/store/memstore.json")

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRETKEEPER_", "MEMSTORE_"))}
        env["PYTHONPATH"] = str(REPO)
        return {**env, **(extra or {})}

    def run(self, *args: str, env: Mapping[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*SK, *args], cwd=self.root, env=self.env(env), input=input,
                              capture_output=True, timeout=timeout, check=False)
        return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                           proc.stderr.decode())

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*SK, *args], cwd=self.root, env=self.env(env), stdout=subprocess.PIPE,
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
    def make(config: str = CONFIG, name: str = "project") -> Project:
        return Project(tmp_path / name, config)

    return make


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    return make_project()


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
