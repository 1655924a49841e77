"""Errors of stores and issuers: one line each, naming the store, the path and what failed, never a value.

All are SecretkeeperError (exit 2 from a command) unless the rotation engine handles them: a Conflict is a
lost compare-and-set (another rotator, or a person, changed the secret or its journal first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretkeeper.errors import SecretkeeperError

if TYPE_CHECKING:  # pragma: no cover
    from providers.base import JournalRecord


class StoreError(SecretkeeperError):
    """The store refused or could not be reached (403, sealed, unreachable, throttled...)."""


class NotFound(StoreError):
    """The secret (or the version asked for) does not exist in the store."""


class Conflict(StoreError):
    """A compare-and-set lost: `holder` is the journal record that won, when the journal is what moved."""

    def __init__(self, message: str, holder: JournalRecord | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class Refused(StoreError):
    """The store says the secret is not ours to rotate (e.g. AWS rotation by a Lambda function is on)."""


class IssuerError(SecretkeeperError):
    """The issuer could not make, verify or retire a credential."""


class VerifyFailed(IssuerError):
    """The new credential does not work: the rotation rolls back."""


class NotYet(IssuerError):
    """The issuer's next step waits for something outside (consumers still to move): the run skips the
    secret, nothing changes, and a later run tries again."""
