"""What a rotation run tells as it goes: an audit record for every step, and a progress line on stderr.

Both carry names, steps, outcomes and version ids; errors are the one-line messages of the errors
raised, which never hold a value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
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
    # The cluster lock held around the whole rotation (`lock: {kubernetes: ...}`: a Lease), or None;
    # entering it raises secretkeeper.kube.lease.LeaseHeld when another rotator holds it.
    cluster_lock: Callable[[], AbstractContextManager[None]] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def path(self) -> str:
        return self.config.path

    def drained(self) -> str | None:
        """What the previous credential still waits for before Issuer.retire: the live consumers of the
        `kubernetes` targets not yet moved off it (secretkeeper/kube/restarts.py); None when it may go."""
        live = [t for t in self.targets if getattr(t, "kind", None) == "kubernetes"]
        if not live:
            return None
        from secretkeeper.kube.restarts import drained

        return next((why for why in map(drained, live) if why), None)  # type: ignore[arg-type]

    @property
    def has_consumers(self) -> bool:
        """Whether a retire may wait for consumers (a `kubernetes` target)."""
        return any(getattr(t, "kind", None) == "kubernetes" for t in self.targets)


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
