"""A local store's key that is wrong, malformed or missing stops `rotate`, `sync` and `put` before they
write anything: exit 2, one line naming the key's source and the store, and no journal record left for
a later run to roll back (the rotation resumes nothing and loses nothing once the key is back)."""

from __future__ import annotations

import base64
import os

import pytest

CONFIG = """\
secrets:
  - name: demo
    store: local
    path: app/demo
    issuer: {type: random, length: 24}
    rotate: {every: 30d}
    sync:
      - manifest: {dir: out}
"""


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("SECRETKEEPER_LOCAL_KEY", raising=False)


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / ".secretkeeper").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad, expected", [
    (lambda: base64.b64encode(os.urandom(32)).decode() + "\n", "is not the key this store was created with"),
    (lambda: "not a key\n", "is not base64"),
    (None, "its key is missing"),
])
def test_a_bad_key_is_a_usage_error_and_writes_nothing(make_tree, run_cli, bad, expected):
    root = make_tree({"secretkeeper.yaml": CONFIG, "value.txt": "a-person-chose-this\n"})
    first = run_cli(["rotate", "--due"], cwd=root)
    assert first.code == 0, first.stderr
    key_file = root / ".secretkeeper" / "store.key"
    good = key_file.read_bytes()
    if bad is None:
        key_file.unlink()
    else:
        key_file.write_text(bad())
    before = snapshot(root)
    for args in (["rotate", "demo", "--force"], ["rotate", "--due"], ["sync"],
                 ["put", "demo", "--from-file", root / "value.txt"]):
        res = run_cli(args, cwd=root)
        assert res.code == 2, (args, res.stderr)
        assert expected in res.stderr and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
        assert snapshot(root) == before, f"{args} wrote to the store"
    key_file.write_bytes(good)
    key_file.chmod(0o600)
    res = run_cli(["rotate", "demo", "--force"], cwd=root)
    assert res.code == 0 and "rotated: version 1 -> 2" in res.stderr, res.stderr
    assert "resuming" not in res.stderr  # the failed runs left nothing to resume
