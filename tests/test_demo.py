"""Smoke test of the demo's repository builder (scripts/demo_repo.py, used by `make demo`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_demo_repo_has_commits_leaks_and_lookalikes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "demo_repo.py"), str(repo)], check=True)
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(log) == 4
    for rel in ("config/aws.yaml", "tools/release.py", "deploy/id_rsa", "k8s/secret.yaml",
                "config/database.yml", ".env.example"):
        assert (repo / rel).is_file(), rel
    assert not (repo / ".env").exists()  # deleted in the last commit: only history holds it
    shown = subprocess.run(["git", "-C", str(repo), "show", "HEAD~1:.env"], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(r"^DATABASE_PASSWORD=\S{20}$", shown, re.MULTILINE)

    from secretkeeper.validators import registry

    token = re.search(r"ghp_[0-9A-Za-z]{36}", (repo / "tools/release.py").read_text())
    assert token and registry()["crc32-base62"](token.group(0).encode(), b"")
    key = (repo / "deploy/id_rsa").read_bytes()
    assert registry()["private-key"](key, key)
