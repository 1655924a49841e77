"""Files the tool writes (reports, baselines, caches): 0600, atomic, and never a rename over a device node."""

from __future__ import annotations

import os
import stat

import pytest

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import write_private, write_private_bytes


def test_writes_0600_and_replaces_atomically(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"], "no temp file left behind"


def test_dev_null_stays_a_device():
    write_private("/dev/null", "anything")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_directory_and_missing_parent_are_one_line_errors(tmp_path):
    with pytest.raises(SecretkeeperError, match="is a directory"):
        write_private(tmp_path, "x")
    with pytest.raises(SecretkeeperError, match="cannot write"):
        write_private(tmp_path / "missing" / "r.json", "x")


def test_bytes_are_written_as_given(tmp_path):
    target = tmp_path / "entry.db"
    write_private_bytes(target, b"\x00\xff\n\r\n")
    assert target.read_bytes() == b"\x00\xff\n\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_the_temp_file_is_private_and_synced_before_the_rename(tmp_path, monkeypatch):
    """Nobody else can read the content while it is written, and the rename publishes synced bytes
    (then the directory is synced, so the rename itself survives a crash)."""
    target = tmp_path / "baseline.json"
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync-dir" if stat.S_ISDIR(st.st_mode) else "fsync-file", stat.S_IMODE(st.st_mode)))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", os.path.basename(src).startswith(".baseline.json.")))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_private(target, "{}")
    assert [e[0] for e in events] == ["fsync-file", "rename", "fsync-dir"]
    assert events[0][1] == 0o600 and events[1][1] is True


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch, failure):
    target = tmp_path / "report.sarif"
    target.write_text("good")

    def fail(_fd):
        raise failure

    monkeypatch.setattr(os, "fsync", fail)
    expected = SecretkeeperError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        write_private(target, "half")
    if expected is SecretkeeperError:
        assert str(info.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["report.sarif"]


def test_caches_are_written_by_the_same_writer(tmp_path, monkeypatch):
    """The parsed catalog and the compiled-database entries: 0600, and an unwritable cache directory
    costs a rebuild, never an error."""
    from secretkeeper import cache
    from secretkeeper.rules import load_builtin_rules

    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path / "cache"))
    assert load_builtin_rules()
    cache.store(cache.cache_dir() / "entry.db", {"k": 1}, b"payload")
    written = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir())
    assert written == ["catalog", "entry.db"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "cache").iterdir())
    assert cache.load(cache.cache_dir() / "entry.db") == ({"k": 1}, b"payload")

    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(blocked))
    cache.store(cache.cache_dir() / "entry.db", {}, b"x")  # logged, not raised
    assert load_builtin_rules()


def test_create_only_once_keeps_the_first_content_whole(tmp_path):
    """Two first runs creating the same key file: the second finds the first's file, whole and 0600."""
    from secretkeeper.fileio import create_private_bytes

    target = tmp_path / "store.key"
    assert create_private_bytes(target, b"first") is True
    assert create_private_bytes(target, b"second") is False
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["store.key"], "no temp file left behind"
    with pytest.raises(SecretkeeperError, match="cannot write"):
        create_private_bytes(tmp_path / "missing" / "k", b"x")


def test_a_temp_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    """kill -9 between the temp file and the rename leaves the value beside the target: the next write
    of that file removes it; a temp whose writer still runs is that writer's."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "app-db.yaml"
    code = ("import os, sys\n"
            "from pathlib import Path\n"
            "import secretkeeper.fileio as f\n"
            "os.replace = lambda *a: os.kill(os.getpid(), 9)\n"  # killed right before the rename
            "f.write_private(Path(sys.argv[1]), 'stringData: {password: CANARY-left-behind}\\n')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and b"CANARY-left-behind" in left[0].read_bytes()

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = tmp_path / f".{target.name}.{live.pid}.abcd1234.tmp"
        running.write_bytes(b"another writer's, still running")
        write_private(target, "fresh\n")
        assert target.read_text() == "fresh\n"
        assert not left[0].exists()
        assert running.exists()
    finally:
        live.kill()
        live.wait()
    write_private(target, "again\n")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
