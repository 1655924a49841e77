"""When a managed secret is due for rotation: its `rotate:` policy against its store's status notes.

A minimal version for the engine (`every`, `max_age`): the full policy (cron, renew_before, window, jitter,
minimum interval) replaces it with the same `due` / `next_due` interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from providers.base import StoreStatus
from secretkeeper.config.durations import format_duration
from secretkeeper.config.secrets import SecretConfig


@dataclass(frozen=True)
class Due:
    reason: str  # one line for people: "never rotated", "every 30d elapsed"


def last_rotated(status: StoreStatus) -> datetime | None:
    note = status.metadata.get("last-rotated")
    if note:
        try:
            return datetime.fromisoformat(note)
        except ValueError:
            pass  # a note someone edited by hand: the version's own time still says when
    return status.updated


def due(secret: SecretConfig, status: StoreStatus, now: datetime) -> Due | None:
    last = last_rotated(status)
    if last is None:
        return Due("never rotated")
    when = next_due(secret, status, now)
    if when is None or when > now:
        return None
    policy = secret.rotate
    assert policy is not None  # next_due is None without a policy
    if policy.every is not None:
        return Due(f"every {format_duration(policy.every)} elapsed")
    return Due(f"max_age {format_duration(policy.max_age)} reached")  # type: ignore[arg-type]


def next_due(secret: SecretConfig, status: StoreStatus, now: datetime) -> datetime | None:
    last = last_rotated(status)
    policy = secret.rotate
    if last is None or policy is None:
        return None
    interval = policy.every or policy.max_age
    return last + interval if interval else None
