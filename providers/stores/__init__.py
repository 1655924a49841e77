"""Stores, one package per type (`vault`, `aws`, `local`), each implementing `providers.base.Store`
split by verb (read, stage, promote, discard, journal, auth) and registered in `providers.base.STORES`
under its config `type:` name; `open_store` imports a type's package when a config first uses it."""

from __future__ import annotations

import importlib
from typing import Any

from providers.base import STORES, Store
from secretkeeper.errors import ConfigError

_PACKAGES = {"vault": "vault", "aws-secrets-manager": "aws", "local": "local"}


def open_store(name: str, config: Any) -> Store:
    """The store declared as `stores.NAME`. A type already registered (by a plugin, or a test) is used as
    it is."""
    kind = config.type
    if kind not in STORES:
        package = f"providers.stores.{_PACKAGES[kind]}"
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name != package:
                raise
            raise ConfigError(f"stores.{name}: store type {kind!r} is not available in this build") from None
    return STORES[kind](name, config)
