"""Report writers, one module per format. Each exposes `render(result, *, color=False) -> str`.

Writers see only Findings (hashes and redacted previews), never secret values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from collections.abc import Callable

if TYPE_CHECKING:
    from secretkeeper.results import ScanResult

FORMATS = ("text", "json", "sarif", "junit")
_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "junit": "junit"}


def renderer(fmt: str) -> Callable[..., str]:
    if fmt not in _MODULES:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    module = importlib.import_module(f"{__name__}.{_MODULES[fmt]}")
    return module.render


def render(result: ScanResult, fmt: str, *, color: bool = False) -> str:
    return renderer(fmt)(result, color=color)
