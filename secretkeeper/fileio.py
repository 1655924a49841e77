"""Files the tool itself reads (config, rule files, baselines) and writes (reports, baselines, caches).

The one writer in the project: a report, a baseline, a cache entry or a stored secret is either the old
file or the whole new one, never half of either, and never readable by other users while it is being
written. `create_private_bytes` creates a file only once (a key that two first runs must agree on).
The one reader of the tool's own inputs, which a scanned repository may hold or name: a regular file
only (never a device, a FIFO or a directory), of bounded size, and, for a file named by the repository,
inside it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from secretkeeper.errors import SecretkeeperError


def read_input(path: Path | str, limit: int, *, within: Path | None = None) -> bytes:
    """The bytes of `path`: a regular file of at most `limit` bytes; with `within`, one whose real path
    (symlinks resolved) is inside that directory. Problems raise OSError, whose `strerror` says which."""
    if "\0" in str(path):  # a config can spell one (`"a\0b"`); the system calls would raise ValueError
        raise OSError(errno.EINVAL, "not a valid path")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)  # O_NONBLOCK: a FIFO never blocks
    if within is not None:
        path, root = os.path.realpath(path), os.path.realpath(within)
        if os.path.commonpath([path, root]) != root:
            raise OSError(errno.EACCES, "outside the scanned root (name it with --config to allow it)")
        flags |= getattr(os, "O_NOFOLLOW", 0)  # the path checked is the path opened
    if not stat.S_ISREG(os.stat(path).st_mode):  # a device is not even opened (opening a tape rewinds it)
        raise OSError(errno.EINVAL, "not a regular file")
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)  # what was opened, should the path have changed since
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {_size(limit)}")
        chunks, left = [], limit + 1
        while left and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if not left:  # grew past the limit since fstat
        raise OSError(errno.EFBIG, f"larger than {_size(limit)}")
    return b"".join(chunks)


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n & ((1 << 20) - 1) else f"{n} bytes"


def write_private(path: Path | str, text: str) -> None:
    """`text` as UTF-8 to `path`, as `write_private_bytes` writes."""
    write_private_bytes(path, text.encode("utf-8"))


def write_private_bytes(path: Path | str, data: bytes) -> None:
    """Write atomically, 0600: a temp file beside `path` (created 0600, never an existing one), synced,
    renamed over `path`, then the directory synced so the rename itself survives a crash.

    Special files (`/dev/null`, `/dev/stdout`, a FIFO) are written in place: renaming over them would
    replace the device node itself.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise SecretkeeperError(f"{path}: cannot write: is a directory")
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise _error(path, exc) from None
        return
    remove_stale_temps(path)
    tmp = _synced_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise _error(path, exc) from None
        raise
    _sync_directory(path.parent)


def create_private_bytes(path: Path | str, data: bytes) -> bool:
    """Create `path` with `data`, 0600, only if it does not exist yet; False when it already did.

    Of two processes creating the same file at once exactly one succeeds and the other reads what the
    winner wrote, whole: the content is synced in a temp file first, then hard-linked to `path`, which
    fails if `path` exists (a create-only rename)."""
    path = Path(path)
    remove_stale_temps(path)
    tmp = _synced_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _error(path, exc) from None
    finally:
        _unlink_quietly(tmp)
    _sync_directory(path.parent)
    return True


def _synced_temp(path: Path, data: bytes) -> str:
    """A temp file beside `path` holding `data`, synced; nothing is left behind if writing it fails."""
    try:  # mkstemp: O_CREAT | O_EXCL, mode 0600, a name no other writer uses
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise _error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:  # interrupted too: no temp file is left behind
        _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise _error(path, exc) from None
        raise
    return tmp


def remove_stale_temps(path: Path | str) -> None:
    """Remove the temp files that writers of `path` killed mid-write (kill -9, power loss) left beside
    it: they may hold the value being written. A temp names its writer's pid; one whose process is gone
    is stale, one whose writer still runs is left to it."""
    path = Path(path)
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        _unlink_quietly(str(path.parent / name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process of another user holds that pid
        return True
    return True


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory: the rename is done all the same
        pass
    finally:
        os.close(fd)


def _error(path: Path, exc: OSError) -> SecretkeeperError:
    return SecretkeeperError(f"{path}: cannot write: {exc.strerror or exc}")
