"""Blob names from the trees, for path-gated rules: one `git rev-list --objects` over the scanned refs.

Path-gated rules (credential files recognised by name) and tables (CSV, SQL INSERTs) need a path per blob.
`rev-list --objects` reads the trees of every commit once and prints each object once, with the first path
it was reached at: on git.git's history (203k commits, 56k merges) that is ~10 CPU s, where the diff walk
it replaces (`git log --raw -m`, every merge against each parent) took ~70 s. It runs in a thread while
the blobs are listed, and the content pass waits for it; its output is streamed and only the names that match a pattern are kept (a verdict
per distinct path, not per blob), so memory does not grow with the history.

A blob reachable at several paths is named by the first one only (the trees are read newest commit
first, entries in tree order): a credential file whose exact content also lives under another name may
be checked under that other name.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

from scanners.git.repo import Repo, rev_list_args, show_path, start_git, stop_git


class TreeNames:
    """Names of the blobs whose first path `keep` (shown path -> bool) accepts, listed in a background
    thread; also the number of commits walked (rev-list prints each as a bare id), so the scan needs no
    `rev-list --count` of its own."""

    def __init__(self, repo: Repo, refs: list[str], since: str | None, keep: Callable[[str], bool]) -> None:
        self.repo, self.refs, self.since, self.keep = repo, refs, since, keep
        self.found: dict[str, bytes] = {}
        self.commits = 0
        self.failed = False
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> None:
        if self._thread is not None or not self.refs:
            return
        # --missing=allow-any: a partial clone, or a mirror missing a few objects, still names the rest.
        self._proc = start_git(self.repo.walk_cmd("rev-list", "--objects", "--missing=allow-any", "--stdin"),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 20)
        assert self._proc.stdin is not None
        try:  # here, not in the thread: a worker forked later must not inherit an open stdin (no EOF)
            self._proc.stdin.write(rev_list_args(self.refs, self.since))  # git reads it all before output
            self._proc.stdin.close()
        except OSError:
            pass
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        verdicts: dict[bytes, bool] = {}
        width = self.repo.oid_len
        keep = self.keep
        found = self.found
        commits = 0
        try:
            for line in proc.stdout:
                if len(line) <= width + 2:  # a commit (`<id>\n`), or a root tree (`<id> \n`): no path
                    if len(line) == width + 1:
                        commits += 1
                    continue
                path = line[width + 1 : -1]
                hit = verdicts.get(path)
                if hit is None:
                    hit = verdicts[path] = keep(show_path(path))
                if hit:
                    found[line[:width].decode()] = path
        except (OSError, ValueError):
            pass
        self.commits = commits
        if proc.wait() != 0 and not self._stopped:
            self.failed = True

    def named(self, warnings: list[str]) -> dict[str, bytes]:
        """oid -> path of each blob (or tree: harmless, they are not in the blob list) whose name matches."""
        if self._thread is None:
            return {}
        self._thread.join()
        if self.failed:
            warnings.append("git rev-list failed part-way (corrupt repository?); credential files may be missed")
        return self.found

    def close(self) -> None:
        if self._proc is not None:
            self._stopped = True
            stop_git(self._proc)
        if self._thread is not None:
            self._thread.join(timeout=5)
