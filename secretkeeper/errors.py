"""Errors the CLI turns into one-line messages and exit codes.

Messages must never contain a secret: callers pass names of inputs (paths, keys, refs), never values, and
a name read from an input (a key, an alias, a tag, a rule id) goes through `shown`.
"""

from __future__ import annotations

import re
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


# The words people write names with (`max_file_size`, `github-pat-classic`, `maxFileSize`, `sha512-crypt`):
# lower-case or camelCase words, or short ones with digits. A token, a hex string or a UUID is not.
_WORD = re.compile(r"[a-z]+(?:[A-Z][a-z]+)*|[A-Z][a-z]+(?:[A-Z][a-z]+)*|[A-Za-z0-9]{1,6}")
_SEPARATORS = re.compile(r"[-_.]")


def shown(name: str) -> str:
    """What a message may echo of a name read from an input: the name when it is short or reads like
    one a person wrote, else redacted like a value (a key or an alias can be a credential pasted in the
    wrong place). Control characters are escaped: the message stays one line, and a terminal's."""
    if not name.isprintable():
        name = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    if len(name) < 8 or (len(name) <= 64 and all(len(word) <= 24 and _WORD.fullmatch(word)
                                                 for word in _SEPARATORS.split(name))):
        return name
    from secretkeeper.findings import redact

    return redact(name)


def shown_path(path: object) -> str:
    """A path read from an input (a config's `rule_files`), each of its parts as `shown` shows it."""
    return "/".join(shown(part) for part in str(path).split("/"))


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so the scan stops as it does on Ctrl-C (KeyboardInterrupt),
    running every cleanup on the way out (workers, git children, temp files). Not an Exception, for the
    same reason KeyboardInterrupt is not: no `except Exception` may swallow it."""
