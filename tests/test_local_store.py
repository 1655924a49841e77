"""The local store keeps the staged protocol the rotation engine relies on: a staged value is invisible
until promoted, promote is a compare-and-set, every call is safe to repeat, the history is bounded, and
nothing it writes holds a value in clear or is open to other users."""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from providers.base import JournalRecord, Step
from providers.errors import Conflict, NotFound, StoreError
from tests.localstore import build, written_files

PATH = "prod/payments/db"


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("SECRETKEEPER_LOCAL_KEY", raising=False)


@pytest.fixture
def store(tmp_path):
    return build(tmp_path / "store")


def put(store, path, data, token):
    """Stage and promote over whatever is current."""
    try:
        current = store.read(path).version
    except NotFound:
        current = None
    version = store.stage(path, data, token=token)
    store.promote(path, version.version, expect_current=current)
    return version


def test_a_value_round_trips_key_by_key_as_bytes(store):
    data = {"username": b"svc-orders", "password": b"\x00\xffbinary\n", "empty": b""}
    version = put(store, PATH, data, "t1")
    got = store.read(PATH)
    assert got.data == data and got.version == version.version and got.stages == {"current"}
    assert store.read(PATH, version.version).data == data


def test_bootstrap_a_staged_first_version_is_invisible_until_promoted(store):
    with pytest.raises(NotFound, match="no such secret"):
        store.read(PATH)
    staged = store.stage(PATH, {"password": b"first"}, token="t1")
    assert staged.stages == {"pending"}
    with pytest.raises(NotFound, match=f"local store 'local': {PATH}: no current version"):
        store.read(PATH)
    status = store.status([PATH])[PATH]
    assert (status.exists, status.current, status.in_progress) == (False, None, True)
    store.promote(PATH, staged.version, expect_current=None)
    assert store.read(PATH).data == {"password": b"first"}
    status = store.status([PATH])[PATH]
    assert (status.exists, status.current, status.in_progress) == (True, staged.version, False)


def test_a_staged_version_is_invisible_until_promoted_then_the_old_one_is_previous(store):
    old = put(store, PATH, {"password": b"old"}, "t1")
    new = store.stage(PATH, {"password": b"new"}, token="t2")
    assert store.read(PATH).data == {"password": b"old"}
    assert store.read(PATH, new.version).data == {"password": b"new"}  # by id, as the engine verifies it
    store.promote(PATH, new.version, expect_current=old.version)
    assert store.read(PATH).data == {"password": b"new"}
    assert store.read(PATH, old.version).stages == {"previous"}
    status = store.status([PATH])[PATH]
    assert (status.current, status.previous) == (new.version, old.version)


def test_promote_is_a_compare_and_set(store):
    first = put(store, PATH, {"password": b"a"}, "t1")
    mine = store.stage(PATH, {"password": b"mine"}, token="t2")
    theirs = put(store, PATH, {"password": b"theirs"}, "t3")  # a person moved it meanwhile
    with pytest.raises(Conflict, match=f"current version is {theirs.version}, expected {first.version}"):
        store.promote(PATH, mine.version, expect_current=first.version)
    assert store.read(PATH).data == {"password": b"theirs"}
    with pytest.raises(Conflict):
        store.promote(PATH, mine.version, expect_current=None)  # a bootstrap that lost to a first write
    with pytest.raises(NotFound, match="no version 99"):
        store.promote(PATH, "99", expect_current=theirs.version)


def test_every_call_is_safe_to_repeat(store):
    old = put(store, PATH, {"password": b"old"}, "t1")
    staged = store.stage(PATH, {"password": b"new"}, token="t2")
    again = store.stage(PATH, {"password": b"other"}, token="t2")  # a retry after a crash
    assert again.version == staged.version and again.data == {"password": b"new"}
    assert store.staged(PATH, "t2").data == {"password": b"new"}
    assert store.staged(PATH, "never") is None and store.staged("absent/path", "t2") is None
    store.promote(PATH, staged.version, expect_current=old.version)
    store.promote(PATH, staged.version, expect_current=old.version)  # already current: nothing to do
    assert store.staged(PATH, "t2").stages == {"current"}  # a resumed run finds what it staged
    assert store.stage(PATH, {"password": b"x"}, token="t2").version == staged.version
    abandoned = store.stage(PATH, {"password": b"abandoned"}, token="t3")
    store.discard(PATH, abandoned.version)
    store.discard(PATH, abandoned.version)
    store.discard("absent/path", "1")
    assert store.staged(PATH, "t3") is None
    with pytest.raises(NotFound):
        store.read(PATH, abandoned.version)
    assert store.status([PATH])[PATH].in_progress is False
    assert store.read(PATH).data == {"password": b"new"}


