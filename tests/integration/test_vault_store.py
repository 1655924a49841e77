"""The Vault KV v2 store against a real Vault-API server (the OpenBao dev server, or VAULT_ADDR): the
staged protocol as readers of the secret see it, compare-and-set on the data path and on the journal,
bootstrap, and every method safe to repeat."""

from __future__ import annotations

import threading

import pytest
import requests

from providers.base import Step
from providers.errors import Conflict, NotFound, StoreError
from tests.conftest import make_token
from tests.integration.vault_kit import listed, make_store, record, seen_by_reader, write_raw

pytestmark = pytest.mark.integration

PATH = "apps/payments/db"


def test_a_rotation_round_trip_keeps_the_old_value_readable_until_promote(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    old, new = make_token(), make_token()
    write_raw(vault_server, vault_mount, PATH, {"password": old})
    journal = store.journal(PATH)
    started = record(previous="1")
    journal.write(started, expect=None)

    staged = store.stage(PATH, {"password": new.encode()}, token=started.token)
    assert staged.version == "2" and staged.data == {"password": new.encode()}
    assert seen_by_reader(vault_server, vault_mount, PATH) == (1, {"password": old})
    assert store.read(PATH).data == {"password": old.encode()}
    assert store.staged(PATH, started.token).data == {"password": new.encode()}

    store.promote(PATH, staged.version, expect_current="1")
    assert seen_by_reader(vault_server, vault_mount, PATH) == (2, {"password": new})
    current = store.read(PATH)
    assert (current.version, current.data, current.stages) == ("2", {"password": new.encode()}, {"current"})
    assert store.read(PATH, "1").data == {"password": old.encode()}
    assert store.status([PATH])[PATH].in_progress

    journal.clear(expect=started)
    status = store.status([PATH])[PATH]
    assert (status.exists, status.current, status.in_progress) == (True, "2", False)
    assert journal.read() is None


def test_a_staged_value_is_invisible_to_every_reader_of_the_secret_and_its_folder(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    old, pending = make_token(), make_token()
    write_raw(vault_server, vault_mount, PATH, {"password": old})
    store.stage(PATH, {"password": pending.encode()}, token="rot-1")

    assert seen_by_reader(vault_server, vault_mount, PATH) == (1, {"password": old})
    # External Secrets' dataFrom.find walks the folder: only the secret is there, no journal beside it
    assert listed(vault_server, vault_mount, "apps/payments") == ["db"]
    assert "secretkeeper-rotation/" in listed(vault_server, vault_mount, "")
    status = store.status([PATH])[PATH]
    assert (status.current, status.in_progress) == ("1", True)


def test_promote_loses_to_a_write_made_after_staging_and_overwrites_nothing(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, PATH, {"password": make_token()})
    staged = store.stage(PATH, {"password": make_token().encode()}, token="rot-1")
    theirs = make_token()
    assert write_raw(vault_server, vault_mount, PATH, {"password": theirs}) == 2  # a person, meanwhile

    with pytest.raises(Conflict) as lost:
        store.promote(PATH, staged.version, expect_current="1")
    assert "nothing was overwritten" in str(lost.value)
    assert seen_by_reader(vault_server, vault_mount, PATH) == (2, {"password": theirs})
    with pytest.raises(Conflict):
        store.promote(PATH, staged.version, expect_current="2")  # staged on 1: it would replace theirs

    store.discard(PATH, staged.version)
    assert store.staged(PATH, "rot-1") is None
    assert seen_by_reader(vault_server, vault_mount, PATH) == (2, {"password": theirs})


def test_bootstrap_stages_without_creating_the_secret_and_promote_creates_version_1(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    with pytest.raises(NotFound):
        store.read(PATH)
    first = make_token()
    staged = store.stage(PATH, {"password": first.encode()}, token="boot-1")
    assert staged.version == "1"
    assert seen_by_reader(vault_server, vault_mount, PATH) is None
    assert store.status([PATH])[PATH].exists is False

    store.promote(PATH, staged.version, expect_current=None)
    assert seen_by_reader(vault_server, vault_mount, PATH) == (1, {"password": first})


def test_bootstrap_loses_to_a_secret_created_meanwhile(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    staged = store.stage(PATH, {"password": make_token().encode()}, token="boot-1")
    theirs = make_token()
    write_raw(vault_server, vault_mount, PATH, {"password": theirs})
    with pytest.raises(Conflict):
        store.promote(PATH, staged.version, expect_current=None)
    assert seen_by_reader(vault_server, vault_mount, PATH) == (1, {"password": theirs})


def test_a_secret_whose_current_version_was_deleted_is_bootstrapped_on_top(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, PATH, {"password": make_token()})
    vault_server.api("DELETE", f"{vault_mount}/data/{PATH}")  # soft delete of the latest version
    with pytest.raises(NotFound, match="deleted"):
        store.read(PATH)
    staged = store.stage(PATH, {"password": make_token().encode()}, token="boot-1")
    store.promote(PATH, staged.version, expect_current=None)
    assert store.read(PATH).version == "2"


def test_every_method_is_safe_to_repeat(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, PATH, {"password": make_token()})
    new = make_token().encode()
    journal = store.journal(PATH)
    started = record(previous="1")
    for _ in range(2):
        journal.write(started, expect=None)
    first = store.stage(PATH, {"password": new}, token="rot-1")
    again = store.stage(PATH, {"password": b"another value"}, token="rot-1")
    assert (again.version, again.data) == (first.version, {"password": new})
    staged = record(step=Step.STAGED, previous="1", pending=first.version)
    for _ in range(2):
        journal.write(staged, expect=started)

    for _ in range(2):
        store.promote(PATH, first.version, expect_current="1")
    assert store.staged(PATH, "rot-1").data == {"password": new}  # what rot-1 staged, now current
    assert store.stage(PATH, {"password": b"late"}, token="rot-1").version == "2"
    store.discard(PATH, first.version)  # already promoted: nothing to discard
    for _ in range(2):
        store.annotate(PATH, {"last-rotated": "2026-03-01T12:00:00+00:00", "rotation-id": "rot-1"})
    for _ in range(2):
        journal.clear(expect=staged)
    store.promote(PATH, first.version, expect_current="1")  # after the journal ended: still current

    metadata = vault_server.api("GET", f"{vault_mount}/metadata/{PATH}")["data"]
    assert metadata["current_version"] == 2  # one new version, whatever was repeated
    assert store.read(PATH).data == {"password": new}
    assert store.status([PATH])[PATH].metadata == {"last-rotated": "2026-03-01T12:00:00+00:00",
                                                   "rotation-id": "rot-1"}


def test_discard_drops_the_pending_value_and_repeats_as_a_no_op(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, PATH, {"password": "old"})
    journal = store.journal(PATH)
    journal.write(record(), expect=None)
    staged = store.stage(PATH, {"password": make_token().encode()}, token="rot-1")
    for _ in range(2):
        store.discard(PATH, staged.version)
    assert store.staged(PATH, "rot-1") is None
    assert journal.read() == record()  # the lock stays until the rotation clears it
    with pytest.raises(NotFound):
        store.promote(PATH, staged.version, expect_current="1")
    assert seen_by_reader(vault_server, vault_mount, PATH) == (1, {"password": "old"})


def race_for_the_journal(stores: list, path: str, records: list) -> list[object]:
    """Each store writes its record with expect=None at the same instant: "won" or the Conflict raised."""
    barrier = threading.Barrier(len(stores))
    outcome: list[object] = [None] * len(stores)

    def run(i: int) -> None:
        journal = stores[i].journal(path)
        journal.read()  # warm: all stand at the compare-and-set together
        barrier.wait()
        try:
            journal.write(records[i], expect=None)
            outcome[i] = "won"
        except Conflict as lost:
            outcome[i] = lost

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome


def test_two_rotators_racing_for_the_journal_exactly_one_wins_and_the_loser_learns_who(vault_server,
                                                                                        vault_mount):
    stores = [make_store(vault_server, vault_mount) for _ in range(2)]
    for round_ in range(8):
        path = f"race/{round_}"
        mine = [record(token=f"rot-{round_}-{i}", holder=f"runner-{i}") for i in range(2)]
        outcome = race_for_the_journal(stores, path, mine)
        assert sorted(o == "won" for o in outcome) == [False, True], outcome
        winner = outcome.index("won")
        loser = outcome[1 - winner]
        assert isinstance(loser, Conflict) and loser.holder == mine[winner]
        assert f"runner-{winner}" in str(loser)
        with pytest.raises(Conflict) as refused:  # the loser cannot stage under the winner's lock
            stores[1 - winner].stage(path, {"k": b"v"}, token=mine[1 - winner].token)
        assert refused.value.holder == mine[winner]


def test_the_journal_is_taken_over_only_from_the_record_read(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    journal = store.journal(PATH)
    dead = record(holder="runner-a")
    journal.write(dead, expect=None)
    taker = record(token="rot-2", holder="runner-b")
    journal.write(taker, expect=dead)
    with pytest.raises(Conflict) as late:
        journal.write(record(token="rot-3", holder="runner-c"), expect=dead)
    assert late.value.holder == taker
    with pytest.raises(Conflict):
        journal.clear(expect=dead)
    journal.clear(expect=taker)
    journal.write(record(token="rot-4"), expect=None)  # free again: the lock works after a clear


def test_the_journal_keeps_no_pending_value_in_its_history(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    journal_path = f"secretkeeper-rotation/{PATH}"
    journal = store.journal(PATH)
    started = record()
    journal.write(started, expect=None)
    pending = make_token()
    staged = store.stage(PATH, {"password": pending.encode()}, token=started.token)
    store.promote(PATH, staged.version, expect_current=None)

    meta = vault_server.api("GET", f"{vault_mount}/metadata/{journal_path}")["data"]
    assert meta["max_versions"] == 1 and list(meta["versions"]) == [str(meta["current_version"])]
    current = vault_server.api("GET", f"{vault_mount}/data/{journal_path}")["data"]["data"]
    assert pending not in str(current)  # promoted: the value lives at the data path only

    journal.clear(expect=started)
    meta = vault_server.api("GET", f"{vault_mount}/metadata/{journal_path}")["data"]
    assert all(v["destroyed"] for v in meta["versions"].values())


def test_status_reports_each_secret_without_reading_values(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, "apps/a", {"k": "1"})
    write_raw(vault_server, vault_mount, "apps/a", {"k": "2"})
    store.stage("apps/b", {"k": b"new"}, token="boot-b")
    status = store.status(["apps/a", "apps/b", "apps/none"])
    assert (status["apps/a"].exists, status["apps/a"].current, status["apps/a"].in_progress) == (True, "2", False)
    assert status["apps/a"].updated is not None
    assert (status["apps/b"].exists, status["apps/b"].in_progress) == (False, True)
    assert (status["apps/none"].exists, status["apps/none"].current) == (False, None)


def test_annotate_writes_status_notes_keeps_other_metadata_and_refuses_anything_else(vault_server,
                                                                                    vault_mount):
    store = make_store(vault_server, vault_mount, max_versions=3)
    write_raw(vault_server, vault_mount, PATH, {"password": "x"})
    vault_server.api("POST", f"{vault_mount}/metadata/{PATH}", {"custom_metadata": {"owner": "team-a"},
                                                                "delete_version_after": "768h"})
    store.annotate(PATH, {"last-rotated": "2026-03-01T12:00:00+00:00", "next-due": "2026-03-31T12:00:00+00:00",
                          "issuer": "random"})
    meta = vault_server.api("GET", f"{vault_mount}/metadata/{PATH}")["data"]
    assert meta["custom_metadata"] == {"owner": "team-a", "last-rotated": "2026-03-01T12:00:00+00:00",
                                       "next-due": "2026-03-31T12:00:00+00:00", "issuer": "random"}
    assert (meta["max_versions"], meta["delete_version_after"]) == (3, "768h0m0s")  # a team's setting kept
    assert store.status([PATH])[PATH].metadata == {"last-rotated": "2026-03-01T12:00:00+00:00",
                                                   "next-due": "2026-03-31T12:00:00+00:00", "issuer": "random"}

    canary = make_token()
    for notes, key in (({"password": canary}, "password"), ({"next-due": canary}, "next-due"),
                       ({"issuer": f"random {canary}"}, "issuer")):
        with pytest.raises(StoreError) as refused:
            store.annotate(PATH, notes)
        assert repr(key) in str(refused.value) and canary not in str(refused.value)
    with pytest.raises(NotFound):
        store.annotate("apps/none", {"issuer": "random"})
    assert listed(vault_server, vault_mount, "apps") == ["payments/"]  # no empty secret was created


def test_reading_versions_given_pending_and_missing(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    write_raw(vault_server, vault_mount, PATH, {"password": "one"})
    staged = store.stage(PATH, {"password": b"two"}, token="rot-1")
    assert store.read(PATH, "1").data == {"password": b"one"}
    pending = store.read(PATH, staged.version)
    assert (pending.data, pending.stages) == ({"password": b"two"}, {"pending"})
    for missing in ("7", "0", "latest"):
        with pytest.raises(NotFound):
            store.read(PATH, missing)


def test_values_must_be_utf8_text_both_ways(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    with pytest.raises(StoreError, match=r"'cert'.*not UTF-8"):
        store.stage(PATH, {"cert": b"\xff\xfe"}, token="rot-1")
    assert store.status([PATH])[PATH].in_progress is False  # refused before any write
    write_raw(vault_server, vault_mount, PATH, {"port": 5432})  # another tool wrote a number
    with pytest.raises(StoreError, match="'port' is not a string"):
        store.read(PATH)


def test_a_foreign_document_at_the_journal_path_is_refused_without_echoing_it(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    canary = make_token()
    write_raw(vault_server, vault_mount, f"secretkeeper-rotation/{PATH}", {"note": canary})
    with pytest.raises(StoreError) as refused:
        store.stage(PATH, {"k": b"v"}, token="rot-1")
    message = str(refused.value)
    assert "not a secretkeeper rotation journal" in message and canary not in message
    assert "\n" not in message


def test_paths_that_are_not_plain_or_lie_in_the_journal_subtree_are_refused(vault_server, vault_mount):
    store = make_store(vault_server, vault_mount)
    for bad in ("secretkeeper-rotation/apps/db", "apps/../db", "", "apps//db"):
        with pytest.raises(StoreError):
            store.read(bad)
    assert store.status(["/apps/db/"])["/apps/db/"].exists is False  # surrounding slashes are fine


def test_a_kv_version_1_mount_is_refused_before_anything_is_written(vault_server):
    mount = f"sk-test-v1-{make_token()[-8:].lower()}"
    vault_server.api("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "1"}})
    try:
        store = make_store(vault_server, mount)
        with pytest.raises(StoreError, match="KV version 1, not KV version 2"):
            store.journal(PATH).write(record(), expect=None)
        nothing = requests.request("LIST", f"{vault_server.address}/v1/{mount}/",
                                   headers={"X-Vault-Token": vault_server.token}, timeout=30)
        assert nothing.status_code == 404  # no key was written
    finally:
        vault_server.api("DELETE", f"sys/mounts/{mount}")
