"""Starting child processes (pool workers, git readers) so that they end with the process that started them.

The starter also stops each child on the way out (a `finally`), on Ctrl-C and SIGTERM too: the CLI turns
both into exceptions. Two things keep that sound. Ctrl-C and SIGTERM wait while a child is created:
their Python handlers must not run in a fresh fork before it is set up (they would run the parent's
cleanup there), nor in the parent's at-fork hooks (where an exception is printed as ignored and the
interruption lost), nor between the fork and the moment the starter knows of the child (it would be
left running); a signal that came meanwhile is raised once the block that creates the child ends. And
the kernel backs the `finally` up for when it never runs (the parent was SIGKILLed, or a second signal
cut its cleanup short): Linux's parent-death signal, armed in the child before it runs anything else.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_PR_SET_PDEATHSIG = 1
_STOPS = {signal.SIGINT, signal.SIGTERM}


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only once a child is started: its import is a few ms of every start-up

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


@contextmanager
def starting() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C and SIGTERM while the block creates a child (register it with whoever stops it inside
    the block); a signal that came meanwhile is raised as the block ends.

    Yields the function the child calls first (Popen's `preexec_fn`, or right after `os.fork()`): it has
    the kernel SIGKILL the child when the thread that started it ends (for the main thread: when this
    process ends), then lets the signals in again. It is built here, in the parent, so that the child
    imports nothing between fork and exec.
    """
    prctl = _prctl()
    parent = os.getpid()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the mask as it is, to restore
    came: list[int] = []
    handlers: dict[int, Any] = {}

    def arm() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent ended before the signal was armed
                os.kill(os.getpid(), signal.SIGKILL)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)

    try:  # inside the `try`: a handler that runs as a call here returns cannot leave the signals held
        # Blocked in this thread, so the child starts with them blocked too. Another thread (a progress
        # bar's) may still take one, and Python then runs the handler in the main thread all the same:
        # there, the handlers only note it until the block ends.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        if threading.current_thread() is threading.main_thread():
            for sig in _STOPS:
                if signal.getsignal(sig) is not None:  # None: not set from Python, so not restorable
                    handlers[sig] = signal.signal(sig, lambda signum, _frame: came.append(signum))
        yield arm
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one blocked meanwhile is handled here
        if came:
            signal.raise_signal(came[0])  # delivered now, to the handler it was meant for
