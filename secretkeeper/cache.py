"""The on-disk cache: where it lives, and entries made once per machine (Hyperscan databases, the parsed
catalog, compiled regexes).

An entry is a 4-byte header length, a JSON header, then a payload. Entries are keyed by a hash of
everything that went into them and written atomically with mode 0600; a cache that cannot be read or
written only costs a rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    base = os.environ.get("SECRETKEEPER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "secretkeeper"
    )
    return Path(base)


def load(path: Path) -> tuple[Any, bytes] | None:
    try:
        raw = path.read_bytes()
        (hlen,) = struct.unpack(">I", raw[:4])
        return json.loads(raw[4 : 4 + hlen]), raw[4 + hlen :]
    except (OSError, ValueError, struct.error):
        return None


def store(path: Path, header: Any, payload: bytes) -> None:
    head = json.dumps(header).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(struct.pack(">I", len(head)) + head + payload)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home must not break scanning
        log.debug("cannot write cache %s: %s", path, exc.strerror)


def cached(path: Path, use_cache: bool, build: Callable[[], tuple[Any, bytes]]) -> tuple[Any, bytes]:
    """(header, payload) from the cache at `path`, or made by `build` and stored there."""
    loaded = load(path) if use_cache else None
    if loaded is None:
        loaded = build()
        if use_cache:
            store(path, *loaded)
    return loaded
