"""A local store killed after any single state-changing file operation (each is a `store-request`
crash point) still reads its last good value, every file it holds parses and decrypts, and a resumed
run finishes the rotation: old value or new, never a third thing, never a broken store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from providers.errors import NotFound
from providers.stores.local.meta import Meta
from tests.localstore import written_files
from tests.localstore_rotate import FIRST_PATH, PATH, open_store, rotate, scenario

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUESTS = 200


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("SECRETKEEPER_LOCAL_KEY", raising=False)
    monkeypatch.delenv("SECRETKEEPER_CRASH_AT", raising=False)


def baseline(root: Path, fresh: bool, canary: str) -> str | None:
    """A store holding OLD with a full history and an abandoned staged version, or nothing at all."""
    if fresh:
        return None
    store = open_store(root)
    for i in range(3):
        rotate(store, PATH, {"password": f"{canary}-old-{i}".encode()}, f"rotation-old-{i}")
    return store.stage(PATH, {"password": b"abandoned"}, token="abandoned").version


def check_store(root: Path, canary: str, fresh: bool) -> str:
    """Everything on disk parses and decrypts; returns which value PATH reads: old, new or none."""
    store = open_store(root)
    for meta_file in root.rglob("meta.json"):
        meta = Meta.from_doc(json.loads(meta_file.read_bytes()))
        path = unquote(meta_file.parent.name)
        for version in meta.versions:
            assert store.read(path, version).data["password"], (path, version)
        store.journal(path).read()
    try:
        assert store.read(FIRST_PATH).data == {"password": f"{canary}-first".encode()}
    except NotFound:
        pass
    try:
        value = store.read(PATH).data["password"].decode()
    except NotFound:
        assert fresh, "a store that held a value lost it"
        return "none"
    assert value in (f"{canary}-old-2", f"{canary}-new"), "a third value"
    return "new" if value.endswith("-new") else "old"


@pytest.mark.parametrize("fresh", [False, True], ids=["existing-store", "fresh-store"])
def test_a_kill_after_any_store_request_loses_nothing_and_a_rerun_finishes(tmp_path, canary, fresh):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEW_VALUE": f"{canary}-new",
           "FIRST_VALUE": f"{canary}-first"}
    seen, n = [], 0
    while True:
        n += 1
        assert n < MAX_REQUESTS, "the scenario never finished"
        root = tmp_path / f"run-{n}" / "store"
        root.parent.mkdir()
        abandoned = baseline(root, fresh, canary)
        args = [sys.executable, "-m", "tests.localstore_rotate", str(root), *([abandoned] if abandoned else [])]
        child = subprocess.run(args, env={**env, "SECRETKEEPER_CRASH_AT": f"store-request:{n}"}, cwd=ROOT,
                               capture_output=True, text=True)
        if child.returncode == 0:
            break
        assert child.returncode == 137, child.stderr
        seen.append(check_store(root, canary, fresh))
        os.environ["NEW_VALUE"], os.environ["FIRST_VALUE"] = env["NEW_VALUE"], env["FIRST_VALUE"]
        try:
            scenario(root, abandoned)  # the next run resumes or repeats each step
        finally:
            del os.environ["NEW_VALUE"], os.environ["FIRST_VALUE"]
        store = open_store(root)
        assert store.read(PATH).data == {"password": f"{canary}-new".encode()}
        assert store.read(FIRST_PATH).data == {"password": f"{canary}-first".encode()}
        assert store.journal(PATH).read() is None and store.journal(FIRST_PATH).read() is None
        status = store.status([PATH, FIRST_PATH])
        assert not status[PATH].in_progress and not status[FIRST_PATH].in_progress
        leftovers = [p.name for p in written_files(root.parent) if p.name.endswith(".tmp")]
        assert not leftovers
        enc = sorted(p.name for p in (root / "secrets").rglob("*.enc"))
        assert len(enc) == (2 if fresh else 3), enc  # the history is bounded (max_versions 2)
        for path in written_files(root.parent):
            assert canary.encode() not in path.read_bytes(), path
    assert n > (20 if fresh else 15), f"only {n - 1} store requests: the crash points are not reached"
    first_new = seen.index("new") if "new" in seen else len(seen)
    assert all(v != "new" for v in seen[:first_new]) and all(v == "new" for v in seen[first_new:]), seen
    assert "old" in seen or fresh
