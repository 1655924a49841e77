"""Maintenance windows keep to local wall-clock time in their own zone, across the days clocks change:
a window inside the skipped hour does not happen that day (the secret waits a day), a window over the
repeated hour lasts for both of its occurrences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from secretkeeper.config.secrets import MaintenanceWindow
from secretkeeper.rotation.window import is_open, next_open


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(start: str, end: str, zone: str, days: list[str] | None = None) -> MaintenanceWindow:
    return MaintenanceWindow(start, end, zone, days or [])


def open_minutes(w: MaintenanceWindow, begin: datetime, hours: int) -> list[tuple[datetime, datetime]]:
    """The open spans between `begin` and `begin + hours`, minute by minute."""
    spans, start = [], None
    for minute in range(hours * 60 + 1):
        at = begin + timedelta(minutes=minute)
        if is_open(w, at) and start is None:
            start = at
        elif not is_open(w, at) and start is not None:
            spans.append((start, at))
            start = None
    return spans


# Spring forward: Europe/Berlin 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z);
# America/New_York 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
# Fall back: Europe/Berlin 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z);
# America/New_York 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
DST_DAYS = [
    # zone, window, a UTC day around the change, the open spans that day (UTC)
    ("Europe/Berlin", ("02:00", "03:00"), utc(2026, 3, 28, 12), []),  # wholly inside the gap
    ("Europe/Berlin", ("01:30", "02:30"), utc(2026, 3, 28, 12), [(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1))]),
    ("Europe/Berlin", ("02:30", "04:00"), utc(2026, 3, 28, 12), [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]),
    ("Europe/Berlin", ("02:00", "03:00"), utc(2026, 10, 24, 12), [(utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))]),
    ("Europe/Berlin", ("01:00", "02:00"), utc(2026, 10, 24, 12), [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 0))]),
    ("America/New_York", ("02:00", "03:00"), utc(2026, 3, 8, 0), []),
    ("America/New_York", ("01:30", "02:30"), utc(2026, 3, 8, 0), [(utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7))]),
    ("America/New_York", ("01:00", "02:00"), utc(2026, 11, 1, 0), [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))]),
    ("America/New_York", ("23:00", "01:30"), utc(2026, 10, 31, 12),  # over midnight; 01:00-01:30 twice
     [(utc(2026, 11, 1, 3), utc(2026, 11, 1, 5, 30)), (utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30))]),
]


@pytest.mark.parametrize("zone, hours, day, spans", DST_DAYS)
def test_windows_on_the_days_clocks_change(zone, hours, day, spans):
    w = window(*hours, zone)
    assert open_minutes(w, day, 24) == spans
    expected_open = spans[0][0] if spans else None
    if expected_open is not None:
        assert next_open(w, day) == expected_open
        assert next_open(w, expected_open + timedelta(minutes=5)) == expected_open + timedelta(minutes=5)


@pytest.mark.parametrize("zone, hours, days, after, expected", [
    # A window wholly inside the gap waits for the next day's, at the same wall-clock time...
    ("Europe/Berlin", ("02:00", "03:00"), None, utc(2026, 3, 28, 12), utc(2026, 3, 30, 0)),
    ("America/New_York", ("02:00", "03:00"), None, utc(2026, 3, 8, 0), utc(2026, 3, 9, 6)),
    # ...or, on one day a week, for the next week's.
    ("Europe/Berlin", ("02:00", "03:00"), ["sun"], utc(2026, 3, 22, 5), utc(2026, 4, 5, 0)),
    # The day after a change, the window is at its new UTC time.
    ("Europe/Berlin", ("02:00", "03:00"), None, utc(2026, 10, 25, 3), utc(2026, 10, 26, 1)),
])
def test_the_next_opening_across_a_clock_change(zone, hours, days, after, expected):
    assert next_open(window(*hours, zone, days), after) == expected


def test_a_window_over_midnight_belongs_to_the_day_it_starts():
    fri_night = window("22:00", "02:00", "Europe/Berlin", ["fri"])
    assert is_open(fri_night, utc(2026, 6, 19, 21))  # Fri 23:00 CEST
    assert is_open(fri_night, utc(2026, 6, 19, 23, 30))  # Sat 01:30 CEST: still Friday's window
    assert not is_open(fri_night, utc(2026, 6, 20, 21))  # Sat 23:00 CEST
    assert not is_open(fri_night, utc(2026, 6, 19, 0, 30))  # Fri 02:30 CEST: Thursday's would-be window
    assert next_open(fri_night, utc(2026, 6, 20, 12)) == utc(2026, 6, 26, 20)


def test_days_and_the_zone_are_the_windows_own():
    weekend = window("02:00", "05:00", "Asia/Tokyo", ["sat", "sun"])
    assert next_open(weekend, utc(2026, 6, 15, 12)) == utc(2026, 6, 19, 17)  # Sat 02:00 JST
    assert is_open(weekend, utc(2026, 6, 20, 19, 59)) and not is_open(weekend, utc(2026, 6, 20, 20))
