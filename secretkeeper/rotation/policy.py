"""When a managed secret is due for rotation: pure functions of its config, its store status and the
time, so `rotate --due` decides from one cheap status listing and `status` shows the same answer.

In order: a rotation in progress (resume or roll it back) and a secret absent from its store
(bootstrap) are due at once, window or not. Otherwise the earliest of the policy's triggers:

    every        last rotation + every + jitter
    cron         the first firing (UTC) after the last rotation + jitter
    max_age      last rotation + max_age (a hard limit: no jitter)
    renew_before the `expires` status note - renew_before (the policy's, else the issuer section's;
                 default: a third of the lifetime)
    next-step    a change made in several rotations (a CA's replacement) has a step left: at once
    made-from    a secret made from another (a leaf from its CA) whose note differs from what that secret
                 now hands out (`hands-out`): at once, once the other changed

held back until `min_interval` after the last rotation and then to the maintenance window. The last
rotation is the `last-rotated` status note, else when the store says the current version was written.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from providers.base import StoreStatus
from secretkeeper.config.durations import format_duration
from secretkeeper.config.secrets import RotatePolicy, SecretConfig, needed_secrets
from secretkeeper.rotation.window import is_open, next_open

# Status notes that stores keep for rotation (`Store.annotate`): never values.
LAST_ROTATED, NEXT_DUE, ROTATION_ID, ISSUER = "last-rotated", "next-due", "rotation-id", "issuer"
EXPIRES = "expires"  # when the current credential stops working (ISO 8601), noted by issuers that know
NEXT_STEP = "next-step"  # what a rotation in several steps does next (noted by its issuer; "" when none)
HANDS_OUT, MADE_FROM = "hands-out", "made-from"  # a token of what a secret gives the secrets made from it

_DEFAULT_JITTER, _DEFAULT_JITTER_CAP = 0.05, timedelta(hours=1)
_CRON_SAMPLE_START, _CRON_SAMPLE = datetime(2026, 1, 1, tzinfo=UTC), 12


@dataclass(frozen=True)
class Due:
    reason: str  # e.g. "every 30d elapsed", "absent from its store (bootstrap)"


def due(secret: SecretConfig, status: StoreStatus, now: datetime,
        others: Mapping[str, StoreStatus] | None = None) -> Due | None:
    """Why `secret` is to be rotated at `now`, or None when it is not. `others`: the statuses of the
    secrets its issuer needs, by name (what `made-from` is compared with)."""
    urgent = _urgent(status)
    if urgent:
        return Due(urgent)
    plan = _plan(secret, status, _aware(now), others or {})
    return Due(plan[1]) if plan and plan[0] <= now else None


def next_due(secret: SecretConfig, status: StoreStatus, now: datetime,
             others: Mapping[str, StoreStatus] | None = None) -> datetime | None:
    """When `secret` is (or was: overdue and free to run now) due; None when no policy ever makes it."""
    if _urgent(status):
        return now
    plan = _plan(secret, status, _aware(now), others or {})
    return plan[0] if plan else None


def last_rotated(status: StoreStatus) -> datetime | None:
    return _instant(status.metadata.get(LAST_ROTATED)) or status.updated


def expires(status: StoreStatus) -> datetime | None:
    """When the current credential stops working, if its issuer noted it."""
    return _instant(status.metadata.get(EXPIRES))


def _urgent(status: StoreStatus) -> str | None:
    if status.in_progress:
        return "rotation in progress"
    if not status.exists:
        return "absent from its store (bootstrap)"
    return None


def _plan(secret: SecretConfig, status: StoreStatus, now: datetime,
          others: Mapping[str, StoreStatus]) -> tuple[datetime, str] | None:
    """The instant the secret may rotate, after min_interval and the window, and the trigger's reason."""
    policy = secret.rotate or RotatePolicy()
    last = last_rotated(status)
    if last is None:
        if policy.every is None and policy.cron is None and policy.max_age is None:
            return None
        at, reason = now, "never rotated"
    else:
        triggers = _triggers(secret, policy, status, last, now, others)
        if not triggers:
            return None
        at, reason = min(triggers)
        at = max(at, last + policy.min_interval)
    if policy.window is not None and not (at <= now and is_open(policy.window, now)):
        at = next_open(policy.window, max(at, now))
    return at, reason


