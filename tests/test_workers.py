"""The fork pool (secretkeeper/workers.py): every result comes back, failures are raised in the caller, and
no worker outlives the pool, however it ends."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import closing

import pytest

from secretkeeper import workers
from secretkeeper.errors import SecretkeeperError

pytestmark = pytest.mark.timeout(60)  # a pool that hangs fails here, not at the suite's 300 s


def _children() -> set[int]:
    out: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as fh:
            out.update(int(x) for x in fh.read().split())
    return out


@pytest.fixture
def no_worker_left():
    before = _children()
    yield
    assert _children() - before == set()  # killed and reaped: not even a zombie is left


def _scaled(shared: dict, task: int) -> tuple[int, int]:
    return os.getpid(), task * shared["factor"]


def test_every_task_of_a_lazy_iterable_comes_back_from_the_workers(no_worker_left):
    shared = {"factor": 3, "lock": threading.Lock()}  # inherited by the fork: a lock could not be pickled
    tasks = (i for i in range(200))
    with closing(workers.fan_out(_scaled, shared, tasks, 2)) as done:
        results = list(done)
    assert sorted(value for _pid, value in results) == [3 * i for i in range(200)]
    assert os.getpid() not in {pid for pid, _value in results}


def _fail_on_seven(_shared: None, task: int) -> int:
    if task == 7:
        raise SecretkeeperError("blob 7: cannot read")
    return task


def test_an_error_in_a_worker_is_raised_in_the_caller(no_worker_left):
    with pytest.raises(SecretkeeperError, match="blob 7: cannot read"), \
            closing(workers.fan_out(_fail_on_seven, None, range(20), 2)) as done:
        list(done)


def _die_on_three(_shared: None, task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return task


def test_a_worker_that_dies_is_an_error_naming_it_not_a_hang(no_worker_left):
    with pytest.raises(SecretkeeperError, match=r"scan worker process \d+ was killed \(out of memory\?\)"), \
            closing(workers.fan_out(_die_on_three, None, range(20), 2)) as done:
        list(done)


def _ctrl_c_then_answer(_shared: None, task: int) -> int:
    os.kill(os.getpid(), signal.SIGINT)  # a terminal's Ctrl-C reaches every worker of the group
    return task


def test_workers_leave_ctrl_c_to_the_main_process(no_worker_left):
    with closing(workers.fan_out(_ctrl_c_then_answer, None, range(10), 2)) as done:
        assert sorted(done) == list(range(10))


def _slow(_shared: None, task: int) -> int:
    if task:
        threading.Event().wait(60)
    return task


def test_closing_the_pool_early_stops_busy_workers_at_once(no_worker_left):
    done = workers.fan_out(_slow, None, range(4), 2)
    assert next(done) == 0  # one worker is free again, the other is busy for a minute
    done.close()
