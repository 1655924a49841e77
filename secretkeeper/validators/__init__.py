"""Validators confirm a candidate's structure offline (checksums, PEM parse, JSON shape).

A validator takes the secret bytes and the whole match and returns True when the candidate is
well-formed. Each module in this package registers its validators with `@validator("name")`; the
registry refuses duplicates. Rules name validators in their `validator = "..."` key.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping

from secretkeeper.registry import Registry

Validator = Callable[[bytes, bytes], bool]
_REGISTRY: Registry[Validator] = Registry("validator")
_loaded = False

validator = _REGISTRY.register


def registry() -> Mapping[str, Validator]:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
    return _REGISTRY
