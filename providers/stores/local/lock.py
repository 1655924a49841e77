"""The per-secret lock file: an fcntl lock that serialises every read-modify-write of one secret across
processes (and threads), so the compare-and-sets of promote and the journal compare what is on disk."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from providers.errors import StoreError

WAIT = 10.0  # seconds: holders keep it for a few file writes; longer means a hung process


@contextmanager
def locked(directory: Path, *, shared: bool = False, wait: float = WAIT) -> Iterator[None]:
    path = directory / "lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the lock file: {exc.strerror or exc}") from None
    try:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline, pause = time.monotonic() + wait, 0.002
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(f"{path}: still locked by another process after {wait:g} s") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield
    finally:
        os.close(fd)  # releases the lock
