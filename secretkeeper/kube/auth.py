"""Whether the kubeconfig's credentials were loaded, and if not, what failed — never what a plugin said.

The kubernetes client loads the credentials of the context's user along with the kubeconfig: a token, a
token file, an exec plugin (run then, and again when its token expires), an auth-provider, a client
certificate. A failing exec plugin is only logged (on the root logger, with the plugin's stderr, which
may hold a token) and an empty token file is passed over; either way the client goes on without
credentials. Against a server that answers anonymous requests with 403, every resource would then be
"not visible" and the scan would end clean. So the client's log records are caught here, never shown,
and a user that declares credentials but yields none is an error.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Keys of a kubeconfig user entry that declare credentials.
_DECLARED = ("token", "tokenFile", "exec", "auth-provider", "client-certificate", "client-certificate-data",
             "username")
_LOGGING_MODULES = ("kube_config", "exec_provider")
# What the kubernetes client's log messages say failed; the rest of a message (the plugin's stderr or
# output) is never used.
_FAILURES = (
    (re.compile(r"exec: process returned (-?\d+)"), "exited with status {0}"),
    (re.compile(r"exec: missing token"), "printed no token"),
    (re.compile(r"exec: (failed to decode|malformed response|plugin api version)"),
     "printed no valid ExecCredential"),
    (re.compile(r"\[Errno \d+\]"), "could not be run"),
)


def user_entry(kubeconfig: str, context: dict[str, Any]) -> dict[str, Any]:
    """The `user` of the context's user entry in the (merged) kubeconfig, or {} when it has none."""
    from kubernetes.config.kube_config import KubeConfigMerger

    name = (context.get("context") or {}).get("user")
    for node in KubeConfigMerger(kubeconfig).config.safe_get("users") or []:
        entry = getattr(node, "value", node)  # merged entries come wrapped in ConfigNodes
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get("user"), dict):
            return entry["user"]
    return {}


def exec_plugin(user: dict[str, Any]) -> str | None:
    """The exec plugin's command name (no arguments: they may carry credentials), if the user has one."""
    spec = user.get("exec")
    if not isinstance(spec, dict):
        return None
    return os.path.basename(str(spec.get("command") or "")) or "(no command)"


@contextmanager
def plugin_failures(plugin: str | None) -> Iterator[list[str]]:
    """While open, the kubernetes client's log records are kept from every handler and collected as
    "the exec auth plugin NAME exited with status 1" (what failed, never the message itself)."""
    failures: list[str] = []

    def catch(record: logging.LogRecord) -> bool:
        if record.module not in _LOGGING_MODULES:
            return True
        if record.levelno >= logging.ERROR:
            what = _what_failed(record.getMessage())
            failures.append(f"the exec auth plugin {plugin} {what}" if plugin else f"loading the credentials {what}")
        return False

    root = logging.getLogger()
    sink = logging.NullHandler()  # else `logging.error` on a root logger without handlers installs one on stderr
    root.addFilter(catch)
    root.addHandler(sink)
    try:
        yield failures
    finally:
        root.removeFilter(catch)
        root.removeHandler(sink)


def _what_failed(message: str) -> str:
    for rx, text in _FAILURES:
        m = rx.search(message)
        if m:
            return text.format(*m.groups())
    return "failed"


def credential_problem(cfg: Any, user: dict[str, Any], failures: list[str]) -> str | None:
    """What went wrong with the user's credentials once the client loaded them, or None."""
    if failures:
        return f"{failures[0]} (its output is not shown: it may hold credentials)"
    if not any(user.get(key) for key in _DECLARED) or cfg.api_key.get("BearerToken") or cfg.cert_file:
        return None
    if user.get("tokenFile") and not user.get("token"):
        return "the user's token file is empty"
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and provider.get("name") not in ("gcp", "oidc"):
        return "the user's auth-provider is not supported (use an exec plugin)"
    return "the user's credentials gave none the client can send"
