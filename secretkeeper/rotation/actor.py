"""Who a rotation acts as, for the audit trail: from what is at hand, in order, the Kubernetes service
account (the `sub` claim of the pod's projected token, read without verification: it names, it does not
authenticate), the identity the secret's store offers (`Store.identity()`: a Vault token's display name,
the AWS caller ARN), else the OS user@host. A lookup never blocks a rotation nor fails it."""

from __future__ import annotations

import base64
import getpass
import json
import os
import socket
import threading
from pathlib import Path

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
IDENTITY_TIMEOUT = 3.0  # seconds a store may take to say who it is
_MAX_TOKEN = 64 * 1024


def service_account(token_file: Path = SERVICE_ACCOUNT_TOKEN) -> str | None:
    """`system:serviceaccount:NAMESPACE:NAME` from the projected token, or None off-cluster."""
    try:
        with open(token_file, "rb") as fh:
            token = fh.read(_MAX_TOKEN)
        payload = token.split(b".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (OSError, IndexError, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and sub else None


def store_identity(store: object) -> str | None:
    """What `store.identity()` answers within IDENTITY_TIMEOUT; None when it has none, fails or is slow
    (its thread is a daemon: a lookup that hangs is left behind, never waited for)."""
    ask = getattr(store, "identity", None)
    if not callable(ask):
        return None
    answer: list[str | None] = []

    def run() -> None:
        try:
            answer.append(ask())
        except Exception:  # any failure of a best-effort lookup means: no identity from the store
            answer.append(None)

    thread = threading.Thread(target=run, name="audit-identity", daemon=True)
    thread.start()
    thread.join(IDENTITY_TIMEOUT)
    got = answer[0] if answer else None
    return got if isinstance(got, str) and got else None


def os_user() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no LOGNAME/USER
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"
