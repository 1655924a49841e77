"""Blob selection: which blobs a history scan reads, as a compact list in the order git stores them.

`--all-refs` (default): every blob in the object database, in pack order, from `git cat-file
--batch-all-objects` (no history walk). `--branch`/`--since`: `git rev-list --objects`, which also names
each blob. `--staged`: the index entries that differ from HEAD. Blobs over the size cap are counted skips.
"""

from __future__ import annotations

import subprocess
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from scanners.git.repo import Repo, batch_check, git_env, rev_list_args, run_git, show_path, start_git, stop_git
from scanners.options import HistoryOptions
from secretkeeper.results import SkipLog


@dataclass
class Blobs:
    """Blob ids as fixed-width records in one bytes object (cheap to share with forked workers)."""

    oids: bytes  # b"<oid>\n" * n
    sizes: array
    width: int
    names: dict[str, bytes] = field(default_factory=dict)  # oid -> path, when the listing named them

    def __len__(self) -> int:
        return len(self.sizes)

    def oid(self, i: int) -> str:
        return self.oids[i * self.width : i * self.width + self.width - 1].decode("ascii")


def list_blobs(repo: Repo, sel: HistoryOptions, refs: Sequence[str], max_size: int, skips: SkipLog,
               warnings: list[str]) -> Blobs:
    """The blobs `sel` selects from `refs` (their full names); over `max_size`: counted skips, empty: dropped."""
    width = repo.oid_len + 1
    oids = bytearray()
    sizes = array("Q")
    names: dict[str, bytes] = {}

    def add(oid: str, size: int, name: bytes | None) -> None:
        if size > max_size:
            skips.add("too-large", show_path(name) if name else f"blob {oid[:12]}")
            return
        if size == 0:
            return
        oids.extend(oid.encode() + b"\n")
        sizes.append(size)
        if name is not None:
            names[oid] = name

    if sel.staged:
        for oid, path in staged_entries(repo):
            for o, typ, size in batch_check(repo, f"{oid}\n".encode()):
                if typ == "blob":
                    add(o, size, path)
        return Blobs(bytes(oids), sizes, width, names)
    if sel.since or sel.branches:
        proc = subprocess.run(repo.cmd("rev-list", "--objects", "--stdin"), input=rev_list_args(refs, sel.since),
                              capture_output=True, env=git_env(), check=False)
        if proc.returncode != 0:
            warnings.append("git rev-list failed part-way (corrupt repository?); scanned what it listed")
        named: dict[str, bytes] = {}
        for line in proc.stdout.split(b"\n"):
            if len(line) > repo.oid_len and line[repo.oid_len : repo.oid_len + 1] == b" ":
                named[line[: repo.oid_len].decode()] = line[repo.oid_len + 1 :]
        query = "".join(f"{o}\n" for o in named).encode()
        for oid, typ, size in batch_check(repo, query):
            if typ == "blob":
                add(oid, size, named[oid])
        return Blobs(bytes(oids), sizes, width, names)
    # Streamed: a large repository lists millions of trees and commits we do not keep.
    lister = start_git(repo.cmd("cat-file", "--batch-all-objects", "--unordered",
                                "--batch-check=%(objecttype) %(objectsize) %(objectname)"),
                       stdout=subprocess.PIPE, bufsize=1 << 20)
    assert lister.stdout is not None
    try:
        for line in lister.stdout:
            if line.startswith(b"blob "):
                _, size, oid = line.split()
                size_i = int(size)
                if 0 < size_i <= max_size:
                    oids += oid + b"\n"
                    sizes.append(size_i)
                elif size_i:
                    add(oid.decode(), size_i, None)
            elif line.endswith(b" missing\n"):  # listed but unreadable: a corrupt object
                oid_s = line.split()[0].decode()
                skips.add("corrupt", f"object {oid_s[:12]}")
                warnings.append(f"object {oid_s}: corrupt or unreadable, skipped")
        listed_all = lister.wait() == 0
    finally:  # interrupted too: the lister does not outlive the scan
        stop_git(lister)
    if not listed_all:
        warnings.append("git cat-file could not list every object (corrupt repository?); "
                        "scanned the objects it listed")
    return Blobs(bytes(oids), sizes, width, names)


def staged_entries(repo: Repo) -> list[tuple[str, bytes]]:
    """(blob id, path) of index entries added or modified relative to HEAD (all entries without HEAD)."""
    head = run_git(repo.cmd("rev-parse", "--verify", "--quiet", "HEAD^{commit}"), check=False)
    if head.returncode == 0:
        proc = run_git(repo.cmd("diff-index", "--cached", "--raw", "-z", "--no-renames", "--diff-filter=AMT",
                             "--no-abbrev", "HEAD"))
        toks = proc.stdout.split(b"\0")
        out = []
        for i in range(0, len(toks) - 1, 2):
            meta = toks[i].split()
            if len(meta) >= 5 and meta[1] != b"160000":
                out.append((meta[3].decode(), toks[i + 1]))
        return out
    proc = run_git(repo.cmd("ls-files", "--stage", "-z"))
    out = []
    for rec in proc.stdout.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        mode, oid, _stage = meta.split()
        if mode != b"160000":
            out.append((oid.decode(), path))
    return out


def named_blobs(repo: Repo, named: dict[str, bytes], max_size: int) -> Blobs:
    """The blobs among `named` (oid -> path) that exist and fit the size cap, ready for `scan_slice`."""
    query = "".join(f"{o}\n" for o in named).encode()
    oids, sizes = bytearray(), array("Q")
    for oid, typ, size in batch_check(repo, query):
        if typ == "blob" and 0 < size <= max_size:
            oids.extend(oid.encode() + b"\n")
            sizes.append(size)
    return Blobs(bytes(oids), sizes, repo.oid_len + 1, dict(named))
