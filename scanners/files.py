"""Files on disk: walk a tree, filter paths, and read the regular files worth scanning, counting what is skipped.

The walk reads directory entries only (no stat, no content). Special files (FIFOs, sockets, devices) are
never opened, symlinks are not followed (no loops, no escaping the tree), and every skip is counted by
reason so the summary can say what was not scanned. `PathFilter` says which paths a scan leaves out,
for the walk and for git history alike; `read_file` reads one file with as few system calls as it can;
`ON_DISK` places the findings of a file (see secretkeeper/blobscan.py).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from pathlib import Path
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from secretkeeper.findings import Finding, Location, finding_from_match
from secretkeeper.results import SkipLog

if TYPE_CHECKING:
    from secretkeeper.engine import Match

# Third-party code, caches and tool state. Names that also serve for configuration stay scanned: `env/`
# (per-environment settings: `ops/env/prod.env`), `.gradle/` (`~/.gradle/gradle.properties` holds
# repository passwords), `.idea/` (data sources, run configurations). A virtualenv under any name is
# recognised by its `pyvenv.cfg` instead; its packages are also under `site-packages`.
DEFAULT_EXCLUDED_DIRS = (
    ".git", ".hg", ".svn", "node_modules", "bower_components", ".venv", "venv",
    "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
    ".terraform", "dist-packages",
)
VENV_MARKER = "pyvenv.cfg"  # written at the top of every virtualenv (venv, virtualenv >= 20, uv)
_VCS_DIRS = frozenset((".git", ".hg", ".svn"))
# Extensions that are never text: skipped by name without reading them.
BINARY_EXTENSIONS = frozenset(
    [".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".webp", ".tif", ".tiff", ".psd", ".svgz", ".mp3", ".mp4", ".m4a", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar", ".war", ".ear", ".whl", ".egg", ".class", ".pyc", ".pyo", ".so", ".dylib", ".dll", ".exe", ".o", ".a", ".lib", ".obj", ".bin", ".dat", ".db", ".sqlite", ".sqlite3", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".iso", ".img", ".dmg", ".deb", ".rpm", ".msi", ".apk", ".ipa", ".wasm", ".parquet", ".avro", ".orc", ".npy", ".npz", ".pkl", ".pt", ".onnx", ".h5", ".tflite", ".pb", ".mo"]
)
UNKNOWN_SIZE = -1
SNIFF_BYTES = 8000  # git's heuristic: a NUL in the first 8000 bytes means binary
# Raw fd reads: one read syscall into a right-sized buffer (a `read(max_size + 1)` allocates max_size for
# every file). O_NONBLOCK: a file swapped for a FIFO after the walk must not hang the scan.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
_NOT_A_FILE = (errno.EISDIR, errno.EAGAIN, errno.EWOULDBLOCK)  # read() on a directory, an empty FIFO...
_FIRST_READ = 64 * 1024  # most source files are smaller; a buffer this size still comes from the heap


class FileEntry(NamedTuple):
    """A file the walk found (a tuple: one per file, made and pickled to workers by the ten thousand)."""

    path: str  # absolute or as given
    relpath: str  # relative to the scan root, '/'-separated
    size: int  # bytes, or UNKNOWN_SIZE: the walk reads directory entries only (the reader finds out)


class PathFilter:
    """Which relative paths a scan leaves out: config `scan.exclude` globs (a bare name excludes that
    name at any depth) and, unless `default_excludes` is off, the DEFAULT_EXCLUDED_DIRS.

    The walk asks about each directory entry as it meets it, pruning excluded directories; git history,
    which meets whole paths without walking to them, asks `excludes`.
    """

    def __init__(self, patterns: Iterable[str] = (), default_excludes: bool = True) -> None:
        parts = []
        for pat in patterns:
            pat = pat.strip().rstrip("/")
            if not pat:
                continue
            parts.append(fnmatch.translate(pat))
            if "/" not in pat:
                parts.append(fnmatch.translate(f"*/{pat}"))
        self.pattern: re.Pattern[str] | None = re.compile("|".join(parts)) if parts else None
        self.dir_names = frozenset(DEFAULT_EXCLUDED_DIRS) if default_excludes else frozenset()

    def excludes(self, relpath: str) -> bool:
        """A file path met without the walk: inside a default excluded directory, or matching a pattern
        (matched against the whole path)."""
        if self.dir_names and any(part in self.dir_names for part in relpath.split("/")[:-1]):
            return True
        return self.pattern is not None and self.pattern.match(relpath) is not None


def walk(root: Path, paths: PathFilter, skips: SkipLog) -> Iterator[FileEntry]:
    """Yield regular files under `root` (or `root` itself when it is a file) that `paths` keeps, in a
    stable order."""
    excluded, dir_names = paths.pattern, paths.dir_names  # locals: asked for every entry
    try:
        st = root.stat()
    except OSError as exc:
        skips.add("unreadable", str(root))
        raise FileNotFoundError(f"{root}: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        if st.st_size:  # empty files hold nothing
            yield FileEntry(str(root), root.name, st.st_size)
        return
    if not stat.S_ISDIR(st.st_mode):
        skips.add("special", str(root))
        return
    stack = [(str(root), "")]
    while stack:
        directory, rel = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=_NAME)
        except OSError:
            skips.add("unreadable", rel or directory)
            continue
        if rel and dir_names and any(e.name == VENV_MARKER for e in entries):
            skips.add("excluded", rel + "/")  # a virtualenv, whatever its name
            continue
        subdirs = []
        prefix = f"{rel}/" if rel else ""
        for entry in entries:
            name = entry.name
            erel = prefix + name
            try:
                if entry.is_symlink():
                    skips.add("symlink", erel)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if name in dir_names or (excluded and excluded.match(erel)):
                        if name not in _VCS_DIRS:  # history is scanned on its own; not news
                            skips.add("excluded", erel + "/")
                        continue
                    subdirs.append((entry.path, erel))
                    continue
                if excluded and excluded.match(erel):
                    skips.add("excluded", erel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    skips.add("special", erel)
                    continue
            except OSError:
                skips.add("unreadable", erel)
                continue
            # No stat: the directory entry's type says regular file, and the reader learns the size
            # (a stat built in Python was ~6k instructions, a third of the walk's cost per file).
            yield FileEntry(entry.path, erel, UNKNOWN_SIZE)
        stack.extend(reversed(subdirs))


_NAME = attrgetter("name")


def is_binary_name(relpath: str) -> bool:
    dot = relpath.rfind(".")
    if dot < 0 or relpath[dot:].lower() not in BINARY_EXTENSIONS:  # most files: one slice, one lookup
        return False
    # os.path.splitext's rule: leading dots of the base name start no extension (`.png` is a name).
    return relpath[relpath.rfind("/") + 1 : dot].strip(".") != ""


def looks_binary(head: bytes) -> bool:
    return head.find(b"\x00", 0, SNIFF_BYTES) >= 0  # no slice: a copy of 8000 bytes per file


def read_file(entry: FileEntry, max_size: int, skips: SkipLog, shown: str) -> bytes | None:
    """The file's bytes, or None when it cannot be read whole: counted in `skips` under `shown` as
    "unreadable", "special" (no longer a regular file) or "too-large". Never an exception."""
    try:
        fd = os.open(entry.path, _OPEN_FLAGS)
    except OSError:
        skips.add("unreadable", shown)
        return None
    try:
        data = _read(fd, entry.size, max_size)
    except OSError as exc:
        skips.add("special" if exc.errno in _NOT_A_FILE else "unreadable", shown)
        return None
    finally:
        os.close(fd)
    if type(data) is str:
        skips.add(data, shown)
        return None
    return data


def _read(fd: int, size: int, max_size: int) -> bytes | str:
    """The file's bytes, or why it is skipped: "special" (no longer a regular file) or "too-large".

    `size` is the walk's, or UNKNOWN_SIZE: then one read of `_FIRST_READ` bytes takes most files whole,
    and only a full (or empty) first read asks fstat for the size (a stat is ~6k instructions). A read
    shorter than the size known is checked with fstat (a file that shrank, or is no longer regular); a
    file that grew is read on, up to the cap.
    """
    if size < 0:
        first = min(_FIRST_READ, max_size + 1)
        data = os.read(fd, first)
        if 0 < len(data) < first:
            return data  # the whole of a small file
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "special"
        if st.st_size > max_size or len(data) > max_size:
            return "too-large"
        if not data:
            return data
        want = st.st_size + 1 - len(data)
        more = os.read(fd, want)
        data += more
    else:
        want = min(size, max_size) + 1
        data = more = os.read(fd, want)
        if len(data) < want - 1 and not stat.S_ISREG(os.fstat(fd).st_mode):
            return "special"
    if len(more) == want and len(data) <= max_size:  # grew since its size was read: read on to the cap
        data += os.read(fd, max_size + 1 - len(data))
    return "too-large" if len(data) > max_size else data


class _OnDisk:
    """Files in place: a finding is at the file's displayed path, as the manifest and certificate checks
    already locate theirs."""

    whole_file = True

    @staticmethod
    def skipped_as(path: str) -> str:
        return path

    @staticmethod
    def found(match: Match, path: str) -> Finding:
        return finding_from_match(match, Location(source="file", path=path, line=match.line))

    @staticmethod
    def adopt(finding: Finding) -> Finding:
        return finding


ON_DISK = _OnDisk()
