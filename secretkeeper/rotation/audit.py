"""The audit trail of rotations: one JSON line per step (time, actor, secret, store path, versions, step,
outcome, error) to a file (0600, appended) and/or stdout. Never a value: callers pass names and version
ids only.

A minimal version for the engine: the full audit (actor identity from the Kubernetes service account, the
Vault token, the AWS caller) replaces it with the same interface.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from secretkeeper.errors import SecretkeeperError


class Audit:
    def __init__(self, file: Path | None, stdout: bool) -> None:
        self._outs: list[IO[str]] = []
        if file is not None:
            try:
                fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise SecretkeeperError(f"{file}: cannot open audit log: {exc.strerror}") from None
            self._outs.append(os.fdopen(fd, "a", encoding="utf-8"))
        if stdout:
            self._outs.append(sys.stdout)
        self._actor = _os_user()

    def record(self, step: str, *, secret: str, store: str, path: str, outcome: str,
               versions: dict[str, str | None] | None = None, error: str | None = None) -> None:
        line = json.dumps({"time": datetime.now(UTC).isoformat(), "actor": self._actor, "secret": secret,
                           "store": store, "path": path, "step": step, "outcome": outcome,
                           "versions": versions or {}, "error": error}, sort_keys=True)
        for out in self._outs:
            out.write(line + "\n")
            out.flush()

    def close(self) -> None:
        for out in self._outs:
            if out is not sys.stdout:
                out.close()
        self._outs = []


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid): the uid says who
        return f"uid {os.getuid()}"
