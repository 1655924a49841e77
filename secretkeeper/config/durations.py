"""Durations as people write them in the config (`30d`, `12h`, `90m`, `2w`, `1d12h`), read and written."""

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
    """The way the config writes it, largest units first: 30d, 1d12h, 1h30m (weeks as days)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, _SECONDS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
