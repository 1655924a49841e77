"""The rotation state machine in one process, against the in-memory store: what a user sees of a
rotation that works, one whose new credential fails verification, one that races another rotator or a
person, and locks left by dead or expired holders."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from providers.base import ISSUERS, JournalRecord, SecretVersion, Step
from providers.errors import StoreError, VerifyFailed
from secretkeeper.config import Config, load_config
from secretkeeper.config.invalid import Invalid
from secretkeeper.config.secrets import SecretConfig, dependency_order
from secretkeeper.rotation.audit import Audit
from secretkeeper.rotation.engine import Outcome, rotate
from secretkeeper.rotation.run import run_rotations
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring
from tests.rotation.conftest import CONFIG, manifest_data, manifest_version
from tests.rotation.memstore import MemoryStore


@dataclass
class Run:
    wiring: Wiring
    store: MemoryStore
    audit_file: Any
    progress: io.StringIO = field(default_factory=io.StringIO)

    def trail(self) -> Trail:
        return Trail(Audit(self.audit_file, stdout=False), progress=self.progress)

    def rotate(self, name: str = "app-db", **kwargs: Any):
        return rotate(self.wiring.subject(name), self.trail(), **kwargs)

    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_file.read_text().splitlines()]


@pytest.fixture
def run(tmp_path) -> Run:
    (tmp_path / "secretkeeper.yaml").write_text(CONFIG)
    store = MemoryStore()
    return Run(Wiring(load_config(tmp_path / "secretkeeper.yaml"), stores={"local": store}), store,
               tmp_path / "audit.jsonl")


def manifest(run: Run):
    return run.wiring.base / "out/secrets/app-db.yaml"


class VerifyFails:
    """Wraps an issuer: its new credentials never work; records what it was asked to retire."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.retired = inner, []
        self.grace = inner.grace

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def verify(self, data):
        raise VerifyFailed("app-db: the new password is refused by the database")

    def retire(self, old: SecretVersion) -> None:
        self.retired.append(old.version)


def test_a_rotation_makes_a_new_current_version_synced_annotated_and_audited(run):
    first = run.rotate()
    assert first.outcome is Outcome.ROTATED and first.message == "version (none) -> 1"
    old = run.store.values("apps/db")
    second = run.rotate()
    assert second.outcome is Outcome.ROTATED and second.message == "version 1 -> 2"
    new = run.store.values("apps/db")
    assert new != old and len(new["password"]) == 40
    status = run.store.status(["apps/db"])["apps/db"]
    assert (status.current, status.previous, status.in_progress) == ("2", "1", False)
    notes = status.metadata
    assert set(notes) == {"last-rotated", "next-due", "rotation-id", "issuer"} and notes["issuer"] == "random"
    rotated = datetime.fromisoformat(notes["last-rotated"])
    wait = datetime.fromisoformat(notes["next-due"]) - rotated
    assert timedelta(days=30) <= wait <= timedelta(days=30, hours=1)  # every 30d plus the policy's jitter
    assert manifest_data(manifest(run)) == new and manifest_version(manifest(run)) == "2"
    steps = [r["step"] for r in run.audit() if r["versions"].get("previous") == "1"]
    assert steps == ["staged", "verified", "synced", "promoted", "annotated", "retired", "done"]
    assert all(new["password"].decode() not in json.dumps(r) for r in run.audit())


def test_a_failed_verify_rolls_back_to_the_old_value_everywhere(run):
    run.rotate()
    old = run.store.values("apps/db")
    subject = run.wiring.subject("app-db")
    subject.issuer = VerifyFails(subject.issuer)
    result = run.rotate()
    assert result.outcome is Outcome.ROLLED_BACK and result.failed
    assert "refused by the database" in result.message and "rolled back to 1" in result.message
    assert run.store.values("apps/db") == old
    assert run.store.versions("apps/db") == ["1"]  # the staged version is discarded
    assert subject.issuer.retired == ["2"]  # and the new credential retired where it was issued
    assert manifest_data(manifest(run)) == old
    assert not run.store.status(["apps/db"])["apps/db"].in_progress
    assert [r["step"] for r in run.audit()][-2:] == ["failed", "rolled_back"]


def test_a_failed_first_rotation_leaves_the_secret_absent_and_no_target(run):
    subject = run.wiring.subject("app-db")
    subject.issuer = VerifyFails(subject.issuer)
    assert run.rotate().outcome is Outcome.ROLLED_BACK
    assert run.store.status(["apps/db"])["apps/db"].exists is False
    assert not manifest(run).exists()


