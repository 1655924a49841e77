"""Helpers for the local store's tests: a store built the way the engine builds one (the config section
through the STORES registry), and a walk over every file it wrote."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import TypeAdapter

import providers.stores.local  # noqa: F401  (registers `local`)
from providers.base import STORES
from providers.stores.local.store import LocalStore
from secretkeeper.config.stores import StoreConfig


def build(root: Path, **section: object) -> LocalStore:
    config = TypeAdapter(StoreConfig).validate_python({"type": "local", "path": str(root), **section})
    return STORES["local"]("local", config)


def written_files(*roots: Path) -> list[Path]:
    return [Path(d) / f for root in roots for d, _, names in os.walk(root) for f in names]
