"""What every sync target kind implements, and the one error they raise."""

from __future__ import annotations

from typing import Protocol

from providers.base import SecretVersion
from secretkeeper.errors import SecretkeeperError


class SyncError(SecretkeeperError):
    """A target could not be written (one line naming the target, never a value)."""


class Target(Protocol):
    kind: str  # the config key: "manifest"
    where: str  # what it writes, for people: a file, a namespace/name
    encrypted: bool  # False: anyone who can read `where` has the value

    def write(self, version: SecretVersion) -> None: ...  # raises SyncError

    def remove(self) -> None: ...  # what a rolled-back first rotation leaves: nothing

    def holds(self) -> str | None: ...  # the store version the target holds now, if it says