def _triggers(secret: SecretConfig, policy: RotatePolicy, status: StoreStatus, last: datetime,
              now: datetime, others: Mapping[str, StoreStatus]) -> list[tuple[datetime, str]]:
    name, out = secret.name, []
    if policy.every is not None:
        at = last + policy.every + _jitter(name, policy, policy.every)
        out.append((at, f"every {format_duration(policy.every)} elapsed"))
    if policy.cron is not None:
        from croniter import croniter  # only for secrets with a cron policy: ~0.2 s to import

        fire = croniter(policy.cron, last.astimezone(UTC)).get_next(datetime)
        out.append((fire + _jitter(name, policy, _cron_interval(policy.cron)), f"cron {policy.cron} fired"))
    if policy.max_age is not None:
        out.append((last + policy.max_age, f"max_age {format_duration(policy.max_age)} exceeded"))
    expires = _instant(status.metadata.get(EXPIRES))
    if expires is not None:
        renew_before = policy.renew_before or getattr(secret.issuer, "renew_before", None)
        out.append(_renewal(renew_before, last, expires, now))
    step = status.metadata.get(NEXT_STEP)
    if step:
        out.append((last, f"next step: {step}"))
    made_from = status.metadata.get(MADE_FROM)
    for _key, other_name in needed_secrets(secret):
        other = others.get(other_name)
        hands_out = other.metadata.get(HANDS_OUT) if other is not None else None
        if made_from and hands_out and hands_out != made_from:
            out.append((last, f"{other_name} changed what it hands out (a new signing key or trust bundle)"))
    return out


def _renewal(renew_before: timedelta | None, last: datetime, expires: datetime,
             now: datetime) -> tuple[datetime, str]:
    if renew_before is not None:
        margin, why = renew_before, f"renew_before {format_duration(renew_before)}"
    else:
        margin = max(expires - last, timedelta()) / 3
        why = f"renew_before {format_duration(margin)}: a third of its lifetime"
    left = expires - now
    when = f"expires in {_coarse(left)}" if left > timedelta() else f"expired {_coarse(-left)} ago"
    return expires - margin, f"{when} ({why})"


def _jitter(name: str, policy: RotatePolicy, interval: timedelta) -> timedelta:
    """A stable share of a bounded span: the same secret always lands at the same offset."""
    setting = policy.jitter
    if setting is None:
        span = min(interval * _DEFAULT_JITTER, _DEFAULT_JITTER_CAP)
    elif isinstance(setting, timedelta):
        span = min(setting, interval / 2)
    else:
        span = interval * setting
    share = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2**64
    return timedelta(seconds=int(span.total_seconds() * share))


@functools.lru_cache(maxsize=256)
def _cron_interval(expression: str) -> timedelta:
    """The shortest gap between firings (over a sample of them): what jitter is a share of, computed once
    per expression however many secrets share it."""
    from croniter import croniter

    fires = croniter(expression, _CRON_SAMPLE_START)
    times = [fires.get_next(datetime) for _ in range(_CRON_SAMPLE)]
    return min(b - a for a, b in itertools.pairwise(times))


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 note as an aware instant (UTC when it names no zone); None when absent or unreadable:
    a damaged note falls back to what the store itself says, it never stops a run."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _coarse(span: timedelta) -> str:
    for unit, size in (("d", timedelta(days=1)), ("h", timedelta(hours=1))):
        if span >= size:
            return f"{span // size}{unit}"
    return f"{span // timedelta(minutes=1)}m"


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware (e.g. datetime.now(UTC))")
    return now
