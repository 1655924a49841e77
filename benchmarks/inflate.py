"""Read every blob of a repository once, in a given order, the two ways a Python scanner can: through a
`git cat-file --batch` pipe (what secretkeeper's readers do) or in process with libgit2 (pygit2).

    python benchmarks/inflate.py pipe REPO IDS      # ids file: one blob id per line (pack order)
    python benchmarks/inflate.py pygit2 REPO IDS    # run with a Python that has pygit2 (bench_git's venv)

Both touch every byte (a length sum) and print `blobs bytes`. bench_git times them in the same run as the
floor (`cat-file --batch` to /dev/null): the choice between the two for the scanner is made on these rows.
"""

from __future__ import annotations

import subprocess
import sys


def by_pipe(repo: str, ids: str) -> tuple[int, int]:
    """Headers parsed and bodies read as secretkeeper's readers read them (buffered, whole bodies)."""
    blobs = total = 0
    with open(ids, "rb") as wanted:
        proc = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=wanted,
                                stdout=subprocess.PIPE, bufsize=1 << 16)
        assert proc.stdout is not None
        read, readline = proc.stdout.read, proc.stdout.readline
        while header := readline():
            parts = header.split()
            if len(parts) != 3:
                continue  # `<id> missing`
            body = read(int(parts[2]) + 1)
            blobs += 1
            total += len(body) - 1
        proc.wait()
    return blobs, total


def by_libgit2(repo: str, ids: str) -> tuple[int, int]:
    import pygit2  # only in the benchmark's venv: the scanner does not depend on it

    odb = pygit2.Repository(repo).odb
    blobs = total = 0
    with open(ids) as wanted:
        for line in wanted:
            try:
                _kind, data = odb.read(line.strip())
            except KeyError:
                continue  # missing from a partial clone
            blobs += 1
            total += len(data)
    return blobs, total


if __name__ == "__main__":
    mode, repo_path, ids_path = sys.argv[1:4]
    n, size = (by_libgit2 if mode == "pygit2" else by_pipe)(repo_path, ids_path)
    print(n, size)
