"""The rotation commands as a user runs them: `rotate --dry-run` touches nothing, `put` takes values from
stdin or a file and never argv, `status` shows versions, dates, targets and rotations in progress, exit
codes follow the contract, and no value ever appears outside the store and the 0600 manifest."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from providers.base import JournalRecord, Step
from tests.conftest import make_token
from tests.rotation.conftest import CONFIG, KINDS, manifest_data, ok

TWO_SECRETS = CONFIG + """\
  - name: vendor-key
    store: local
    path: vendors/acme
    issuer: {type: static}
    rotate: {max_age: 90d}
    sync:
      - manifest: {dir: out/secrets}
  - name: deploy-key
    store: local
    path: ci/deploy
    issuer: {type: keypair, algorithm: ed25519, format: openssh}
"""


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on every kind of store: memory, local, Vault, AWS."""
    return request.param


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_prints_the_plan_and_touches_nothing(make_project, kind):
    project = make_project(TWO_SECRETS, kind=kind)
    before = snapshot(project.root)
    plan = ok(project.run("rotate", "--due", "--dry-run"))
    assert snapshot(project.root) == before  # no store file, no journal, no manifest
    assert not any(s.exists or s.in_progress for s in project.store.status(["apps/db", "ci/deploy"]).values())
    assert "app-db (store local, path apps/db): issue the first version" in plan.stdout
    assert "  issue:   random: 40 characters from a set of 62 into password" in plan.stdout
    assert f"  sync:    manifest {project.manifest('app-db')} (NOT ENCRYPTED)" in plan.stdout
    assert "vendor-key (store local, path vendors/acme): remind: never set: set it with " \
           "`secretkeeper put vendor-key`" in plan.stdout
    assert "  issue:   keypair: a new ed25519 key pair (openssh) into private_key, public_key" in plan.stdout
    ok(project.run("rotate", "--due"))  # every secret to its end: the key pair has no schedule
    statuses = project.store.status(["apps/db", "ci/deploy"])
    before = snapshot(project.root)
    forced = ok(project.run("rotate", "app-db", "--force", "--dry-run"))
    assert snapshot(project.root) == before and project.store.status(["apps/db", "ci/deploy"]) == statuses
    assert "app-db (store local, path apps/db): rotate: forced" in forced.stdout
    assert "  retire:  the previous version, at once" in forced.stdout
    assert ok(project.run("rotate", "app-db", "--dry-run")).stdout.startswith(
        "app-db (store local, path apps/db): nothing to do: not due (next due ")


def test_put_from_stdin_and_from_a_file_goes_through_the_staged_protocol(make_project, kind):
    project = make_project(TWO_SECRETS, kind=kind)
    first, second = make_token(), make_token()
    put = ok(project.run("put", "vendor-key", input=f"{first}\n".encode()))
    one = project.store.status(["vendors/acme"])["vendors/acme"].current
    assert f"vendor-key: rotated: version (none) -> {one}" in put.stderr
    assert project.value("vendor-key") == {"value": first.encode()}  # one trailing newline dropped
    assert manifest_data(project.manifest("vendor-key")) == {"value": first.encode()}
    (project.root / "new.json").write_text(json.dumps({"value": second}))
    ok(project.run("put", "vendor-key", "--from-file", "new.json"))
    assert project.value("vendor-key") == {"value": second.encode()}
    status = project.store.status(["vendors/acme"])["vendors/acme"]
    assert status.current != one and (status.previous, status.in_progress) == (one, False)
    shown = next(row for row in json.loads(ok(project.run("status", "-f", "json")).stdout)
                 if row["name"] == "vendor-key")
    assert (shown["current"], shown["previous"]) == (status.current, one)  # what `status` shows, too
    assert status.metadata["issuer"] == "static"


