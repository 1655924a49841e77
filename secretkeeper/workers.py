"""The process pool and the batching every source shares (files, git history).

Workers are forked, not spawned: they inherit the compiled Detector (and whatever else a source shares)
instead of rebuilding or unpickling it, so only tasks and results cross process boundaries. Small scans
run inline, where starting a pool would cost more than it saves.

A scan stops at once on Ctrl-C and SIGTERM: workers ignore Ctrl-C (a terminal sends it to the whole
process group; the main process decides), and whatever ends the pool, the main process kills and reaps
every worker on the way out. Each worker talks to the main process over its own pipe, so a worker killed
at any moment leaves no lock held that anyone waits for (multiprocessing.Pool's workers share locked
queues: one killed while holding a lock hangs the Pool's terminate() for good).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from secretkeeper import children
from secretkeeper.errors import SecretkeeperError

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

    `shared` (the Detector, a blob list...) is inherited by the fork, never pickled; each worker holds one
    task at a time (a task is already a batch). `tasks` may be a lazy iterable: it is read here, one task
    ahead, while the workers are busy. An exception in `work` is raised here. The workers end with the
    generator: close it when done (`contextlib.closing`), so that an exception in the caller's loop
    stops them at once too.
    """
    from multiprocessing.connection import wait  # only for a pool: the import costs every start-up

    _INHERITED["pool"] = (work, shared)
    crew: list[_Worker] = []
    try:
        for _ in range(jobs):
            _start_worker(crew)
        busy: dict[Any, _Worker] = {}
        todo = iter(tasks)
        ahead = next(todo, _DONE)

        def hand(worker: _Worker) -> None:
            nonlocal ahead
            if ahead is not _DONE:
                worker.give(ahead)
                busy[worker.conn] = worker
                ahead = next(todo, _DONE)

        for worker in crew:
            hand(worker)
        while busy:
            for conn in wait(list(busy)):
                worker = busy.pop(conn)
                ok, value = worker.take()
                hand(worker)  # before the result is used: a worker never waits for the caller
                if not ok:
                    raise value
                yield value
    finally:
        for worker in crew:
            worker.stop()
        _INHERITED.clear()


_DONE: Any = object()


class _Worker:
    """A forked worker as the main process sees it: its pid and this end of its pipe."""

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid, self.conn = pid, conn
        self.reaped = False

    def give(self, task: Any) -> None:
        try:
            self.conn.send(task)
        except OSError:
            raise self._lost() from None

    def take(self) -> tuple[bool, Any]:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            raise self._lost() from None

    def _lost(self) -> SecretkeeperError:
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        if not os.WIFSIGNALED(status):
            how = f"exited with status {os.waitstatus_to_exitcode(status)}"
        elif os.WTERMSIG(status) == signal.SIGKILL:
            how = "was killed (out of memory?)"
        else:
            how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return SecretkeeperError(f"scan worker process {self.pid} {how}")

    def stop(self) -> None:
        """Kill and reap: a worker holds nothing that needs a clean exit (its git children die with it)."""
        self.conn.close()
        if self.reaped:
            return
        os.kill(self.pid, signal.SIGKILL)  # not reaped yet: it exists, if only as a zombie
        os.waitpid(self.pid, 0)
        self.reaped = True


def _start_worker(crew: list[_Worker]) -> None:
    """Fork one more worker into `crew` (a Ctrl-C meanwhile is raised once it is there, to be stopped)."""
    from multiprocessing.connection import Pipe

    ours, theirs = Pipe()
    try:
        with children.starting() as arm:
            pid = os.fork()
            if pid == 0:
                _serve(theirs, [ours, *(w.conn for w in crew)], arm)
            crew.append(_Worker(pid, ours))
    finally:
        theirs.close()


def _serve(conn: Any, inherited: list[Any], arm: Callable[[], None]) -> NoReturn:
    """A worker's life: tasks in, results (or the exception, with its traceback for --debug) out, until
    the main process closes the pipe or kills it. No Python code of its own runs on Ctrl-C or SIGTERM: it
    ignores the terminal's Ctrl-C (the main process decides) and dies of SIGTERM on the spot. It never
    returns into the caller's frames and never prints: whatever ends it, it leaves through os._exit."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        arm()
        for other in inherited:
            other.close()
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            try:
                reply = (True, _run(task))
            except Exception as exc:
                from multiprocessing.pool import ExceptionWithTraceback  # as the Pool sent it

                reply = (False, ExceptionWithTraceback(exc, exc.__traceback__))
            conn.send(reply)
        code = 0
    finally:
        os._exit(code)


def _run(task: Any) -> Any:
    work, shared = _INHERITED["pool"]
    return work(shared, task)
