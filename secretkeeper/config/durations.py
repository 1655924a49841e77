"""Durations as people write them in the config: `30d`, `12h`, `90m`, `2w`, `1d12h`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_PART = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any) -> timedelta:
    """A positive duration; a bare number is refused (seconds or days? the config says which)."""
    if isinstance(value, timedelta):
        return value
    text = value.strip() if isinstance(value, str) else ""
    parts = _PART.findall(text)
    if not parts or "".join(n + unit for n, unit in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30d, 12h, 90m, 1d12h)")
    total = timedelta(seconds=sum(int(n) * _SECONDS[unit] for n, unit in parts))
    if not total:
        raise ValueError("a duration must be longer than zero")
    return total


def format_duration(value: timedelta) -> str:
    """A duration as `parse_duration` reads it, to the minute, largest units first: `2d4h`, `45m`."""
    minutes = int(value.total_seconds() // 60)
    if minutes <= 0:
        return "0m"
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
