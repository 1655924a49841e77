"""Writing files the tool produces: atomic, 0600, errors that name the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from secretkeeper.errors import SecretkeeperError


def write_private(path: Path, text: str) -> None:
    """Write atomically, 0600: a half-written report or baseline never replaces a good one.

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
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise SecretkeeperError(f"{path}: cannot write: {exc.strerror}") from None
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise SecretkeeperError(f"{path}: cannot write: {exc.strerror}") from None
