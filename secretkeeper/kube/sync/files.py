"""What the targets that write files (manifest, sealed, sops) share: reading back what they wrote, making
their folder and removing their file, each failure a SyncError naming the path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from secretkeeper.fileio import read_input

from secretkeeper.kube.sync.target import SyncError


def load_file(path: Path, limit: int) -> Any:
    """The YAML document at `path` (at most `limit` bytes): None when there is no file, "unreadable"
    when it cannot be read or parsed (a target then refuses to overwrite or remove it)."""
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ="safe").load(read_input(path, limit))
    except FileNotFoundError:
        return None
    except (OSError, YAMLError, ValueError):
        return "unreadable"


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
