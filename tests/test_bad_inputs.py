"""Bad inputs end in a clear one-line message (exit 2) or a counted skip — never a traceback or a hang."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import scanners.files
import secretkeeper.pipeline

RULE = "github-pat-classic"
FORMATS = ["text", "json", "sarif", "junit"]
# Fails a test that blocks (e.g. opening a FIFO) instead of hanging the suite. Generous, because a test
# may be the first of the session to compile the rule catalog, which takes a while on a busy machine.
HANG_GUARD = 600


def scan(run_cli, root, *extra, fmt="json"):
    res = run_cli(["scan", root, "--no-history", "-f", fmt, *extra])
    assert res.exception is None, repr(res.exception)
    assert "Traceback" not in res.output
    return res


def summary(res) -> dict:
    return json.loads(res.stdout)["summary"]


def leak_paths(res) -> list[str]:
    return sorted(f["location"]["path"] for f in json.loads(res.stdout)["findings"] if f["rule_id"] == RULE)


def test_nonexistent_path(run_cli, tmp_path):
    res = run_cli(["scan", tmp_path / "does-not-exist"])
    assert res.code == 2
    assert res.stderr == f"secretkeeper: error: {tmp_path / 'does-not-exist'}: no such file or directory\n"


def test_malformed_config(make_tree, run_cli):
    root = make_tree({".secretkeeper.yaml": "scan: [\n", "a.txt": "x\n"})
    res = run_cli(["scan", root])
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert ".secretkeeper.yaml" in res.stderr and "invalid YAML" in res.stderr


def test_unreadable_file_is_counted(make_tree, run_cli, canary, monkeypatch):
    # Tests may run as root, where chmod 000 does not stop a read: make the open refuse this one file.
    root = make_tree({"locked.txt": f"t {canary}\n", "ok.txt": f"t {canary}\n"})
    real_open = os.open

    def guarded_open(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(secretkeeper.pipeline.os, "open", guarded_open)
    res = scan(run_cli, root, "--jobs", "1")
    assert res.code == 1
    assert leak_paths(res) == ["ok.txt"]
    assert summary(res)["skipped"] == {"unreadable": 1}
    assert {"path": "locked.txt", "reason": "unreadable"} in json.loads(res.stdout)["skipped"]
    text = scan(run_cli, root, "--jobs", "1", fmt="text").stdout
    assert "skipped: 1 unreadable" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_by_mode(make_tree, run_cli, canary):
    root = make_tree({"locked.txt": f"t {canary}\n"})
    (root / "locked.txt").chmod(0)
    try:
        res = scan(run_cli, root)
        assert res.code == 0 and summary(res)["skipped"] == {"unreadable": 1}
    finally:
        (root / "locked.txt").chmod(0o600)


def test_file_vanishing_before_read(make_tree, run_cli, canary, monkeypatch):
    root = make_tree({"gone.txt": f"t {canary}\n"})
    real_walk = scanners.files.walk

    def walk_then_delete(*args, **kwargs):
        for entry in real_walk(*args, **kwargs):
            os.unlink(entry.path)
            yield entry

    monkeypatch.setattr(secretkeeper.pipeline, "walk", walk_then_delete)
    res = scan(run_cli, root)
    assert res.code == 0 and summary(res)["skipped"] == {"unreadable": 1}


def test_directory_that_cannot_be_listed(make_tree, run_cli, canary, monkeypatch):
    root = make_tree({"private/a.txt": f"t {canary}\n", "public/b.txt": f"t {canary}\n"})
    real_scandir = os.scandir

    def guarded_scandir(path="."):
        if str(path).endswith("private"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scanners.files.os, "scandir", guarded_scandir)
    res = scan(run_cli, root)
    assert res.code == 1
    assert leak_paths(res) == ["public/b.txt"]
    assert summary(res)["skipped"] == {"unreadable": 1}
    assert {"path": "private", "reason": "unreadable"} in json.loads(res.stdout)["skipped"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists directories whatever their mode")
def test_directory_by_mode(make_tree, run_cli, canary):
    root = make_tree({"private/a.txt": f"t {canary}\n"})
    (root / "private").chmod(0)
    try:
        res = scan(run_cli, root)
        assert res.code == 0 and summary(res)["skipped"] == {"unreadable": 1}
    finally:
        (root / "private").chmod(0o700)


def test_invalid_utf8_content(make_tree, run_cli, canary):
    root = make_tree({"latin1.txt": b"caf\xe9 \xff\xfe token=" + canary.encode() + b"\n\x80\x81\n"})
    res = scan(run_cli, root)
    assert res.code == 1
    assert leak_paths(res) == ["latin1.txt"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_undecodable_file_name(make_tree, run_cli, canary, fmt):
    root = make_tree({})
    raw = os.fsencode(root) + b"/bad\xff\xfename.env"
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, f"TOKEN={canary}\n".encode())
    os.close(fd)
    res = scan(run_cli, root, fmt=fmt)
    assert res.code == 1, res.output
    res.stdout.encode("utf-8")  # printable as UTF-8
    assert "bad" in res.stdout and canary not in res.output


def test_binary_files_are_counted(make_tree, run_cli, canary):
    root = make_tree({
        "blob.bin": b"\x00\x01\x02" + canary.encode(),
        "data.raw": b"abc\x00def " + canary.encode(),
        "pic.png": b"\x89PNG\r\n\x1a\n" + canary.encode(),
        "text.txt": "fine\n",
    })
    res = scan(run_cli, root)
    assert res.code == 0
    assert summary(res)["skipped"] == {"binary": 3}
    assert summary(res)["files"] == 1
    text = scan(run_cli, root, fmt="text").stdout
    assert "skipped: 3 binary" in text


@pytest.mark.timeout(HANG_GUARD)
def test_fifo_is_skipped_not_read(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n"})
    os.mkfifo(root / "pipe")
    res = scan(run_cli, root)
    assert res.code == 1
    assert summary(res)["skipped"] == {"special": 1}
    assert {"path": "pipe", "reason": "special"} in json.loads(res.stdout)["skipped"]
    text = scan(run_cli, root, fmt="text").stdout
    assert "skipped: 1 special" in text


@pytest.mark.timeout(HANG_GUARD)
def test_fifo_given_as_path(make_tree, run_cli):
    root = make_tree({})
    os.mkfifo(root / "pipe")
    res = scan(run_cli, root / "pipe")
    assert res.code == 0
    assert summary(res)["skipped"] == {"special": 1}


@pytest.mark.timeout(HANG_GUARD)
def test_symlink_loops_are_not_followed(make_tree, run_cli, canary):
    root = make_tree({"real/a.txt": f"t {canary}\n"})
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("..", root / "real" / "up")  # a directory cycle
    os.symlink("real/a.txt", root / "alias.txt")
    res = scan(run_cli, root)
    assert res.code == 1
    assert leak_paths(res) == ["real/a.txt"]
    assert summary(res)["skipped"] == {"symlink": 4}


def test_symlink_loop_given_as_path(make_tree, run_cli):
    root = make_tree({})
    os.symlink("self", root / "self")
    res = run_cli(["scan", root / "self"])
    assert res.code == 2 and res.stderr.count("\n") == 1 and "self" in res.stderr


def _big_line(path: Path, size: int, tail: str) -> None:
    chunk = b"lorem ipsum dolor sit amet " * 4096
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            fh.write(chunk)
            written += len(chunk)
        fh.write(f" {tail}\n".encode())


@pytest.mark.timeout(HANG_GUARD)
def test_huge_single_line_is_skipped_by_default(make_tree, run_cli, canary):
    root = make_tree({"small.txt": "x\n"})
    _big_line(root / "huge.txt", 50 * 1024 * 1024, canary)
    res = scan(run_cli, root)
    assert res.code == 0
    assert summary(res)["skipped"] == {"too-large": 1}
    text = scan(run_cli, root, fmt="text").stdout
    assert "skipped: 1 too-large" in text


@pytest.mark.timeout(HANG_GUARD)
def test_huge_single_line_scans_with_a_bigger_limit(make_tree, canary):
    root = make_tree({".secretkeeper.yaml": "scan:\n  max_file_size: 64MB\n"})
    _big_line(root / "huge.txt", 50 * 1024 * 1024, canary)
    code = ("import resource, subprocess, sys;"
            "p = subprocess.run(sys.argv[1:], capture_output=True);"
            "sys.stdout.buffer.write(p.stdout); sys.stderr.buffer.write(p.stderr);"
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
            "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "secretkeeper.cli", "scan", str(root),
                           "--no-history", "-f", "json", "--jobs", "1"],
                          capture_output=True, text=True, timeout=HANG_GUARD - 30, check=False)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["location"]["line"] for f in doc["findings"] if f["rule_id"] == RULE] == [1]
    assert doc["summary"]["skipped"] == {} and doc["summary"]["bytes"] > 50 * 1024 * 1024
    maxrss_kb = int(proc.stderr.rsplit("MAXRSS", 1)[1].split()[0])
    assert maxrss_kb < 600 * 1024, f"scanning a 50 MB file peaked at {maxrss_kb // 1024} MB"
    assert canary not in proc.stdout + proc.stderr
    assert resource  # imported for the child's measurement above


def test_file_swapped_for_a_fifo_after_the_walk_is_skipped_not_hung(tmp_path):
    """The walk saw a regular file; by the time it is read it is a FIFO: counted skip, no hang."""
    import threading

    from scanners.files import FileEntry
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector, scan_file
    from secretkeeper.results import ScanStats

    target = tmp_path / "app.env"
    os.mkfifo(target)
    stats = ScanStats()
    done = []
    worker = threading.Thread(target=lambda: done.append(
        scan_file(build_detector(Config()), FileEntry(str(target), "app.env", 10), 1 << 20, stats)))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "scan_file blocked on a FIFO"
    assert done == [[]] and stats.skipped.counts["special"] == 1


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 200_000])
def test_files_of_every_size_around_the_first_read_are_read_whole(tmp_path, canary, size):
    """The walk does not stat: the reader takes a small file in one read and asks fstat past that. A
    secret in the last bytes of a file of any size is found; an empty file is not counted."""
    from scanners.files import UNKNOWN_SIZE, FileEntry
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector, scan_file
    from secretkeeper.results import ScanStats

    line = f"token = {canary}\n".encode()
    pad = size - len(line)  # a comment line of `pad` bytes first: the file is exactly `size` bytes
    body = b"" if size == 0 else line if pad < 2 else b"#" * (pad - 1) + b"\n" + line
    assert size < len(line) or len(body) == size
    path = tmp_path / "f.txt"
    path.write_bytes(body)
    stats = ScanStats()
    found = scan_file(build_detector(Config()), FileEntry(str(path), "f.txt", UNKNOWN_SIZE), 1 << 20, stats)
    if not body:
        assert found == [] and stats.files == 0 and not stats.skipped.counts
        return
    assert stats.files == 1 and stats.bytes == len(body)
    assert [f.rule_id for f in found] == [RULE] and found[0].location.line == body.count(b"\n")


@pytest.mark.parametrize("size", [100, 65536, 300_000])
def test_too_large_is_known_without_the_walk_stat(tmp_path, size):
    from scanners.files import UNKNOWN_SIZE, FileEntry
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector, scan_file
    from secretkeeper.results import ScanStats

    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * size)
    stats = ScanStats()
    assert scan_file(build_detector(Config()), FileEntry(str(path), "big.txt", UNKNOWN_SIZE), size - 1, stats) == []
    assert stats.skipped.counts == {"too-large": 1} and stats.files == 0
    stats = ScanStats()
    scan_file(build_detector(Config()), FileEntry(str(path), "big.txt", UNKNOWN_SIZE), size, stats)
    assert stats.files == 1 and stats.bytes == size and not stats.skipped.counts
