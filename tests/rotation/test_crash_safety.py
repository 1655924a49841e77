"""A rotation killed at any instant — after any engine step, after any single store request (in
test_kill_every_request.py), or by a real `kill -9` — on every kind of store, is resumed or rolled back by the next run: the last good value stays readable
throughout, the journal ends cleared, and every sync target ends on the current value."""

from __future__ import annotations

import os
import random
import secrets
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.rotation.conftest import CONFIG, manifest_data, manifest_version, mismatched, ok

STEPS = ["started", "issued", "staged", "verified", "synced", "promoted", "annotated", "done"]
ROTATION_STEPS = [*STEPS[:-1], "retired", "done"]  # a rotation (not a first one) retires the previous version
KEYPAIR = CONFIG + """\
  - name: deploy-key
    store: local
    path: ci/deploy
    issuer: {type: keypair, algorithm: ed25519, format: openssh}
    sync:
      - manifest: {dir: out/secrets}
"""


def settled(project, name: str = "app-db") -> dict[str, bytes]:
    """After a clean run: no rotation in progress, the target holds the current version and value."""
    status = project.store.status(["apps/db"])["apps/db"]
    assert not status.in_progress, "the journal was left behind"
    current = project.value(name)
    assert current is not None
    assert manifest_data(project.manifest(name)) == current
    assert manifest_version(project.manifest(name)) == status.current
    return current


def valid_password(data: dict[str, bytes] | None) -> bool:
    return data is not None and set(data) == {"password"} and len(data["password"]) == 40


@pytest.mark.parametrize("step", ROTATION_STEPS)
def test_a_rotation_killed_after_any_step_is_finished_by_the_next_run(any_project, step):
    ok(any_project.run("rotate", "--due"))
    old = settled(any_project)
    crashed = any_project.run("rotate", "app-db", "--force", env={"SECRETKEEPER_CRASH_AT": f"after:{step}"})
    assert crashed.returncode == 137, crashed.stderr
    readable = any_project.value("app-db")
    before_promotion = ROTATION_STEPS.index(step) < ROTATION_STEPS.index("promoted")
    assert readable == old if before_promotion else readable != old  # never an unverified value
    ok(any_project.run("rotate", "--due"))  # resumes whatever the journal says
    new = settled(any_project)
    assert new != old  # resumed forward: the rotation happened once the crash was over
    assert len(any_project.store.status(["apps/db"])) == 1


@pytest.mark.parametrize("step", STEPS)
def test_a_first_rotation_killed_after_any_step_is_finished_by_the_next_run(any_project, step):
    crashed = any_project.run("rotate", "--due", env={"SECRETKEEPER_CRASH_AT": f"after:{step}"})
    assert crashed.returncode == 137, crashed.stderr
    ok(any_project.run("rotate", "--due"))
    settled(any_project)
    ok(any_project.run("rotate", "--due"))  # and nothing more is due
    status = any_project.store.status(["apps/db"])["apps/db"]
    assert status.exists and status.previous is None  # one version


@pytest.mark.parametrize("step", ["staged", "synced", "first"])
def test_a_write_by_someone_else_after_staging_is_kept_by_the_next_run(any_project, step):
    """A person (or another tool) writes the secret while a crashed rotation holds it staged: the next run
    must not promote over it, nor take it for its own promotion (Vault numbers both version 2): it rolls
    its own staged version back, keeps theirs, and puts every target on it. `first`: the secret was
    absent, a first rotation staged version 1, and someone else created it meanwhile."""
    if step != "first":
        ok(any_project.run("rotate", "--due"))
        settled(any_project)
    args = ("rotate", "--due") if step == "first" else ("rotate", "app-db", "--force")
    crashed = any_project.run(*args, env={"SECRETKEEPER_CRASH_AT": f"after:{'synced' if step == 'first' else step}"})
    assert crashed.returncode == 137, crashed.stderr
    theirs = {"password": secrets.token_hex(20)}
    any_project.write_directly("app-db", theirs)
    again = any_project.run("rotate", "--due")
    assert again.returncode == 1 and "rolled back" in again.stderr, again.stderr
    assert settled(any_project) == {"password": theirs["password"].encode()}
    ok(any_project.run("rotate", "--due"))  # nothing left to do, and theirs stays
    assert settled(any_project) == {"password": theirs["password"].encode()}


def test_a_put_killed_before_its_value_was_stored_is_rolled_back_not_made_a_rotation(project):
    ok(project.run("rotate", "--due"))
    old = settled(project)
    crashed = project.run("put", "app-db", input=secrets.token_hex(20).encode(),
                          env={"SECRETKEEPER_CRASH_AT": "after:started"})
    assert crashed.returncode == 137
    again = ok(project.run("rotate", "--due"), 1)  # the put's value went with it: nothing to finish
    assert "was killed before its value was stored: put it again" in again.stderr
    assert settled(project) == old  # and no value issued in its place


