"""The product's promise: a planted secret never appears in clear in any output, file or error.

One unique synthetic token per test is planted in several places; every report format is run to stdout
and to a file, with and without --debug and progress, plus `baseline`; then stdout, stderr, every written
file and every file left in the temp directory are searched for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

FORMATS = ["text", "json", "sarif", "junit"]


def plant(make_tree, canary: str) -> Path:
    return make_tree({
        ".env": f"GITHUB_TOKEN={canary}\n",
        "src/settings.py": f"TOKEN = '{canary}'\n",
        "deploy/values.yaml": f"github:\n  token: \"{canary}\"\n",
        "data/config.json": f'{{"token": "{canary}"}}\n',
        "notes/allowed.txt": f"{canary}  # secretkeeper:allow\n",
        "bin/blob.dat": b"\x00\x01" + canary.encode() + b"\x00",
    })


def planted_files(root: Path) -> set[Path]:
    return {p.resolve() for p in root.rglob("*") if p.is_file()}


def files_holding(needle: bytes, top: Path, since: float, exclude: set[Path]) -> list[Path]:
    """Regular files under `top` changed since `since` that contain `needle` (outside `exclude`)."""
    hits = []
    for dirpath, _dirs, names in os.walk(top):
        for name in names:
            p = Path(dirpath, name)
            try:
                st = p.lstat()
                if not p.is_file() or p.is_symlink() or st.st_mtime < since or st.st_size > 64 * 1024 * 1024:
                    continue
                if p.resolve() in exclude:
                    continue
                if needle in p.read_bytes():
                    hits.append(p)
            except OSError:
                continue
    return hits


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_canary_never_leaks(make_tree, run_cli, canary, tmp_path, debug):
    started = time.time() - 1
    root = plant(make_tree, canary)
    planted = planted_files(root)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    outputs: list[str] = []

    for fmt in FORMATS:
        for extra in ([], ["--progress"], ["-q"], ["--jobs", "2"]):
            res = run_cli(["scan", root, "--no-history", "-f", fmt, *extra, *debug])
            assert res.code == 1, (fmt, extra, res.output)
            assert res.exception is None, repr(res.exception)
            outputs += [res.stdout, res.stderr]
        target = out_dir / f"report-{fmt}"
        res = run_cli(["scan", root, "--no-history", "-f", fmt, "-o", target, *debug])
        assert res.code == 1, res.output
        outputs += [res.stdout, res.stderr, target.read_text(encoding="utf-8")]

    baseline = out_dir / "baseline.json"
    res = run_cli(["baseline", root, "--no-history", "-o", baseline])
    assert res.code == 0, res.output
    outputs += [res.stdout, res.stderr, baseline.read_text(encoding="utf-8")]
    res = run_cli(["scan", root, "--no-history", "--baseline", baseline, "-f", "json", *debug])
    assert res.code == 0, res.output
    outputs += [res.stdout, res.stderr]

    assert any("github-pat-classic" in o for o in outputs)  # the scans did find it
    for text in outputs:
        assert canary not in text
        assert canary[4:] not in text  # not even without its prefix
    assert files_holding(canary.encode(), tmp_path, started, planted) == []
    assert files_holding(canary.encode(), Path(tempfile.gettempdir()), started, planted) == []


def test_canary_not_echoed_by_config_errors(make_tree, run_cli, canary):
    # A credential pasted into the wrong config key must not be echoed back in the error line.
    for body in (f"scan:\n  fail_on: {canary}\n",
                 f"scan:\n  severity:\n    github-pat-classic: {canary}\n",
                 f"scan:\n  max_file_size: {canary}\n",
                 f"scan:\n  allowlist:\n    secrets: ['{canary}']\n",
                 f"scan:\n  rules:\n    - id: x\n      description: d\n      severity: {canary}\n      regex: a\n"):
        root = make_tree({".secretkeeper.yaml": body})
        res = run_cli(["scan", root, "--no-history", "--debug"])
        assert res.code == 2 or res.exception is not None, res.output
        assert canary not in res.output
        assert canary not in str(res.exception or "")


def test_canary_not_echoed_by_bad_cli_values(make_tree, run_cli, canary):
    root = make_tree({"a.txt": "x\n"})
    for args in (["--fail-on", canary], ["--format", canary]):
        res = run_cli(["scan", root, *args])
        assert res.code == 2
        assert canary not in res.output


def _git(repo: Path, *args: str) -> None:
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.test",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.test"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_canary_in_history_never_leaks(make_tree, run_cli, canary, tmp_path):
    started = time.time() - 1
    root = make_tree({"app.env": f"GITHUB_TOKEN={canary}\n", "README": "hi\n"})
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "add")
    _git(root, "rm", "-q", "app.env")
    _git(root, "commit", "-q", "-m", "remove the token")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    outputs: list[str] = []
    for fmt in FORMATS:
        res = run_cli(["scan", root, "-f", fmt, "--debug"])
        assert res.code == 1, res.output
        outputs += [res.stdout, res.stderr]
        target = out_dir / f"history-{fmt}"
        assert run_cli(["scan", root, "-f", fmt, "-o", target]).code == 1
        outputs.append(target.read_text(encoding="utf-8"))
    res = run_cli(["baseline", root, "-o", out_dir / "bl.json"])
    assert res.code == 0, res.output
    outputs += [res.stdout, res.stderr, (out_dir / "bl.json").read_text()]
    assert "commitSha" in "".join(outputs)  # the history finding was reported
    for text in outputs:
        assert canary not in text and canary[4:] not in text
    git_objects = {p.resolve() for p in (root / ".git").rglob("*") if p.is_file()}
    assert files_holding(canary.encode(), tmp_path, started, git_objects) == []
