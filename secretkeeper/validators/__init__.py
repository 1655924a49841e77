"""Validators confirm a candidate's structure offline (checksums, PEM parse, JSON shape).

A validator takes the secret bytes and the whole match and returns True when the candidate is
well-formed. Each module in this package registers its validators with `@validator("name")`
(validators/register.py), which refuses duplicates. Rules name validators in their `validator = "..."`
key.
"""

from __future__ import annotations

import importlib
import pkgutil

from secretkeeper.validators.register import VALIDATORS, Validator

_loaded = False


def registry() -> dict[str, Validator]:
    """Every validator by name, once each module in this package has registered its own."""
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
    return VALIDATORS
