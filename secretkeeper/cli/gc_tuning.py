"""Garbage collection tuned for a scan, which the scan and baseline commands apply to themselves."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from collections.abc import Iterator


@contextmanager
def tuned_gc_for_scan() -> Iterator[None]:
    """Collect garbage less often while a scan runs. A scan keeps every finding and parsed object alive to
    the end, and the default thresholds (a young collection every 700 allocations) traverse them again
    and again: ~6% of a scan of Kubernetes manifests. A scan makes no reference cycles in bulk, so its
    memory is unchanged. The thresholds are restored afterwards (a long rotation job's client libraries
    do make cycles).

    The objects alive at a process's first scan (in a console run: the imports) are frozen out of
    collections for good: unfreezing would make the interpreter's exit traverse them all (+20 ms per
    run), and freezing again at every scan would keep an embedding process's garbage of the moment."""
    before = gc.get_threshold()
    if not gc.get_freeze_count():
        gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
