"""The audit trail of rotations: one JSON line per step, to a file and/or stdout, never a value.

    {"time": "2026-03-01T02:00:00.123+00:00", "actor": "system:serviceaccount:ops:secretkeeper",
     "secret": "payments-db", "store": "aws", "path": "prod/payments/db",
     "versions": {"previous": "7", "pending": "8"}, "step": "staged", "outcome": "ok", "error": null}

The API takes names, version ids and outcomes, never a value. Callers pass errors as the one-line
messages of secretkeeper's errors, which name inputs and never carry values; as a second guard, an error
is put on one line, cut to a bounded length, and any run of characters that looks like a token or key is
redacted. Each line is written with one append and synced before `record` returns, so a crash right
after a step never loses that step's line.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from secretkeeper.errors import SecretkeeperError
from secretkeeper.filters import is_uuid, shannon_entropy
from secretkeeper.findings import redact
from secretkeeper.rotation.actor import SERVICE_ACCOUNT_TOKEN, os_user, service_account, store_identity

_MAX_ERROR = 500
# Runs of base64(url), base62 or hex: '/', '.', ':' and '=' inside split them, so paths, hosts and
# `name=value` stay readable while the value alone is judged.
_TOKENISH = re.compile(r"[A-Za-z0-9+_\-]{20,}={0,2}")


class Audit:
    def __init__(self, file: Path | None, stdout: bool, *, stores: Mapping[str, object] | None = None,
                 service_account_token: Path = SERVICE_ACCOUNT_TOKEN) -> None:
        """`stores` by name: the records of a secret in one name that store's identity when no service
        account does. The file is opened now (0600 when created, appended to), so a path that cannot
        be written fails before any rotation starts."""
        self._stdout, self._stores = stdout, dict(stores or {})
        self._service_account = service_account(service_account_token)
        self._actors: dict[str, str] = {}
        self._fd: int | None = None
        if file is not None:
            try:
                self._fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise SecretkeeperError(f"{file}: cannot open the audit file: {exc.strerror or exc}") from None
        self._file = file

    def record(self, step: str, *, secret: str, store: str, path: str, outcome: str,
               versions: dict[str, str | None] | None = None, error: str | None = None) -> None:
        line = json.dumps({
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"), "actor": self._actor(store),
            "secret": secret, "store": store, "path": path, "versions": versions or {}, "step": step,
            "outcome": outcome, "error": scrub(error) if error is not None else None,
        }) + "\n"
        if self._fd is not None:
            try:
                os.write(self._fd, line.encode())  # one write: appenders never interleave within a line
                os.fsync(self._fd)
            except OSError as exc:
                raise SecretkeeperError(f"{self._file}: cannot write the audit file: {exc.strerror or exc}") \
                    from None
        if self._stdout:
            sys.stdout.write(line)
            sys.stdout.flush()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Audit:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _actor(self, store: str) -> str:
        if self._service_account:
            return self._service_account
        if store not in self._actors:  # asked once per store and run
            self._actors[store] = store_identity(self._stores.get(store)) or os_user()
        return self._actors[store]


def scrub(error: str) -> str:
    """One line, at most a few hundred characters, with anything that looks like a credential redacted."""
    text = " ".join(str(error).split())
    text = _TOKENISH.sub(lambda m: redact(m.group()) if _looks_secret(m.group()) else m.group(), text)
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR - 1] + "…"


def _looks_secret(run: str) -> bool:
    data = run.encode()
    has_letter, has_digit = any(c.isalpha() for c in run), any(c.isdigit() for c in run)
    return has_letter and has_digit and not is_uuid(data) and shannon_entropy(data) >= 3.5