def test_a_target_that_cannot_be_written_is_rolled_back_by_the_run_after_it_is_fixed(run):
    run.rotate()
    old = run.store.values("apps/db")
    manifest(run).unlink()
    manifest(run).mkdir()  # a folder where the file goes: neither the new value nor the old can be written
    result = run.rotate()
    assert result.outcome is Outcome.INCOMPLETE and result.failed
    assert "is a directory" in result.message and "the next run rolls back" in result.message
    assert run.store.values("apps/db") == old
    assert run.store.journal("apps/db").read().step is Step.ROLLED_BACK
    manifest(run).rmdir()
    again = run.rotate()
    assert again.outcome is Outcome.ROLLED_BACK and "is a directory" in again.message  # the error it undid
    assert run.store.versions("apps/db") == ["1"] and manifest_data(manifest(run)) == old
    assert run.store.journal("apps/db").read() is None


def test_a_person_changing_the_secret_mid_rotation_wins(run):
    """Promotion is a compare-and-set: a value written meanwhile is not overwritten, and the targets end on
    it."""
    run.rotate()
    store = run.store
    real_promote = store.promote

    def promote_after_a_person(path, version, *, expect_current):
        person = store.stage(path, {"password": b"set-by-a-person-Qw81"}, token="person")
        real_promote(path, person.version, expect_current=expect_current)
        real_promote(path, version, expect_current=expect_current)

    store.promote = promote_after_a_person
    result = run.rotate()
    assert result.outcome is Outcome.ROLLED_BACK and "current version is" in result.message
    assert store.values("apps/db") == {"password": b"set-by-a-person-Qw81"}
    assert manifest_data(manifest(run)) == store.values("apps/db")


def test_a_promote_that_answered_with_an_error_but_happened_is_finished_not_rolled_back(run):
    run.rotate()
    store = run.store
    real_promote = store.promote

    def promote_then_time_out(path, version, *, expect_current):
        real_promote(path, version, expect_current=expect_current)
        raise StoreError("local: apps/db: promote timed out")

    store.promote = promote_then_time_out
    result = run.rotate()
    assert result.outcome is Outcome.ROTATED
    assert store.status(["apps/db"])["apps/db"].current == "2" and store.versions("apps/db") == ["1", "2"]
    assert manifest_data(manifest(run)) == store.values("apps/db")


def holder_record(**changes: Any) -> JournalRecord:
    at = datetime.now(UTC)
    base = dict(secret="app-db", step=Step.STARTED, token="t-other", holder="ops@elsewhere pid 77",
                started=at, updated=at, host="elsewhere", pid=77, lease_until=at + timedelta(minutes=10))
    return JournalRecord(**{**base, **changes})


def test_a_live_holder_keeps_the_lock_and_the_loser_says_who(run):
    run.rotate()
    run.store.set_journal("apps/db", holder_record())
    result = run.rotate()
    assert result.outcome is Outcome.HELD and not result.failed
    assert "held by ops@elsewhere pid 77" in result.message
    assert run.store.status(["apps/db"])["apps/db"].current == "1"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("stale", [
    {"host": socket.gethostname(), "pid": "dead"},  # its process is gone: at once, lease or not
    {"lease_until": datetime.now(UTC) - timedelta(seconds=1)},  # on another host, lease expired
])
def test_a_dead_or_expired_holder_is_taken_over_and_its_rotation_finished(run, stale):
    run.rotate()
    if stale.get("pid") == "dead":
        stale = {**stale, "pid": dead_pid()}
    staged = run.store.stage("apps/db", {"password": b"staged-by-the-dead-one-K2"}, token="t-other")
    run.store.set_journal("apps/db", holder_record(step=Step.STAGED, pending=staged.version, previous="1", **stale))
    result = run.rotate()
    assert result.outcome is Outcome.ROTATED, result.message
    assert run.store.values("apps/db") == {"password": b"staged-by-the-dead-one-K2"}  # resumed, not redone
    assert "left by ops@elsewhere pid" in run.progress.getvalue()


def test_a_holder_that_lost_its_lock_stops_without_undoing_the_new_holders_work(run):
    run.rotate()
    store = run.store
    journal = store.journal("apps/db")
    real_write = journal.write
    stolen = {"done": False}

    def write(record, *, expect):
        if record.step is Step.VERIFIED and not stolen["done"]:
            stolen["done"] = True
            real_write(replace(record, holder="ops@elsewhere pid 9", host="elsewhere"), expect=expect)
        return real_write(record, expect=expect)

    journal.write = write
    store.journal = lambda path: journal
    result = run.rotate()
    assert result.outcome is Outcome.INCOMPLETE and "lost the lock" in result.message
    assert "ops@elsewhere pid 9" in result.message
    assert store.status(["apps/db"])["apps/db"].current == "1" and store.versions("apps/db") == ["1", "2"]


def test_a_secret_rotated_by_another_run_meanwhile_is_not_rotated_again(run):
    run.rotate()
    seen = run.store.status(["apps/db"])["apps/db"]
    run.rotate()  # another run, between our status and our lock
    result = run.rotate(decided_on=seen)
    assert result.outcome is Outcome.SKIPPED and "meanwhile" in result.message
    assert run.store.versions("apps/db") == ["1", "2"]


