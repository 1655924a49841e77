"""How a command ends when something goes wrong: a known error is one line on stderr and its exit code;
anything else shows only its type (its message could hold data from a scanned file), unless debugging
is on (`--debug` or SECRETKEEPER_DEBUG), which re-raises for a traceback without locals."""

from __future__ import annotations

import functools
import os
from typing import Any, TypeVar
from collections.abc import Callable

import typer

from secretkeeper.errors import ExitStatus, SecretkeeperError

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


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except SecretkeeperError as exc:
            if _state["debug"]:
                raise
            raise _fail(str(exc), exc.exit_status) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", ExitStatus.INTERRUPTED) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            raise _fail(f"internal error ({type(exc).__name__}); rerun with --debug for details") from None

    return wrapper  # type: ignore[return-value]
