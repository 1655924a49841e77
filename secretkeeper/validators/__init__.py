"""Validators confirm a candidate's structure offline (checksums, PEM parse, JSON shape).

A validator takes the secret bytes and the whole match and returns True when the candidate is
well-formed. Each module in this package registers its validators with `@validator("name")` (from
`validators.base`); the registry refuses duplicates. Rules name validators in their `validator = "..."` key.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from secretkeeper.validators.base import VALIDATORS, Validator

_loaded = False


def registry() -> Mapping[str, Validator]:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
    return VALIDATORS
