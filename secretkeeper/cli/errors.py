"""How a command ends when something goes wrong: a known error is one line on stderr and its exit code;
anything else shows only its type (its message could hold data from a scanned file). Debugging (`--debug`
or SECRETKEEPER_DEBUG) adds the traceback above that line, and changes nothing else: the same exit code,
no locals, and no exception text but our own errors' (see `_traceback`). Ctrl-C and SIGTERM stop a
command the same way: as an exception in the main thread, so every `finally` on the way out runs
(workers, git children, temp files), then one line and 130 / 143."""

from __future__ import annotations

import functools
import os
import signal
import threading
import traceback
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar
from collections.abc import Callable, Iterator

import typer

from secretkeeper.errors import ExitStatus, SecretkeeperError, Terminated

F = TypeVar("F", bound=Callable[..., Any])

_state = {"debug": bool(os.environ.get("SECRETKEEPER_DEBUG"))}


def reset_debug(flag: bool) -> None:
    """Per invocation: a previous in-process run's --debug must not stick (tests, embedding)."""
    _state["debug"] = bool(os.environ.get("SECRETKEEPER_DEBUG")) or flag


def enable_debug() -> None:
    _state["debug"] = True


def _fail(message: str, status: int = ExitStatus.ERROR) -> typer.Exit:
    typer.echo(f"secretkeeper: error: {message}", err=True)
    return typer.Exit(int(status))


def _traceback(exc: BaseException) -> None:
    """Under debugging, where `exc` (and what it was raised from or during) happened, as Python prints
    it, with the message of our own errors only: they name inputs and redact values, while another
    exception's text can quote scanned data (a KeyError's key, a decoder's bytes, a parser's snippet).
    The frames show our code, never a value."""
    if not _state["debug"]:
        return
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    out = []
    for i, err in enumerate(reversed(chain)):
        if i:
            out.append("\nThe above exception was the direct cause of the following exception:\n\n"
                       if err.__cause__ is not None else
                       "\nDuring handling of the above exception, another exception occurred:\n\n")
        out += ["Traceback (most recent call last):\n", *traceback.format_tb(err.__traceback__)]
        name = f"{type(err).__module__}.{type(err).__qualname__}".removeprefix("builtins.")
        out.append(f"{name}: {err}\n" if isinstance(err, SecretkeeperError) else f"{name} (message withheld)\n")
    typer.echo("".join(out), err=True, nl=False)


def _terminated(_signum: int, _frame: Any) -> NoReturn:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises Terminated (by default it would end the process on the spot,
    leaving workers, git children and temp files behind). Only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _sigterm_raises():
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except SecretkeeperError as exc:
            _traceback(exc)
            raise _fail(str(exc), exc.exit_status) from None
        except KeyboardInterrupt:
            # A Ctrl-C that landed in exec() of source text (a dataclass being made by a lazy import) stays
            # marked "unhandled" in CPython, which then ends `python -m` by SIGINT instead of exiting 130;
            # exec() of source text clears that mark.
            exec("")
            raise _fail("interrupted", ExitStatus.INTERRUPTED) from None
        except Terminated:
            raise _fail("terminated", ExitStatus.TERMINATED) from None
        except Exception as exc:
            _traceback(exc)
            hint = "" if _state["debug"] else "; rerun with --debug for details"
            raise _fail(f"internal error ({type(exc).__name__}){hint}") from None

    return wrapper  # type: ignore[return-value]