def test_a_rollback_killed_half_way_is_finished_by_the_next_run_on_every_store(any_project, make_project):
    """A `put` whose key pair does not match fails verification and rolls back; killed right then, the
    next run finishes the rollback: the old pair stays, in the store and in the manifest."""
    project = make_project(KEYPAIR, name="keys", kind=any_project.kind)
    ok(project.run("rotate", "--due"))
    old = project.value("deploy-key")
    crashed = project.run("put", "deploy-key", input=mismatched(old),
                          env={"SECRETKEEPER_CRASH_AT": "after:rolled_back"})
    assert crashed.returncode == 137, crashed.stderr
    again = ok(project.run("rotate", "--due"), 1)  # finishing a rollback reports the failure it undid
    assert "the new public key is not the private key's" in again.stderr and "rolled back" in again.stderr
    status = project.store.status(["ci/deploy"])["ci/deploy"]
    assert project.value("deploy-key") == old and not status.in_progress
    assert manifest_data(project.manifest("deploy-key")) == old
    assert manifest_version(project.manifest("deploy-key")) == status.current


def test_a_rollback_killed_half_way_is_finished_by_the_next_run(project):
    ok(project.run("rotate", "--due"))
    old = settled(project)
    crashed = project.run("rotate", "app-db", "--force",
                          env={"MEMSTORE_FAIL": "promote", "SECRETKEEPER_CRASH_AT": "after:rolled_back"})
    assert crashed.returncode == 137
    assert manifest_data(project.manifest("app-db")) != old  # the target got the new value before promote
    again = ok(project.run("rotate", "--due"), 1)  # finishing a rollback reports the failure it undid
    assert "promote refused" in again.stderr and "rolled back" in again.stderr
    assert settled(project) == old


def test_a_real_kill_9_mid_rotation_is_finished_by_the_next_run(project):
    ok(project.run("rotate", "--due"))
    old = settled(project)
    slow = project.popen("rotate", "app-db", "--force", env={"MEMSTORE_DELAY": "0.3"})
    deadline = time.monotonic() + 60
    while not project.store.status(["apps/db"])["apps/db"].in_progress:  # mid-rotation: its journal exists
        assert slow.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.4)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=30)
    assert slow.returncode == -signal.SIGKILL
    assert project.value("app-db") is not None
    status = project.store.status(["apps/db"])["apps/db"]
    assert status.in_progress
    resumed = ok(project.run("rotate", "--due"))
    assert "left by" in resumed.stderr and f"pid {slow.pid} " in resumed.stderr  # its pid is gone: taken over
    assert settled(project) != old


def test_a_real_kill_9_at_a_random_instant_is_finished_by_the_next_run(any_project):
    """Killed at instants drawn over a whole run, start-up included (the seed is in any failure)."""
    ok(any_project.run("rotate", "--due"))
    settled(any_project)
    began = time.monotonic()
    ok(any_project.run_process("rotate", "app-db", "--force"))
    whole = time.monotonic() - began
    seed = random.randrange(1 << 32)
    draw = random.Random(seed)
    for attempt in range(3):
        before = any_project.store.status(["apps/db"])["apps/db"]
        old = any_project.value("app-db")
        run = any_project.popen("rotate", "app-db", "--force")
        kill_at = time.monotonic() + draw.uniform(0, whole)
        while time.monotonic() < kill_at:  # a reader meanwhile gets the old value or the new, whole
            assert valid_password(any_project.value("app-db")), (seed, attempt)
            time.sleep(0.02)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
        assert any_project.value("app-db") is not None, (seed, attempt)
        resumed = any_project.run("rotate", "--due")
        assert resumed.returncode == 0, (seed, attempt, resumed.stderr)
        after = any_project.store.status(["apps/db"])["apps/db"]
        assert after.current == before.current or after.previous == before.current, (seed, attempt)
        assert valid_password(settled(any_project)) and valid_password(old)


def test_two_rotators_started_together_rotate_once(any_project):
    ok(any_project.run("rotate", "--due"))
    settled(any_project)
    first = any_project.store.status(["apps/db"])["apps/db"].current
    long_ago = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    any_project.store.annotate("apps/db", {"last-rotated": long_ago})  # due now
    runs = [any_project.popen("rotate", "--due", env={"MEMSTORE_DELAY": "0.05"}) for _ in range(3)]
    outputs = [(run.wait(timeout=120), run.stderr.read().decode()) for run in runs]
    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    status = any_project.store.status(["apps/db"])["apps/db"]
    assert status.current != first and status.previous == first  # one new version, not three
    rotated = [err for _, err in outputs if "app-db: rotated" in err]
    assert len(rotated) == 1, outputs
    for _, err in outputs:
        if err not in rotated:  # the others saw the lock held, or found the work done
            assert "held by" in err or "meanwhile" in err or "rotate: 1 skipped" in err, err  # or not due any more
    settled(any_project)


def test_first_runs_started_together_write_one_version(any_project):
    runs = [any_project.popen("rotate", "--due", env={"MEMSTORE_DELAY": "0.05"}) for _ in range(3)]
    outputs = [(run.wait(timeout=120), run.stderr.read().decode()) for run in runs]
    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    status = any_project.store.status(["apps/db"])["apps/db"]
    assert status.exists and status.previous is None  # one version, not three
    assert sum("app-db: rotated" in err for _, err in outputs) == 1, outputs
    settled(any_project)
