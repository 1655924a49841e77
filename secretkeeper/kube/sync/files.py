"""What the targets that write files (manifest, sealed, sops) share: making their folder and removing
their file, each failure a SyncError naming the path."""

from __future__ import annotations

import os
from pathlib import Path

from secretkeeper.kube.sync.target import SyncError


def make_folder(folder: Path, mode: int = 0o777) -> None:
    try:
        folder.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as exc:
        raise SyncError(f"{folder}: cannot create folder: {exc.strerror}") from None


def remove_file(file: Path, where: str) -> None:
    try:
        os.unlink(file)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SyncError(f"{where}: cannot remove: {exc.strerror}") from None
