"""Two processes on one local secret at the same instant: the file lock and the compare-and-sets let
exactly one win each race, the loser learns who won, and two first runs agree on one key."""

from __future__ import annotations

import multiprocessing
import os
import traceback
from datetime import UTC, datetime

import pytest

from providers.base import JournalRecord, Step
from providers.errors import Conflict
from tests.localstore import build

ROUNDS = 20
CTX = multiprocessing.get_context("fork")  # the children share the test's imports: a race starts at once


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("SECRETKEEPER_LOCAL_KEY", raising=False)


def race(job, root, args_per_process):
    """Run `job(store, barrier, *args)` in one process per args tuple, all released together; returns
    each process's result (or the repr of what it raised that was not a Conflict)."""
    barrier, results = CTX.Barrier(len(args_per_process)), CTX.Queue()

    def child(i, args):
        try:
            results.put((i, job(build(root), barrier, *args)))
        except BaseException:
            results.put((i, "crashed: " + traceback.format_exc(limit=3)))

    procs = [CTX.Process(target=child, args=(i, a)) for i, a in enumerate(args_per_process)]
    for p in procs:
        p.start()
    out = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    return [out[i] for i in range(len(procs))]


def record(holder: str) -> JournalRecord:
    now = datetime.now(UTC)
    return JournalRecord(secret="db", step=Step.STARTED, token=f"token-{holder}", holder=holder,
                         started=now, updated=now, host="h", pid=os.getpid())


def take_journal(store, barrier, path, holder):
    mine = record(holder)
    barrier.wait()
    try:
        store.journal(path).write(mine, expect=None)
        return ("won", mine.to_json())
    except Conflict as exc:
        return ("lost", exc.holder.to_json() if exc.holder else None)


def test_two_processes_taking_the_journal_exactly_one_wins_and_the_loser_learns_who(tmp_path):
    root = tmp_path / "store"
    for n in range(ROUNDS):
        path = f"apps/db-{n}"
        results = race(take_journal, root, [(path, "alice"), (path, "bob")])
        assert sorted(r[0] for r in results) == ["lost", "won"], results
        (_, winner), (_, seen_by_loser) = sorted(results, key=lambda r: r[0] != "won")
        assert seen_by_loser == winner  # the loser is told the record that holds the lock
        assert build(root).journal(path).read() == JournalRecord.from_json(winner)


def stage_and_promote(store, barrier, path, token, expect):
    barrier.wait()
    version = store.stage(path, {"password": token.encode()}, token=token)
    try:
        store.promote(path, version.version, expect_current=expect)
        return ("won", version.version, token)
    except Conflict:
        return ("lost", version.version, token)


def test_two_processes_promoting_over_the_same_current_exactly_one_wins(tmp_path):
    root = tmp_path / "store"
    store = build(root)
    for n in range(ROUNDS // 2):
        path = f"apps/db-{n}"
        first = store.stage(path, {"password": b"first"}, token="t0")
        store.promote(path, first.version, expect_current=None)
        results = race(stage_and_promote, root, [(path, "a", first.version), (path, "b", first.version)])
        assert sorted(r[0] for r in results) == ["lost", "won"], results
        assert len({r[1] for r in results}) == 2, "each process staged its own version"
        winner = next(r for r in results if r[0] == "won")
        assert store.read(path).data == {"password": winner[2].encode()}


def first_write(store, barrier, token):
    barrier.wait()
    version = store.stage(f"apps/{token}", {"password": token.encode()}, token=token)
    store.promote(f"apps/{token}", version.version, expect_current=None)
    return "ok"


def test_two_first_runs_on_a_fresh_store_agree_on_one_key(tmp_path):
    for n in range(ROUNDS // 2):
        root = tmp_path / f"store-{n}"
        assert race(first_write, root, [("a",), ("b",), ("c",)]) == ["ok", "ok", "ok"]
        fresh = build(root)
        assert [fresh.read(f"apps/{t}").data["password"] for t in "abc"] == [b"a", b"b", b"c"]
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
