"""What a rotation run tells as it goes: an audit record for every step, and a progress line on stderr.

Both carry names, steps, outcomes and version ids; errors are the one-line messages of the errors
raised, which never hold a value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from providers.base import Issuer, Store
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.kube.sync import Target
from secretkeeper.rotation.audit import Audit


@dataclass
class Subject:
    """One managed secret with what the engine needs to rotate it."""

    config: SecretConfig
    store_name: str
    store: Store
    issuer: Issuer
    targets: list[Target]
    # What the previous credential still waits for before Issuer.retire (consumers not yet moved off it),
    # or None when it may go; None here: nothing to wait for.
    drained: Callable[[], str | None] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def path(self) -> str:
        return self.config.path


class Trail:
    def __init__(self, audit: Audit, progress: TextIO | None = None) -> None:
        self.audit = audit
        self.progress = progress if progress is not None else sys.stderr

    def step(self, subject: Subject, step: str, *, outcome: str = "ok", note: str = "",
             versions: dict[str, str | None] | None = None, error: str | None = None) -> None:
        self.audit.record(step, secret=subject.name, store=subject.store_name, path=subject.path,
                          outcome=outcome, versions=versions, error=error)
        detail = note or error or ""
        self.say(f"{subject.name}: {step}" + (f": {detail}" if detail else ""))

    def say(self, line: str) -> None:
        print(line, file=self.progress, flush=True)
