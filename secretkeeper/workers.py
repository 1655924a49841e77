"""The process pool and the batching every source shares (files, git history).

Workers are forked, not spawned: they inherit the compiled Detector (and whatever else a source shares)
instead of rebuilding or unpickling it, so only tasks and results cross process boundaries. Small scans
run inline, where starting a pool would cost more than it saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this much work a process pool costs more than it saves.
INLINE_BYTES = 16 * 1024 * 1024
# A walk that finds this many files has enough work for a pool, whatever their sizes.
INLINE_ITEMS = 4096

# What forked workers inherit: (work, shared) of the pool being run. Set only while a pool runs.
_INHERITED: dict[str, tuple[Callable[[Any, Any], Any], Any]] = {}


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _can_fork(jobs: int) -> bool:
    return jobs > 1 and hasattr(os, "fork")


def worth_a_pool(jobs: int, work_bytes: int) -> bool:
    """Whether `work_bytes` of known work should go to `jobs` processes."""
    return _can_fork(jobs) and work_bytes >= INLINE_BYTES


def lookahead(items: Iterable[T], jobs: int, weigh: Callable[[T], int]) -> tuple[list[T], Iterator[T], bool]:
    """For work of unknown size (a lazy walk): read `items` only as far as needed to tell whether they are
    worth a pool. Returns (the items read, the rest, pool?); a small scan is read whole here."""
    rest = iter(items)
    head: list[T] = []
    if _can_fork(jobs):
        total = 0
        for item in rest:
            head.append(item)
            total += weigh(item)
            if total >= INLINE_BYTES or len(head) >= INLINE_ITEMS:
                return head, rest, True
    return head, rest, False


def batches(items: Iterable[T], weigh: Callable[[T], int], max_items: int, max_weight: int) -> Iterator[list[T]]:
    """Consecutive batches of at most `max_items` items, cut once they weigh `max_weight`."""
    batch: list[T] = []
    weight = 0
    for item in items:
        batch.append(item)
        weight += weigh(item)
        if len(batch) >= max_items or weight >= max_weight:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch


def slices(sizes: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """For work of known sizes: contiguous index ranges of roughly equal bytes (order kept inside each)."""
    total = sum(sizes)
    if not sizes:
        return []
    target = max(1, total // max(1, parts))
    out: list[tuple[int, int]] = []
    lo = acc = 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= target and len(out) < parts - 1:
            out.append((lo, i + 1))
            lo, acc = i + 1, 0
    if lo < len(sizes):
        out.append((lo, len(sizes)))
    return out


def fan_out(work: Callable[[Any, T], R], shared: Any, tasks: Iterable[T], jobs: int) -> Iterator[R]:
    """`work(shared, task)` for every task in `jobs` forked processes; results in the order they finish.

    `shared` (the Detector, a blob list...) is inherited by the fork, never pickled; tasks are handed out
    one at a time (chunksize 1: a task is already a batch) and may come from a lazy iterable.
    """
    import multiprocessing  # only for a pool: its import is ~10 ms of every start-up

    _INHERITED["pool"] = (work, shared)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap_unordered(_run, tasks, chunksize=1)
    finally:
        _INHERITED.clear()


def _run(task: Any) -> Any:
    work, shared = _INHERITED["pool"]
    return work(shared, task)
