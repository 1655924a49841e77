"""Blob names for path-gated rules, read from the attribution walk's raw log as it streams.

Path-gated rules (credential files recognised by name) and tables (CSV, SQL INSERTs) need a path per blob
before the content pass. A full-history scan with findings needs `git log --raw` over every commit for
attribution anyway (attribution.py), so that walk runs first, up front, spooled to a temp file, and names
the blobs as it goes: every blob a commit adds is listed there with its path (merges through `-c`). Measured
on git.git (203k commits, 56k merges, 2 cores): the two walks side by side take ~10.6 s wall, the same as
the `rev-list --objects` tree listing that named blobs before (~9.3 s) and then left attribution to walk
the history again after the content pass (~22 s more); reading the spool for 5,000 wanted blobs takes
~0.2 s. Only the names that match a pattern are kept (a verdict per distinct path, not per blob), so
memory does not grow with the history.

A blob added at several paths keeps the first matching one seen (newest commit first).
"""

from __future__ import annotations

from collections.abc import Callable

from scanners.git.repo import show_path


class RawNames:
    """Names of the blobs whose path `keep` (shown path -> bool) accepts, from raw log windows (`-z`), and
    the number of commit headers seen."""

    def __init__(self, keep: Callable[[str], bool], width: int) -> None:
        self.keep, self.width = keep, width
        self.found: dict[str, bytes] = {}
        self.commits = 0
        self._verdicts: dict[bytes, bool] = {}

    def feed(self, window: bytes) -> None:
        """One window of whole commits: `\\x01<header>\\0...\\0` then `:<modes> <ids> <status>\\0<path>\\0`
        per changed path (the first record of a commit follows a newline)."""
        self.commits += window.count(b"\x01")
        verdicts, found, keep, width = self._verdicts, self.found, self.keep, self.width
        records = iter(window.split(b"\0"))
        for rec in records:
            if rec[:1] != b":" and rec[:2] != b"\n:":
                continue
            path = next(records, None)
            if path is None:
                break
            if rec.endswith(b"D"):  # a deletion (a merge's `DD`, too): its id is the old one
                continue
            hit = verdicts.get(path)
            if hit is None:
                hit = verdicts[path] = keep(show_path(path))
            if hit:
                cut = rec.rfind(b" ")  # `... <new id> <status>`
                oid = rec[cut - width : cut].decode()
                found.setdefault(oid, path)
