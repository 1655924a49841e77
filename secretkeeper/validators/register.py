"""The `@validator("name")` decorator and the table it fills; a name registered twice is refused.

Apart from the package's `registry()`, which imports every validator module: those modules import this
one, never the package that loads them.
"""

from __future__ import annotations

from collections.abc import Callable

Validator = Callable[[bytes, bytes], bool]
VALIDATORS: dict[str, Validator] = {}


def validator(name: str) -> Callable[[Validator], Validator]:
    def register(fn: Validator) -> Validator:
        if name in VALIDATORS:
            raise RuntimeError(f"validator {name!r} registered twice")
        VALIDATORS[name] = fn
        return fn

    return register
