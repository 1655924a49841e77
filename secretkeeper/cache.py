"""The on-disk cache: where it lives, and entries made once per machine (Hyperscan databases, the parsed
catalog, compiled regexes).

Files are named by a hash of everything that went into them and written by the project's one atomic
0600 writer; a cache that cannot be read or written only costs a rebuild. An entry (`load`, `store`,
`cached`) is a 4-byte header length, a JSON header, then a payload.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import write_private_bytes

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
    save(path, struct.pack(">I", len(head)) + head + payload)


def save(path: Path, data: bytes) -> None:
    """Write a cache file (and its directory); a failure is logged, never raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_bytes(path, data)
    except OSError as exc:
        log.debug("cannot write cache %s: %s", path, exc.strerror)
    except SecretkeeperError as exc:  # a read-only home must not break scanning
        log.debug("%s", exc)


def cached(path: Path, use_cache: bool, build: Callable[[], tuple[Any, bytes]]) -> tuple[Any, bytes]:
    """(header, payload) from the cache at `path`, or made by `build` and stored there."""
    loaded = load(path) if use_cache else None
    if loaded is None:
        loaded = build()
        if use_cache:
            store(path, *loaded)
    return loaded