def test_put_refuses_what_does_not_fit_and_never_echoes_it(make_project, kind):
    project = make_project(TWO_SECRETS, kind=kind)
    planted = make_token()
    cases = [
        (["put", "deploy-key"], planted.encode(), "deploy-key holds keys private_key, public_key: give a JSON object"),
        (["put", "app-db"], json.dumps({"pasword": planted}).encode(), "missing password; not keys of app-db: pasword"),
        (["put", "app-db"], b'{"password": ' + planted.encode() + b"}", "stdin: not a valid JSON object"),
        (["put", "app-db"], b"", "stdin: empty input"),
        (["put", "nope"], planted.encode(), "no managed secret named 'nope'"),
    ]
    for args, stdin, message in cases:
        res = project.run(*args, input=stdin)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)
        assert planted not in res.stdout + res.stderr
    assert ok(project.run("put", "--help")).stdout.count("--from-file") >= 1


def test_a_key_pair_that_does_not_match_is_rolled_back_with_exit_1(make_project, kind):
    project = make_project(TWO_SECRETS, kind=kind)
    ok(project.run("rotate", "--due"))
    good = project.value("deploy-key")
    one = project.store.status(["ci/deploy"])["ci/deploy"].current
    other = make_project(TWO_SECRETS, name="other")
    ok(other.run("rotate", "--due"))
    mixed = {"private_key": good["private_key"].decode(), "public_key": other.value("deploy-key")["public_key"].decode()}
    res = project.run("put", "deploy-key", input=json.dumps(mixed).encode())
    assert res.returncode == 1
    assert "deploy-key: rolled_back: deploy-key: the new public key is not the private key's; rolled back to " \
           f"{one}" in res.stderr
    assert project.value("deploy-key") == good
    status = project.store.status(["ci/deploy"])["ci/deploy"]
    assert (status.current, status.in_progress) == (one, False)


def test_a_store_failure_rolls_back_with_exit_1_and_the_targets_on_the_old_value(project):
    ok(project.run("rotate", "--due"))
    old = project.value("app-db")
    res = project.run("rotate", "app-db", "--force", env={"MEMSTORE_FAIL": "promote"})
    assert res.returncode == 1, res.stderr
    assert "app-db: rolled_back: local: promote refused (MEMSTORE_FAIL); rolled back to 1" in res.stderr
    assert project.value("app-db") == old and manifest_data(project.manifest("app-db")) == old


def test_status_shows_versions_dates_targets_and_a_rotation_in_progress(make_project):
    project = make_project(TWO_SECRETS)
    ok(project.run("rotate", "--due"))
    ok(project.run("rotate", "app-db", "--force"))
    at = datetime.now(UTC)
    project.store.journal("ci/deploy").write(JournalRecord(
        secret="deploy-key", step=Step.VERIFIED, token="t1", holder="ops@runner-3 pid 4121", started=at,
        updated=at, pending="2", previous="1", host="runner-3", pid=4121, lease_until=at + timedelta(minutes=5)),
        expect=None)
    text = ok(project.run("status")).stdout
    lines = text.splitlines()
    assert lines[0] == "app-db  local:apps/db  (random)"
    assert re.match(r"  current 2 \(\d+s old\), previous 1; last rotated 20.*; next due 20", lines[1]), lines[1]
    assert lines[2] == f"  sync: manifest {project.manifest('app-db')} (NOT ENCRYPTED): in sync"
    assert "vendor-key  local:vendors/acme  (static)\n  absent: set it with `secretkeeper put vendor-key`" in text
    assert "  rotation in progress: step verified, held by ops@runner-3 pid 4121 since " in text
    rows = {row["name"]: row for row in json.loads(ok(project.run("status", "--format", "json")).stdout)}
    app = rows["app-db"]
    assert (app["current"], app["previous"], app["exists"], app["issuer"]) == ("2", "1", True, "random")
    assert app["sync"] == [{"kind": "manifest", "where": str(project.manifest("app-db")), "encrypted": False,
                            "version": "2", "in_sync": True}]
    wait = datetime.fromisoformat(app["next_due"]) - datetime.fromisoformat(app["last_rotated"])
    assert timedelta(days=30) <= wait <= timedelta(days=30, hours=1)  # every 30d plus the policy's jitter
    assert rows["deploy-key"]["in_progress"]["holder"] == "ops@runner-3 pid 4121"
    assert rows["deploy-key"]["in_progress"]["step"] == "verified"
    assert rows["vendor-key"]["exists"] is False and rows["vendor-key"]["sync"][0]["version"] is None


