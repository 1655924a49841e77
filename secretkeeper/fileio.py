"""Writing files the tool produces (reports, baselines, caches): atomic, 0600, errors that name the file.

The one writer in the project: a report, a baseline, a cache entry or a stored secret is either the old
file or the whole new one, never half of either, and never readable by other users while it is being
written. `create_private_bytes` creates a file only once (a key that two first runs must agree on).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from secretkeeper.errors import SecretkeeperError


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
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
