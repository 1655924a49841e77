"""Shared test fixtures: run the CLI in-process, build file trees, mint synthetic canary tokens.

Every credential a test plants is synthetic and minted at run time (`make_token`), so no test file holds
a secret and each run's tokens are unique — a leak of one into any output is unambiguous.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secretkeeper.filters import is_placeholder
from secretkeeper.validators.core import base62_crc32

# The real servers, one per session for every test directory that uses them (rotation, integration):
# registered here once, so no two registrations start two servers.
from tests.integration.aws_server import aws_client, aws_env, aws_store, moto, own_moto  # noqa: F401
from tests.integration.vault_server import vault_mount, vault_server  # noqa: F401

_ALNUM = string.ascii_letters + string.digits


def make_token() -> str:
    """A unique synthetic GitHub classic token whose checksum validates (so `github-pat-classic` fires)."""
    while True:
        body = "".join(secrets.choice(_ALNUM) for _ in range(30))
        token = f"ghp_{body}{base62_crc32(body.encode())}"
        if not is_placeholder(token.encode()):  # e.g. "...tbd..." would be dropped as a placeholder
            return token


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextmanager
def _chdir(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(args: Sequence[str | os.PathLike[str]], cwd: Path | None = None,
            env: Mapping[str, str] | None = None) -> CliResult:
    """Invoke `secretkeeper ARGS` in-process (typer's CliRunner), from `cwd`. Never raises."""
    from secretkeeper.cli import app

    runner = CliRunner()
    with _chdir(cwd):
        res = runner.invoke(app, [str(a) for a in args], env=dict(env or {}), catch_exceptions=True)
    exc = res.exception if res.exception and not isinstance(res.exception, SystemExit) else None
    return CliResult(res.exit_code, res.stdout, res.stderr, exc)


def make_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create `{relpath: content}` under `root` (str written as UTF-8, bytes as is); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(autouse=True, scope="session")
def _plain_environment() -> Iterator[None]:
    """No colour and no inherited --debug for every in-process run. The compiled-rule cache stays where
    users have it: it holds patterns, never scanned data, and a cold compile of the catalog is slow."""
    keys = ("NO_COLOR", "SECRETKEEPER_DEBUG")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["NO_COLOR"] = "1"
    os.environ.pop("SECRETKEEPER_DEBUG", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def canary() -> str:
    """A fresh synthetic GitHub classic token (valid checksum), unique to this test."""
    return make_token()


@pytest.fixture(name="make_tree")
def make_tree_fixture(tmp_path: Path) -> Callable[..., Path]:
    """`make_tree({relpath: content})` under a fresh `tmp_path/"repo"` (or `make_tree(files, root=...)`)."""

    def build(files: Mapping[str, str | bytes], root: Path | None = None) -> Path:
        return make_tree(root or tmp_path / "repo", files)

    return build


@pytest.fixture(name="run_cli")
def run_cli_fixture() -> Callable[..., CliResult]:
    return run_cli


# A custom rule in the config schema, shared by the CLI and config tests (synthetic examples).
CUSTOM_RULE = """\
scan:
  rules:
    - id: acme-api-key
      description: ACME API key
      severity: critical
      regex: '\\b(?P<secret>acme_[a-z0-9]{24})\\b'
      keywords: [acme_]
      remediation: Rotate it in the ACME console.
      examples:
        true: ["key = acme_q8w7e6r5t4y3u2i1o9p8a7s6"]
        false: ["key = acme_short"]
"""