def test_a_due_static_secret_is_a_reminder_with_exit_0(make_project, kind):
    project = make_project(TWO_SECRETS, kind=kind)
    ok(project.run("put", "vendor-key", input=make_token().encode()))
    one = project.store.status(["vendors/acme"])["vendors/acme"].current
    long_ago = (datetime.now(UTC) - timedelta(days=100)).isoformat()
    project.store.annotate("vendors/acme", {"last-rotated": long_ago})
    res = ok(project.run("rotate", "--due", "--audit-stdout"))
    assert "vendor-key: reminder: due (max_age 90d exceeded): change it where it is issued, then " \
           "`secretkeeper put vendor-key`" in res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert {"step": "reminder", "outcome": "reminder", "secret": "vendor-key"}.items() <= \
        next(r for r in records if r["secret"] == "vendor-key").items()
    assert project.store.status(["vendors/acme"])["vendors/acme"].current == one


def test_usage_and_config_errors_exit_2_with_one_line(make_project, tmp_path):
    project = make_project()
    for args, message in [
        (["rotate"], "name the secrets to rotate, or give --due"),
        (["rotate", "--due", "--force"], "--force rotates the secrets you name"),
        (["rotate", "nope"], "no managed secret named 'nope' (declared: app-db)"),
        (["status", "--format", "xml"], "unknown format 'xml'"),
        (["status", "--config", str(tmp_path / "missing.yaml")], "missing.yaml: config file not found"),
    ]:
        res = project.run(*args)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)
        assert res.stderr.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    res = project.run("status", "--config", str(empty / "x.yaml"))
    assert res.returncode == 2
    (empty / "secretkeeper.yaml").write_text("scan: {}\n")
    res = project.run("rotate", "--due", "--config", str(empty / "secretkeeper.yaml"))
    assert res.returncode == 2 and "declares no managed secrets" in res.stderr


def test_no_value_appears_anywhere_but_the_store_and_the_0600_manifest(make_project, kind):
    """With the real local store, not even the store's files hold a value in clear: it encrypts."""
    project = make_project(TWO_SECRETS, kind=kind)
    planted = make_token()
    outputs = [project.run("put", "vendor-key", "--audit-log", "audit.jsonl", input=planted.encode())]
    outputs.append(project.run("rotate", "--due", "--audit-log", "audit.jsonl", "--audit-stdout"))
    outputs.append(project.run("rotate", "app-db", "--force", "--audit-log", "audit.jsonl",
                               env={"MEMSTORE_FAIL": "promote"}))  # the MemoryStore fails it: a rollback
    outputs += [project.run("status"), project.run("status", "-f", "json"),
                project.run("rotate", "app-db", "--force", "--dry-run")]
    assert all(res.returncode in (0, 1) for res in outputs), [res.stderr for res in outputs]
    values = [planted.encode(), project.value("app-db")["password"], project.value("deploy-key")["private_key"]]
    store_dir = project.root / (".secretkeeper" if kind == "memory" else "nothing-excluded")
    manifests = {project.manifest("app-db"), project.manifest("vendor-key")}
    for path in manifests:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert path.read_text().startswith("# NOT ENCRYPTED")
    assert stat.S_IMODE(os.stat(project.root / "audit.jsonl").st_mode) == 0o600
    for res in outputs:
        for value in values:
            assert value.decode() not in res.stdout + res.stderr
    for path in project.root.rglob("*"):
        if path.is_file() and store_dir not in path.parents and path not in manifests:
            data = path.read_bytes()
            assert not any(value in data for value in values), path
