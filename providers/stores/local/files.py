"""Where a local store keeps what, and the only ways it changes a file: atomic 0600 writes through
secretkeeper.fileio, unlinks and 0700 directories, each followed by the `store-request` crash point.

    <path>/store.json                     the store's id and key check (no secret)
    <path>/secrets/<quoted path>/lock     the fcntl lock serialising this secret's writers
                                meta.json versions, current, previous, pending tokens, status notes
                                journal.json  the rotation journal (version ids, never values)
                                versions/<n>.enc  one AES-256-GCM ciphertext per version

A secret's path is one directory name (percent-quoted), so `a/b` and `a/b/c` never share a directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from providers.errors import StoreError
from secretkeeper.fileio import create_private_bytes, write_private_bytes
from secretkeeper.rotation.crashpoints import reached

_MAX_NAME = 240  # below the 255 bytes a file name may have, with room for a temp file's affixes


def secret_dir(root: Path, path: str) -> Path:
    """The directory of the secret at `path`; a path that cannot be one is a one-line error."""
    name = quote(path, safe="")
    if not path or "\0" in path or name in (".", "..") or len(name) > _MAX_NAME:
        raise StoreError(f"{root}: {path[:80]!r} cannot be a secret path (empty, '.', '..', or too long)")
    return root / "secrets" / name


def version_file(directory: Path, version: str) -> Path:
    return directory / "versions" / f"{version}.enc"


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_json(path: Path) -> Any:
    """The file's JSON document, or None when it does not exist."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        raise StoreError(f"{path}: not valid JSON: the local store's file is damaged") from None


def write(path: Path, data: bytes) -> None:
    write_private_bytes(path, data)
    reached("store-request")


def write_json(path: Path, doc: Any) -> None:
    write(path, json.dumps(doc, sort_keys=True, indent=1).encode())


def create(path: Path, data: bytes) -> bool:
    """Create `path` only if absent (False when another process did first)."""
    created = create_private_bytes(path, data)
    if created:
        reached("store-request")
    return created


def remove(path: Path) -> None:
    """Unlink `path`; one that is already gone is no error (a repeat after a crash)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot remove: {exc.strerror or exc}") from None
    reached("store-request")


def make_dirs(path: Path) -> None:
    """`path` and its missing parents, each 0700: a store's directory listing names its secrets."""
    missing = []
    for directory in (path, *path.parents):
        if directory.is_dir():
            break
        missing.append(directory)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # another process made it first
        except OSError as exc:
            raise StoreError(f"{directory}: cannot create the directory: {exc.strerror or exc}") from None
        reached("store-request")


def tidy(directory: Path, versions: set[str]) -> None:
    """Remove what a writer killed mid-way left in a secret's directory: temp files, and version files
    the metadata does not list. Called under the secret's lock, so no live writer owns them."""
    for folder in (directory, directory / "versions"):
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            orphan_version = folder.name == "versions" and name.endswith(".enc") \
                and name.removesuffix(".enc") not in versions
            if name.endswith(".tmp") or orphan_version:
                remove(folder / name)
