"""A rotation on the Vault store killed right after any single request to Vault (the `store-request`
crash point, `os._exit` in a child process): the secret's readers keep the last good value, the journal
stays readable, and the next run finishes the rotation with exactly one new version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_token
from tests.integration.vault_crash_run import TOKEN, rotate
from tests.integration.vault_kit import make_store, seen_by_reader, write_raw

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_child(server, mount: str, path: str, new: str, crash_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server.env(), "SECRETKEEPER_CRASH_AT": f"store-request:{crash_at}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    job = {"mount": mount, "path": path, "new": {"password": new}, "previous": "1"}
    return subprocess.run([sys.executable, "-m", "tests.integration.vault_crash_run"], input=json.dumps(job),
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_rotation_killed_after_any_store_request_keeps_the_last_good_value_and_resumes(vault_server,
                                                                                        vault_mount):
    crash_at = 1
    while True:
        path = f"crash/{crash_at}"
        old, new = make_token(), make_token()
        write_raw(vault_server, vault_mount, path, {"password": old})
        child = run_child(vault_server, vault_mount, path, new, crash_at)
        if child.returncode == 0:
            break  # the rotation needs fewer requests than that: every one of them was a crash point
        assert child.returncode == 137, child.stderr[-2000:]
        assert old not in child.stdout + child.stderr and new not in child.stdout + child.stderr

        fresh = make_store(vault_server, vault_mount)
        current = fresh.read(path)
        assert (current.version, current.data) in [("1", {"password": old.encode()}),
                                                   ("2", {"password": new.encode()})], crash_at
        assert seen_by_reader(vault_server, vault_mount, path) == (int(current.version),
                                                                    {"password": current.data["password"].decode()})
        held = fresh.journal(path).read()  # parses, whatever instant the crash hit
        assert held is None or held.token == TOKEN

        rotate(fresh, path, {"password": new.encode()}, "1")
        assert seen_by_reader(vault_server, vault_mount, path) == (2, {"password": new}), crash_at
        assert fresh.journal(path).read() is None
        assert fresh.status([path])[path].in_progress is False
        crash_at += 1
    assert crash_at > 12, "the rotation made fewer store requests than expected: is the crash point reached?"
    assert seen_by_reader(vault_server, vault_mount, path) == (2, {"password": new})
