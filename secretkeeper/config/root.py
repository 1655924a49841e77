"""`Config`: the whole of `secretkeeper.yaml`, one section per job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secretkeeper.config.invalid import Invalid, config_error
from secretkeeper.config.scan import ScanConfig
from secretkeeper.errors import ConfigError

if TYPE_CHECKING:  # pydantic models: imported by the loader only for a file that has rotation sections
    from secretkeeper.config.lock import LockConfig
    from secretkeeper.config.secrets import SecretConfig
    from secretkeeper.config.stores import StoreConfig

SECTIONS = ("scan", "stores", "secrets", "lock", "deploy")


@dataclass
class Config:
    scan: ScanConfig = field(default_factory=ScanConfig)
    stores: dict[str, StoreConfig] = field(default_factory=dict)  # by name
    secrets: list[SecretConfig] = field(default_factory=list)
    lock: LockConfig | None = None  # a cluster lock beside each store's own (config/lock.py)
    # What `deploy render` (the sync issue) will read; kept as written until that command defines its keys.
    deploy: dict[str, Any] = field(default_factory=dict)
    # Set by load_config, never read from the file.
    path: Path | None = field(default=None, init=False)
    # Lines of this file holding custom rules' examples (synthetic secrets by design, not leaks).
    example_lines: frozenset[int] = field(default_factory=frozenset, init=False)
    # A config found in the scanned tree is the tree's: the files it names must be inside this directory.
    # None for a config the user named (`--config`).
    within: Path | None = field(default=None, init=False)
    # The round-trip document, for the line of a problem found after loading (a rule file, a rule id).
    doc: Any = field(default=None, init=False, repr=False, compare=False)

    def error(self, loc: tuple[Any, ...], msg: str, key: tuple[Any, ...] | None = None) -> ConfigError:
        """`FILE:LINE: key: msg` for a problem at `loc` of this file."""
        return config_error(self.path, self.doc, Invalid(loc, msg, None, key))
