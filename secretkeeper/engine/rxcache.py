"""The catalog's confirmation regexes, compiled once per machine instead of once per process.

`re.compile` parses and compiles in Python: the ~320 catalog regexes cost ~0.2 s, paid again by every
process (each pool worker compiles the rules its files hit). Their compiled form (what `re._compiler`
hands to `_sre.compile`) is kept in the cache directory next to the Hyperscan database, keyed by the
catalog, the interpreter version and the regex engine's magic number, and rebuilt into pattern objects
in microseconds. Anything unexpected (another interpreter, a damaged entry) falls back to `re.compile`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import secretkeeper.engine.hscache as hscache

log = logging.getLogger(__name__)

try:  # CPython's regex engine; without it (or with another layout) every regex takes `re.compile`
    import _sre
    import re._compiler as _compiler  # type: ignore[import-not-found]
    import re._parser as _parser  # type: ignore[import-not-found]

    _ENGINE = f"{sys.implementation.name}-{sys.version}-{_sre.MAGIC}-{_sre.CODESIZE}"
except (ImportError, AttributeError):  # pragma: no cover - not CPython 3.11+
    _sre = None
    _ENGINE = ""

FORMAT = 1
_pending: tuple[list[str], Callable[[str], bytes]] | None = None
_table: dict[str, tuple[Any, ...]] | None = None


def register(regexes: Sequence[str], prepare: Callable[[str], bytes], use_cache: bool = True) -> None:
    """The catalog's regexes (as written) and how each becomes the pattern compiled (`prepare`). Nothing
    is read until a regex is first compiled: a scan without a hit never touches the cache."""
    global _pending, _table
    if _sre is None or not use_cache:
        return
    if _pending is None or _pending[0] != list(regexes):
        _pending, _table = (list(regexes), prepare), None


def compile(regex: str, prepare: Callable[[str], bytes]) -> re.Pattern[bytes]:
    """`re.compile(prepare(regex))`, from the cache when `regex` belongs to the registered catalog and
    its entry was compiled from the same prepared text (the cache is keyed by the regexes as written)."""
    pattern = prepare(regex)
    parts = _lookup(regex)
    if parts is not None and parts[0] == pattern:
        try:
            return _sre.compile(*parts)  # type: ignore[no-any-return,union-attr]
        except Exception as exc:  # an engine that changed shape: never again this run
            _disable(f"cached regex rejected ({type(exc).__name__})")
    return re.compile(pattern)


def _lookup(regex: str) -> tuple[Any, ...] | None:
    global _table
    if _table is None:
        if _pending is None:
            return None
        _table = _load_or_build(*_pending)
    return _table.get(regex)


def _disable(why: str) -> None:
    global _pending, _table
    log.debug("regex cache off: %s", why)
    _pending, _table = None, {}


def _load_or_build(regexes: list[str], prepare: Callable[[str], bytes]) -> dict[str, tuple[Any, ...]]:
    key = hashlib.sha256(json.dumps([FORMAT, _ENGINE, regexes]).encode()).hexdigest()[:32]
    path: Path = hscache.cache_dir() / f"rx-{key}.marshal"
    _header, payload = hscache.cached(path, True, lambda: ({"format": FORMAT}, marshal.dumps(_build(regexes, prepare))))
    try:
        table = marshal.loads(payload)
        if isinstance(table, dict):
            return table
    except (EOFError, ValueError, TypeError):
        pass
    log.debug("regex cache %s unreadable: compiling", path)
    return {}


def _build(regexes: list[str], prepare: Callable[[str], bytes]) -> dict[str, tuple[Any, ...]]:
    """Each regex's arguments to `_sre.compile`, as `re._compiler.compile` computes them (in plain ints,
    which marshal keeps)."""
    out: dict[str, tuple[Any, ...]] = {}
    for regex in regexes:
        pattern = prepare(regex)
        try:
            parsed = _parser.parse(pattern, 0)
            code = _compiler._code(parsed, 0)
        except Exception:  # an invalid regex fails later, where it is reported by name
            continue
        groupindex = {name: int(i) for name, i in parsed.state.groupdict.items()}
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        out[regex] = (pattern, int(parsed.state.flags), [int(c) for c in code], parsed.state.groups - 1,
                      groupindex, tuple(indexgroup))
    return out
