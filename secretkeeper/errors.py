"""Errors the CLI turns into one-line messages and exit codes.

Messages must never contain a secret: callers pass names of inputs (paths, keys, refs), never values.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FINDINGS = 1
    ERROR = 2
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports a process the signal ended


class SecretkeeperError(Exception):
    """A known failure: bad input, unreachable provider, broken repository. Exit 2, one line on stderr."""

    exit_status = ExitStatus.ERROR


class ConfigError(SecretkeeperError):
    """A configuration file or custom rule is invalid; the message names the file, line and key."""


class RuleError(ConfigError):
    """A rule definition is invalid."""


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so the scan stops as it does on Ctrl-C (KeyboardInterrupt),
    running every cleanup on the way out (workers, git children, temp files). Not an Exception, for the
    same reason KeyboardInterrupt is not: no `except Exception` may swallow it."""
