"""One JSON request through a Connection: (HTTP status, the decoded answer or None), for the writes of
the `kubernetes` sync target and the consumer restarts. The body is never logged or put in an error."""

from __future__ import annotations

import json
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import Connection, _TooLarge


def call(conn: Connection, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    try:
        status, data = conn.request(method, path, query or {}, body, content_type)
    except _TooLarge:
        raise SecretkeeperError(f"{conn.describe()}: {method} {path}: the answer is too large") from None
    try:
        return status, json.loads(data) if data else None
    except (ValueError, RecursionError):
        return status, None