def test_a_rotation_seen_in_progress_and_finished_before_the_lock_is_not_started_again(run):
    """Between another run's promotion and its journal cleared, the status says `in progress` (its notes
    may still say the secret is due): the run that saw it must not rotate once more."""
    run.rotate()
    seen = replace(run.store.status(["apps/db"])["apps/db"], in_progress=True, current="2")
    run.rotate()  # the run that was in progress finishes: version 2, journal cleared
    result = run.rotate(decided_on=seen)
    assert result.outcome is Outcome.SKIPPED and "meanwhile" in result.message
    assert run.store.versions("apps/db") == ["1", "2"]


def test_with_a_grace_period_the_previous_credential_is_retired_by_a_later_run(run):
    run.rotate()
    subject = run.wiring.subject("app-db")
    retired: list[str] = []
    subject.issuer.grace = timedelta(hours=1)
    subject.issuer.retire = lambda old: retired.append(old.version)
    first = run.rotate()
    assert first.outcome is Outcome.ROTATED and "retired after" in first.message and retired == []
    assert run.store.status(["apps/db"])["apps/db"].in_progress  # the journal remembers what to retire
    waiting = run.rotate()
    assert waiting.outcome is Outcome.SKIPPED and "retired after" in waiting.message
    record = run.store.journal("apps/db").read()
    run.store.set_journal("apps/db", replace(record, updated=record.updated - timedelta(hours=2)))
    finished = run.rotate()
    assert finished.outcome is Outcome.ROTATED and retired == ["1"]
    assert not run.store.status(["apps/db"])["apps/db"].in_progress


# -- dependency order ----------------------------------------------------------------------------------

@dataclass
class NeedsAdmin:
    """An issuer section that names another managed secret, as `postgres` (`admin: pg-admin`) will."""

    secret_refs: ClassVar[tuple[str, ...]] = ("admin",)
    type: str = "test-needs-admin"
    admin: str = ""


class NeedsAdminIssuer:
    grace = timedelta(0)

    def __init__(self, secret, managed):
        self.secret, self.managed = secret, managed

    def keys(self):
        return ["password"]

    def describe(self):
        return "test"

    def needs(self):
        return [f"the admin credential {self.secret.issuer.admin}"]

    def issue(self, current):
        admin = self.managed.current(self.secret.issuer.admin)  # NotFound if the admin came second
        assert admin.data["value"]
        return {"password": b"made-with-the-admin-Lp3"}

    def verify(self, data):
        pass

    def retire(self, old):
        pass


ISSUERS.register("test-needs-admin")(NeedsAdminIssuer)


def test_a_fresh_config_issues_a_secret_after_the_one_its_issuer_needs(tmp_path):
    from secretkeeper.config.secrets import RandomIssuer

    secrets = [SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=NeedsAdmin(admin="pg-admin")),
               SecretConfig(name="pg-admin", store="local", path="admin/pg", issuer=RandomIssuer(type="random"))]
    cfg = Config(secrets=secrets)
    store = MemoryStore()
    wiring = Wiring(cfg, stores={"local": store})
    trail = Trail(Audit(None, stdout=False), progress=io.StringIO())
    results = run_rotations(wiring, trail, wiring.select([]), force=False, now=datetime.now(UTC))
    assert [(r.secret, r.outcome) for r in results] == [("pg-admin", Outcome.ROTATED),
                                                        ("orders-db", Outcome.ROTATED)]
    assert store.values("apps/orders") == {"password": b"made-with-the-admin-Lp3"}


def test_secrets_that_need_each_other_are_a_config_error():
    secrets = [SecretConfig(name=n, store="local", path=n, issuer=NeedsAdmin(admin=a))
               for n, a in (("a", "b"), ("b", "c"), ("c", "a"))]
    with pytest.raises(Invalid, match="secrets need each other in a cycle: a -> b -> c -> a"):
        dependency_order(secrets)
    assert [s.name for s in dependency_order(secrets[:2])] == ["b", "a"]


def test_a_scheduled_run_with_nothing_due_asks_each_store_once(tmp_path):
    """`rotate --due` every few minutes over many secrets: one status request per store, no reads."""
    body = "".join(f"  - {{name: s{i}, store: local, path: apps/s{i}, issuer: {{type: random}}, rotate: {{every: 30d}}}}\n"
                   for i in range(50))
    (tmp_path / "secretkeeper.yaml").write_text("stores:\n  local: {type: local}\nsecrets:\n" + body)
    store = MemoryStore()
    wiring = Wiring(load_config(tmp_path / "secretkeeper.yaml"), stores={"local": store})
    trail = Trail(Audit(None, stdout=False), progress=io.StringIO())
    first = run_rotations(wiring, trail, wiring.select([]), force=False, now=datetime.now(UTC))
    assert {r.outcome for r in first} == {Outcome.ROTATED}  # bootstrap: all fifty issued
    store.requests.clear()
    again = run_rotations(wiring, trail, wiring.select([]), force=False, now=datetime.now(UTC))
    assert {r.outcome for r in again} == {Outcome.SKIPPED} and store.requests == ["status"]
