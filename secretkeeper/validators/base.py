"""The validator registry, which each module of this package fills with `@validator("name")`.

Kept out of the package's `__init__`, which imports every module here: a module that registers a
validator imports this one, so the package and its modules never import each other.
"""

from __future__ import annotations

from collections.abc import Callable

from secretkeeper.registry import Registry

Validator = Callable[[bytes, bytes], bool]
VALIDATORS: Registry[Validator] = Registry("validator")
validator = VALIDATORS.register