def test_the_current_version_cannot_be_discarded(store):
    current = put(store, PATH, {"password": b"a"}, "t1")
    with pytest.raises(StoreError, match=f"version {current.version} is current"):
        store.discard(PATH, current.version)
    assert store.read(PATH).data == {"password": b"a"}


def test_history_is_bounded_but_current_previous_and_pending_are_kept(tmp_path):
    store = build(tmp_path / "store", max_versions=3)
    pending = store.stage(PATH, {"password": b"pending"}, token="early")  # staged, never promoted
    versions = [put(store, PATH, {"password": b"v%d" % i}, f"t{i}") for i in range(6)]
    kept = sorted(p.name for p in (tmp_path / "store").rglob("*.enc"))
    assert kept == sorted(f"{v}.enc" for v in [pending.version, *(v.version for v in versions[-3:])])
    assert store.read(PATH, pending.version).data == {"password": b"pending"}
    with pytest.raises(NotFound):
        store.read(PATH, versions[0].version)
    # A rollback to the previous version keeps both ends readable.
    store.promote(PATH, versions[-2].version, expect_current=versions[-1].version)
    assert store.read(PATH).data == {"password": b"v4"}
    assert store.read(PATH, versions[-1].version).stages == {"previous"}


def test_status_reads_metadata_only_and_annotate_merges_notes(tmp_path, monkeypatch):
    store = build(tmp_path / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    store.annotate(PATH, {"last-rotated": "2026-03-01T02:00:00+00:00", "issuer": "random"})
    store.annotate(PATH, {"issuer": "", "next-due": "2026-03-31T02:00:00+00:00"})  # "" removes a note
    monkeypatch.setenv("SECRETKEEPER_LOCAL_KEY", base64.b64encode(os.urandom(32)).decode())  # a wrong key
    fresh = build(tmp_path / "store")
    got = fresh.status([PATH, "other/secret"])
    assert got[PATH].metadata == {"last-rotated": "2026-03-01T02:00:00+00:00",
                                  "next-due": "2026-03-31T02:00:00+00:00"}
    assert got[PATH].exists and got[PATH].updated is not None and got[PATH].updated.tzinfo is not None
    assert not got["other/secret"].exists
    with pytest.raises(NotFound):
        fresh.annotate("other/secret", {"issuer": "random"})


def test_paths_never_share_a_directory_and_bad_paths_are_one_line_errors(store):
    put(store, "a/b", {"k": b"1"}, "t1")
    put(store, "a/b/c", {"k": b"2"}, "t2")
    put(store, "a%2Fb", {"k": b"3"}, "t3")
    assert [store.read(p).data["k"] for p in ("a/b", "a/b/c", "a%2Fb")] == [b"1", b"2", b"3"]
    for bad in ("", ".", "..", "x" * 300):
        with pytest.raises(StoreError, match="cannot be a secret path"):
            store.read(bad)


@pytest.mark.parametrize("data, needle", [
    ({}, "nothing to stage"),
    ({"password": "a str"}, "the value of key 'password' is not bytes"),
])
def test_values_are_checked_without_echoing_them(store, data, needle):
    with pytest.raises(StoreError, match=needle) as err:
        store.stage(PATH, data, token="t1")
    assert "a str" not in str(err.value)


def test_files_are_0600_and_directories_0700(tmp_path):
    store = build(tmp_path / ".secretkeeper" / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    store.journal(PATH).read()
    for path in [tmp_path / ".secretkeeper", *(tmp_path / ".secretkeeper").rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert (tmp_path / ".secretkeeper" / "store.key").is_file(), "the key sits beside the store directory"


def test_the_canary_is_nowhere_in_clear(tmp_path, monkeypatch, canary):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    store = build(tmp_path / "store")
    first = put(store, PATH, {"password": canary.encode(), "uri": f"postgres://u:{canary}@db/x".encode()}, "t1")
    staged = store.stage(PATH, {"password": canary.encode() + b"-next"}, token="t2")
    store.annotate(PATH, {"last-rotated": "2026-03-01T02:00:00+00:00"})
    store.promote(PATH, staged.version, expect_current=first.version)
    needles = [canary.encode(), base64.b64encode(canary.encode()), canary[4:20].encode()]
    files = written_files(tmp_path)
    assert len(files) >= 6
    for path in files:
        content = path.read_bytes()
        assert not any(n in content for n in needles), path
    assert store.read(PATH).data == {"password": canary.encode() + b"-next"}
    assert canary not in repr(store.read(PATH)) and canary not in repr(store.status([PATH]))


def test_what_a_killed_writer_left_is_never_read_and_the_next_writer_tidies_it(store, tmp_path):
    """A process killed inside an atomic write leaves a temp file; one killed between writing a version
    file and listing it in meta.json leaves an orphan version: neither is ever served."""
    current = put(store, PATH, {"password": b"good"}, "t1")
    directory = next((tmp_path / "store" / "secrets").iterdir())
    (directory / ".meta.json.x1.tmp").write_bytes(b'{"half": ')
    (directory / "versions" / ".7.enc.x2.tmp").write_bytes(b"SKL1 half")
    (directory / "versions" / "7.enc").write_bytes((directory / "versions" / f"{current.version}.enc").read_bytes())
    assert store.read(PATH).data == {"password": b"good"}
    with pytest.raises(NotFound):
        store.read(PATH, "7")
    store.promote(PATH, current.version, expect_current=current.version)  # any writer tidies first
    assert sorted(p.name for p in directory.rglob("*") if p.is_file()) == \
        ["1.enc", "lock", "meta.json"]


def journal_record(holder: str) -> JournalRecord:
    when = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    return JournalRecord(secret="payments-db", step=Step.STARTED, token=f"token-{holder}",
                         holder=holder, started=when, updated=when, host="runner-7", pid=4121)


def test_the_journal_is_a_compare_and_set_and_marks_the_secret_in_progress(store):
    journal = store.journal(PATH)
    assert journal.read() is None
    mine = journal_record("ci@runner-7 pid 4121")
    journal.write(mine, expect=None)
    journal.write(mine, expect=None)  # a repeat of a write that landed
    status = store.status([PATH])[PATH]
    assert (status.exists, status.in_progress) == (False, True), "a bootstrap under way shows"
    with pytest.raises(Conflict, match=r"rotation journal held by ci@runner-7 pid 4121 \(step started") as err:
        journal.write(journal_record("bob@laptop pid 1"), expect=None)
    assert err.value.holder == mine
    staged = replace(mine, step=Step.STAGED, pending="1")
    journal.write(staged, expect=mine)
    with pytest.raises(Conflict) as err:
        journal.clear(expect=mine)  # a stale view of the record
    assert err.value.holder == staged and journal.read() == staged
    journal.clear(expect=staged)
    journal.clear(expect=staged)
    assert journal.read() is None and store.status([PATH])[PATH].in_progress is False
    with pytest.raises(Conflict, match="cleared by another rotator"):
        journal.write(replace(staged, step=Step.DONE), expect=staged)


def test_a_damaged_journal_or_metadata_file_is_a_one_line_error(store, tmp_path):
    put(store, PATH, {"password": b"a"}, "t1")
    directory = next((tmp_path / "store" / "secrets").iterdir())
    (directory / "journal.json").write_text('{"secret": ')
    with pytest.raises(StoreError) as err:
        store.journal(PATH).read()
    assert str(err.value) == (f"local store 'local': {PATH}: {directory / 'journal.json'}: rotation journal "
                              "record is not valid JSON")
    (directory / "meta.json").write_text('{"format": 1}')
    with pytest.raises(StoreError, match=r"meta\.json: metadata document has missing or malformed fields"):
        store.read(PATH)
