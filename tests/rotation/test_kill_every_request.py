"""`secretkeeper rotate` killed right after its k-th request to the store, for k = 1, 2, ... until a run
makes all its requests, then run again — on every kind of store (the MemoryStore, local, Vault through
the OpenBao dev server, AWS through moto), for a first rotation (the secret absent), a rotation, and a
key pair, each with a manifest sync target; and a `put` that fails verification, killed while it rolls
back.

After each kill: a reader gets a complete, valid version, the old one or the new one, never a mix or
nothing (once there was a value); the next run finishes the rotation or rolls it back; the secret was
rotated once, not twice; the manifest holds the store's current value and version; and no value is in
the audit log or any output.

Time: a normal rotation is killed at every request on every store; the first rotation and the key pair
at a deterministic sample of the requests on Vault and AWS (each kill costs two runs), every one on the
others. The runs are forked from the test process (`Project.run`): the same code as the command,
without a new interpreter's start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.rotation.conftest import manifest_data, manifest_version, mismatched, ok

MAX_REQUESTS = 60  # more than any rotation makes (26 on Vault): the loop ends when a run is not killed

FIRST = """\
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
"""
SECRET = """\
  - name: app-{k}
    store: local
    path: apps/db-{k}
    keys: [password]
    issuer: {{type: random, length: 40}}
    rotate: {{every: 30d}}
    sync:
      - manifest: {{dir: out/secrets}}
"""
KEYPAIR = FIRST + """\
  - name: app-0
    store: local
    path: apps/db-0
    issuer: {type: keypair, algorithm: ed25519, format: openssh}
    sync:
      - manifest: {dir: out/secrets}
"""


@dataclass(frozen=True)
class Scenario:
    config: str
    first: bool  # each kill on a secret of its own that does not exist yet
    every_request_on: frozenset[str]  # store kinds killed at every request; the others: a sample
    rollback: bool = False  # a `put` of a key pair whose halves do not match: verify fails, it rolls back


SCENARIOS = {
    "first-rotation": Scenario(FIRST + "".join(SECRET.format(k=k) for k in range(MAX_REQUESTS + 1)), True,
                               frozenset({"memory", "local"})),
    "rotation": Scenario(FIRST + SECRET.format(k=0), False, frozenset({"memory", "local", "vault", "aws"})),
    "keypair": Scenario(KEYPAIR, False, frozenset({"memory", "local"})),
    "rollback": Scenario(KEYPAIR, False, frozenset({"memory", "local"}), rollback=True),
}


def sampled(k: int) -> bool:
    """Every third request and the first two (where a run takes its lock); the last is always run, as
    the loop only ends on a run that is not killed."""
    return k <= 2 or k % 3 == 0


def valid(name: str, data: dict[str, bytes] | None) -> bool:
    """A complete version as the issuer makes it: 40 characters, or a key pair whose halves match."""
    if data is None:
        return False
    if "password" in data:
        return set(data) == {"password"} and len(data["password"]) == 40
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key, load_ssh_public_identity

    private = load_ssh_private_key(data["private_key"], None).public_key()
    return private.public_bytes_raw() == load_ssh_public_identity(data["public_key"]).public_bytes_raw()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_run_killed_after_any_store_request_is_finished_by_the_next(any_project, make_project, scenario):
    spec = SCENARIOS[scenario]
    project = make_project(spec.config, kind=any_project.kind)
    audit = ("--audit-log", "audit.jsonl")
    seen: list[bytes] = []  # every value a reader got: none may be in the audit log or any output
    outputs: list[str] = []
    if not spec.first:
        ok(project.run("rotate", "app-0", *audit))
    killed = 0
    for k in range(1, MAX_REQUESTS + 1):
        if any_project.kind not in spec.every_request_on and not sampled(k):
            continue
        name = f"app-{k}" if spec.first else "app-0"
        path = f"apps/db-{k}" if spec.first else "apps/db-0"
        before = project.store.status([path])[path]
        old = project.value(name)
        args = ("put", name) if spec.rollback else ("rotate", name, *(() if spec.first else ("--force",)))
        crashed = project.run(*args, *audit, env={"SECRETKEEPER_CRASH_AT": f"store-request:{k}"},
                              input=mismatched(old) if spec.rollback else None)
        outputs += [crashed.stdout, crashed.stderr]
        if crashed.returncode == (1 if spec.rollback else 0):
            break  # the run made fewer than k requests: every one of them was a crash point
        assert crashed.returncode == 137, (k, crashed.stderr)
        killed += 1

        now = project.value(name)  # what a reader gets at the instant of the kill
        if old is not None:
            assert now is not None, f"request {k}: the secret lost its value"
        assert now is None or valid(name, now), f"request {k}: not a complete version"
        seen += [v for v in (now or {}).values()]

        # What the schedule runs next (for a first rotation: that secret only, the others are absent too);
        # not --force: it finishes or rolls back, and rotates nothing more.
        again = project.run("rotate", *((name,) if spec.first else ("--due",)), *audit)
        outputs += [again.stdout, again.stderr]
        assert again.returncode in (0, 1), (k, again.stderr)
        after = project.store.status([path])[path]
        assert not after.in_progress, f"request {k}: the journal was left behind"
        current = project.value(name)
        assert valid(name, current), f"request {k}: no complete version after the second run"
        seen += list(current.values())
        assert manifest_data(project.manifest(name)) == current, f"request {k}: the manifest is not current"
        assert manifest_version(project.manifest(name)) == after.current
        assert now in (old, current), f"request {k}: a reader got a value that is neither the old nor the new"
        if spec.rollback:
            assert current == old and after.current == before.current, f"request {k}: not rolled back"
        if old is not None:  # rotated once (or rolled back), never twice
            assert after.current == before.current or after.previous == before.current, (k, before, after)
    else:
        pytest.fail(f"a run was still killed at request {MAX_REQUESTS}: is the loop's bound too low?")
    assert killed >= (8 if any_project.kind in spec.every_request_on else 5), \
        f"only {killed} kills: is the store-request crash point reached?"

    outputs.append((project.root / "audit.jsonl").read_text())
    for value in seen:
        assert not any(value.decode() in text for text in outputs), "a value is in the audit log or an output"
