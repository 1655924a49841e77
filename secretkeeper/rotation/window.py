"""Maintenance windows: is one open at an instant, and when does it next open.

A window is the set of instants whose local wall-clock time, in the window's own zone, lies in
[start, end) on one of its days (for a window crossing midnight, the day it started). So on the day
clocks spring forward, the part of a window inside the skipped hour does not happen (a window wholly
inside it waits for the next day's), and on the day they fall back, the repeated hour counts twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from secretkeeper.config.secrets import MaintenanceWindow

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Days searched for the next opening: a daily window's next day, or a weekly one's next week, and the
# occurrence after that one when a spring-forward gap swallows it.
_HORIZON_DAILY, _HORIZON_WEEKLY = 3, 15


def is_open(window: MaintenanceWindow, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(window.timezone))
    start, end, wall = time.fromisoformat(window.start), time.fromisoformat(window.end), local.time()
    if start < end:
        inside, day = start <= wall < end, local.date()
    else:  # crosses midnight: the early hours belong to the window that started the evening before
        inside = wall >= start or wall < end
        day = local.date() if wall >= start else local.date() - timedelta(days=1)
    return inside and (not window.days or _DAYS[day.weekday()] in window.days)


def next_open(window: MaintenanceWindow, at: datetime) -> datetime:
    """`at` if the window is open then, else the first instant after it when it is.

    A window opens either when the wall clock reaches `start` (once, or twice in a repeated hour) or
    when a clock change jumps past `start`: those instants are the only candidates."""
    if is_open(window, at):
        return at
    zone = ZoneInfo(window.timezone)
    start = time.fromisoformat(window.start)
    first_day = at.astimezone(zone).date()
    horizon = _HORIZON_WEEKLY if window.days else _HORIZON_DAILY
    candidates = {datetime.combine(first_day + timedelta(days=n), start, tzinfo=zone).replace(fold=fold)
                  .astimezone(UTC) for n in range(horizon) for fold in (0, 1)}
    candidates.update(_clock_changes(zone, first_day, horizon))
    for candidate in sorted(candidates):
        if candidate > at and is_open(window, candidate):
            return candidate
    raise ValueError(f"maintenance window {window.start}-{window.end} {window.timezone} never opens")


def _clock_changes(zone: ZoneInfo, first_day: date, days: int) -> list[datetime]:
    """The instants within `days` from `first_day` at which `zone`'s UTC offset changes."""
    changes = []
    begin = datetime.combine(first_day - timedelta(days=1), time(), tzinfo=UTC)
    for n in range(days + 1):
        low, high = begin + timedelta(days=n), begin + timedelta(days=n + 1)
        if low.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
            continue
        before = low.astimezone(zone).utcoffset()
        while high - low > timedelta(seconds=1):  # the first second with the new offset
            middle = low + (high - low) / 2
            if middle.astimezone(zone).utcoffset() == before:
                low = middle
            else:
                high = middle
        changes.append(high.replace(microsecond=0))
    return changes
