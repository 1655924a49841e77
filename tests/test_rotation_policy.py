"""When a managed secret is due: every trigger and gate of a rotation policy, table-driven, with the
reason a user reads in `rotate --due` and `status`; windows across DST changes; jitter that spreads a
thousand secrets yet never moves one of them from run to run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from providers.base import StoreStatus
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.rotation.policy import Due, due, next_due

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday
D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


SECRET = TypeAdapter(SecretConfig)


def secret(rotate: dict | None, name: str = "payments-db") -> SecretConfig:
    """Validated as the config loader validates it (durations, cron, jitter); jitter off unless asked."""
    doc = {"name": name, "store": "local", "path": "prod/db", "issuer": {"type": "random"}}
    if rotate is not None:
        doc["rotate"] = {"jitter": 0, **rotate}
    return SECRET.validate_python(doc)


def status(updated: datetime | None = None, exists: bool = True, in_progress: bool = False,
           **notes: str) -> StoreStatus:
    return StoreStatus("prod/db", exists, "3" if exists else None, updated, in_progress=in_progress,
                       metadata={k.replace("_", "-"): v for k, v in notes.items()})


def iso(when: datetime) -> str:
    return when.isoformat()


BERLIN_NIGHT = {"start": "02:00", "end": "04:00", "timezone": "Europe/Berlin"}

CASES = [
    # (policy, status, due reason or None, next_due)
    ({"every": "30d", "window": BERLIN_NIGHT}, status(NOW - 10 * D, in_progress=True),
     "rotation in progress", NOW),
    ({"every": "30d", "window": BERLIN_NIGHT}, status(exists=False), "absent from its store (bootstrap)", NOW),
    (None, status(exists=False), "absent from its store (bootstrap)", NOW),
    (None, status(NOW - 900 * D), None, None),
    ({"every": "30d"}, status(NOW - 31 * D), "every 30d elapsed", NOW - D),
    ({"every": "30d"}, status(NOW - 29 * D), None, NOW + D),
    ({"every": "1d12h"}, status(NOW - 2 * D), "every 1d12h elapsed", NOW - 12 * H),
    ({"every": "30d"}, status(NOW - 40 * D, last_rotated=iso(NOW - 10 * D)), None, NOW + 20 * D),
    ({"every": "30d"}, status(NOW - 40 * D, last_rotated="last tuesday"), "every 30d elapsed", NOW - 10 * D),
    ({"every": "30d"}, status(None), "never rotated", NOW),
    ({"cron": "0 3 * * 1"}, status(datetime(2026, 6, 8, 3, 0, tzinfo=UTC)), "cron 0 3 * * 1 fired",
     datetime(2026, 6, 15, 3, 0, tzinfo=UTC)),
    ({"cron": "0 3 * * 1"}, status(datetime(2026, 6, 15, 3, 0, tzinfo=UTC)), None,
     datetime(2026, 6, 22, 3, 0, tzinfo=UTC)),
    ({"max_age": "90d"}, status(NOW - 91 * D), "max_age 90d exceeded", NOW - D),
    ({"every": "30d", "max_age": "90d"}, status(NOW - 95 * D), "every 30d elapsed", NOW - 65 * D),
    ({"renew_before": "30d"}, status(NOW - 80 * D, expires=iso(NOW + 3 * D)),
     "expires in 3d (renew_before 30d)", NOW - 27 * D),
    ({"renew_before": "30d"}, status(NOW - 80 * D, expires=iso(NOW - 2 * D - H)),
     "expired 2d ago (renew_before 30d)", NOW - 32 * D - H),
    ({"renew_before": "30d"}, status(NOW - 10 * D, expires=iso(NOW + 31 * D)), None, NOW + D),
    (None, status(NOW - 60 * D, expires=iso(NOW + 15 * D)),
     "expires in 15d (renew_before 25d: a third of its lifetime)", NOW - 10 * D),
    ({"every": "1m"}, status(NOW - 10 * M), None, NOW + 50 * M),  # min_interval 1h: no rotation loop
    ({"every": "1m", "min_interval": "5m"}, status(NOW - 10 * M), "every 1m elapsed", NOW - 5 * M),
    ({"renew_before": "30d"}, status(NOW - 10 * M, expires=iso(NOW + D)), None, NOW + 50 * M),
]


@pytest.mark.parametrize("policy, state, reason, when", CASES)
def test_due_and_next_due(policy, state, reason, when):
    got = due(secret(policy), state, NOW)
    assert got == (Due(reason) if reason else None)
    assert next_due(secret(policy), state, NOW) == when


@pytest.mark.parametrize("policy, state, reason, when", CASES)
def test_due_exactly_when_next_due_has_come(policy, state, reason, when):
    """Whatever the policy, `status` and `rotate --due` agree: due at t iff next_due(t) <= t."""
    for step in range(-48, 49, 3):
        now = NOW + step * H
        upcoming = next_due(secret(policy), state, now)
        assert (due(secret(policy), state, now) is not None) == (upcoming is not None and upcoming <= now), now


@pytest.mark.parametrize("now, expected, when", [
    (datetime(2026, 6, 15, 1, 30, tzinfo=UTC), "every 30d elapsed", NOW - 10 * D),  # overdue, window open
    (NOW, None, datetime(2026, 6, 16, 0, 0, tzinfo=UTC)),  # 02:00 CEST the next night
])
def test_a_due_secret_waits_for_its_window(now, expected, when):
    policy = secret({"every": "30d", "window": BERLIN_NIGHT})
    state = status(NOW - 40 * D)
    assert due(policy, state, now) == (Due(expected) if expected else None)
    assert next_due(policy, state, now) == when


def test_a_window_on_some_days_only_waits_for_the_next_such_day():
    policy = secret({"max_age": "30d", "window": {**BERLIN_NIGHT, "days": ["sat", "sun"]}})
    assert next_due(policy, status(NOW - 40 * D), NOW) == datetime(2026, 6, 20, 0, 0, tzinfo=UTC)


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        due(secret({"every": "30d"}), status(NOW - 40 * D), datetime(2026, 6, 15, 12, 0))


def offsets(policy: dict, names: list[str]) -> list[timedelta]:
    last = NOW - 400 * D
    return [next_due(secret(policy, name), status(last), NOW - 1000 * D) - last - timedelta(days=30)
            for name in names]


NAMES = [f"app-{i}-db" for i in range(1000)]


def test_default_jitter_spreads_a_thousand_secrets_over_an_hour():
    policy = {"every": "30d", "jitter": None}
    spread = offsets(policy, NAMES)
    assert all(timedelta() <= o < H for o in spread)
    per_minute = Counter(int(o / M) for o in spread)
    assert len(per_minute) == 60 and max(per_minute.values()) <= 35, per_minute.most_common(3)
    assert offsets(policy, NAMES[:50]) == spread[:50], "a secret's offset never moves between runs"


@pytest.mark.parametrize("jitter, every, bound", [
    ("10%", "30d", 3 * D),
    ("2h", "30d", 2 * H),
    ("2h", "1h", 30 * M),  # a duration is held to half the interval
    ("5%", "1h", 3 * M),
])
def test_jitter_is_bounded(jitter, every, bound):
    policy = {"every": every, "jitter": jitter, "min_interval": "1m"}
    interval = secret({"every": every}).rotate.every
    last = NOW - 400 * D
    spread = [next_due(secret(policy, n), status(last), NOW - 1000 * D) - last - interval for n in NAMES[:300]]
    assert all(timedelta() <= o < bound for o in spread) and max(spread) > bound * 0.9


def test_max_age_and_renewal_deadlines_are_never_jittered():
    last = NOW - 400 * D
    for name in NAMES[:20]:
        assert next_due(secret({"max_age": "30d", "jitter": "50%"}, name), status(last), NOW - 1000 * D) == \
            last + 30 * D


def test_cron_jitter_is_a_share_of_the_shortest_gap_between_firings():
    """`0 3 * * 1-5` fires daily on weekdays: 10% is of a day, even across the weekend's longer gap."""
    last = datetime(2026, 6, 12, 3, 0, tzinfo=UTC)  # a Friday's firing: the next is Monday's
    spread = [next_due(secret({"cron": "0 3 * * 1-5", "jitter": "10%"}, n), status(last), last) -
              datetime(2026, 6, 15, 3, 0, tzinfo=UTC) for n in NAMES[:300]]
    assert all(timedelta() <= o < D / 10 for o in spread) and max(spread) > 2 * H
