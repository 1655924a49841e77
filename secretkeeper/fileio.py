"""Writing files the tool produces: atomic, 0600, errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

from secretkeeper.errors import SecretkeeperError


def write_private(path: Path, text: str) -> None:
    """Write atomically, 0600: a half-written report or baseline never replaces a good one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise SecretkeeperError(f"{path}: cannot write: {exc.strerror}") from None
