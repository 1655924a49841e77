"""Writes and reviews through the kubernetes client's generated API classes (TokenRequest, TokenReview,
Secret create / patch / delete), on a `client.Connection` (its TLS verification and credentials).

The generated classes cost about a second to import: only the commands that write (the k8s-token issuer,
`tokens migrate` with an action) import this module. Every failure is one `KubeCallError` line naming the
connection, what was attempted and the API server's status and reason word, never a body: a body can echo
what was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import CONNECT_TIMEOUT, READ_TIMEOUT, Connection, _status_reason

T = TypeVar("T")


class KubeCallError(SecretkeeperError):
    """An API call failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def core(conn: Connection) -> Any:
    from kubernetes.client.api.core_v1_api import CoreV1Api

    return CoreV1Api(conn.api)


def authentication(conn: Connection) -> Any:
    from kubernetes.client.api.authentication_v1_api import AuthenticationV1Api

    return AuthenticationV1Api(conn.api)


def call(conn: Connection, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` with the connection's timeouts; `what` says what it does ("delete Secret
    ns/name") in the error."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, SSLError

    try:
        return fn(*args, _request_timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
    except ApiException as exc:
        status = int(exc.status or 0)
        body = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
        hint = {401: ": the API server rejected the credentials", 403: ": forbidden for these credentials"}
        raise KubeCallError(f"{conn.describe()}: {what} failed (HTTP {status}{_status_reason(body)})"
                            f"{hint.get(status, '')}", status) from None
    except HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, SSLError) or isinstance(exc, SSLError):
            raise KubeCallError(f"{conn.describe()}: TLS verification of the API server failed; {what} not "
                                "done") from None
        raise KubeCallError(f"{conn.describe()}: cannot reach the Kubernetes API server "
                            f"({type(reason).__name__}); {what} not done") from None
