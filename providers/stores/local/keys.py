"""The local store's key: base64 of 32 random bytes from SECRETKEEPER_LOCAL_KEY, else from a 0600 key file
created on first use. Errors name the variable or the file, never echo what they hold."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from providers.errors import StoreError
import providers.stores.local.files as files

ENV = "SECRETKEEPER_LOCAL_KEY"
_STALE = 60.0  # seconds: a key file's temp copy older than this was left by a process that died


@dataclass(frozen=True)
class Key:
    material: bytes = field(repr=False)
    source: str  # where it came from, for messages: the variable's name or the key file's path


def load_key(key_file: Path, *, create: bool) -> Key | None:
    """The key, from the environment or `key_file`; a missing file is created when `create` (a store's
    first write), else None."""
    text = os.environ.get(ENV)
    if text:
        return Key(_decode(text, ENV), ENV)
    _remove_stale_temps(key_file)
    data = files.read_bytes(key_file)
    if data is None and create:
        files.make_dirs(key_file.parent)
        fresh = base64.b64encode(secrets.token_bytes(32)) + b"\n"
        if files.create(key_file, fresh):
            return Key(base64.b64decode(fresh), str(key_file))
        data = files.read_bytes(key_file)  # another process created it first: use theirs
    if data is None:
        return None
    _check_private(key_file)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    return Key(_decode(text, f"key file {key_file}"), str(key_file))


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise StoreError(f"{source} is not base64 (expected base64 of 32 random bytes)") from None
    if len(key) != 32:
        raise StoreError(f"{source} decodes to {len(key)} bytes, expected 32 (an AES-256 key)")
    return key


def _check_private(key_file: Path) -> None:
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise StoreError(f"{key_file}: key file is open to group or others (mode {mode:04o}); "
                         f"run: chmod 600 {key_file}")


def _remove_stale_temps(key_file: Path) -> None:
    """A process killed while creating the key file leaves its temp copy (the key, 0600) beside it."""
    try:
        names = os.listdir(key_file.parent)
    except OSError:
        return
    now = time.time()
    for name in names:
        if name.startswith(f".{key_file.name}.") and name.endswith(".tmp"):
            temp = key_file.parent / name
            try:
                old = now - temp.stat().st_mtime > _STALE
            except OSError:
                continue
            if old:
                files.remove(temp)
