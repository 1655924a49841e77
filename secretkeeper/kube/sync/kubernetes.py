"""The `kubernetes` sync target: a live Secret in a cluster, created or updated through the API server.

- Owned means labelled `app.kubernetes.io/managed-by: secretkeeper` with this store and path in its
  annotations. A Secret of that name that is not owned is refused unless `adopt: true`.
- Updates are compare-and-set on `resourceVersion` (a PUT of the object read); a 409 Conflict (someone
  wrote in between) is read again and retried, a few times.
- The content hash annotation says whether anything changed: an unchanged Secret is not written, and only
  a changed one makes its consumers roll (`changed`, read by secretkeeper/kube/restarts.py).
- `immutable: true`: one immutable Secret per content, named `NAME-<hash>`; consumers are re-pointed to it
  when they roll, the version before it is kept for the pods still running on it, older ones are deleted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from providers.base import SecretVersion
from secretkeeper.config.secrets import KubernetesTarget, SecretConfig
from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import Connection, connect
from secretkeeper.kube.sync.secret_object import CONTENT, MANAGED_BY, PATH, STORE, VERSION, only_keys, secret_object
from secretkeeper.kube.sync.secret_types import shape
from secretkeeper.kube.sync.target import SyncError

ATTEMPTS = 5  # writes retried after a 409 Conflict
_connections: dict[str | None, Connection] = {}  # one per context for a whole run


def connection(context: str | None) -> Connection:
    if context not in _connections:
        _connections[context] = connect(context)
    return _connections[context]


def secrets_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets"
    return base if name is None else f"{base}/{quote(name, safe='')}"


class KubernetesSecret:
    kind = "kubernetes"
    encrypted = True  # at rest as the cluster stores Secrets (scan check k8s-etcd-encryption-identity)

    def __init__(self, options: KubernetesTarget, *, secret: SecretConfig, store: str, base: Path) -> None:
        self.options, self.config = options, secret
        self.base_name = options.secret or secret.name
        self.namespace, self.store, self.path = options.namespace, store, secret.path
        self.restart = options.restart
        self.repo = base  # where `restart: gitops` finds the workloads' manifests
        self.where = f"Secret {self.namespace}/{self.base_name}" + (f" (context {options.context})"
                                                                    if options.context else "")
        self.changed = False  # set by a write that changed the Secret's content: its consumers roll
        self.name = self.base_name  # the Secret written last (a versioned name when immutable)

    @property
    def conn(self) -> Connection:
        try:
            return connection(self.options.context)
        except SecretkeeperError as exc:
            raise SyncError(f"{self.where}: {exc}") from None

    # -- Target ------------------------------------------------------------------------------------------
    def write(self, version: SecretVersion) -> None:
        version = only_keys(version, self.options.keys, self.where)
        try:
            shaped = SecretVersion(version.version, shape(self.options.type, version.data), version.created)
            body = secret_object(self.base_name, self.namespace, self.store, self.path, shaped, self.options.type)
        except ValueError as exc:
            raise SyncError(f"{self.where}: {exc}") from None
        if self.options.immutable:
            body["metadata"]["name"] = f"{self.base_name}-{body['metadata']['annotations'][CONTENT][:10]}"
            body["immutable"] = True
        self.name = body["metadata"]["name"]
        for _ in range(ATTEMPTS):
            if self._write_once(body):
                if self.options.immutable:
                    self._prune()
                return
            time.sleep(0.05)
        raise SyncError(f"{self.where}: still conflicting after {ATTEMPTS} attempts (another writer keeps "
                        "changing it)")

    def remove(self) -> None:
        """What a rolled-back first rotation leaves: no Secret (only one this target owns is deleted)."""
        names = [s["metadata"]["name"] for s in self._versions()] if self.options.immutable else [self.base_name]
        for name in names:
            current = self._get(name)
            if current is not None and self._owned(current):
                self._call("DELETE", secrets_path(self.namespace, name), ok=(200, 202, 404))

    def holds(self) -> str | None:
        """The version the live Secret holds; None when it does not say or the cluster cannot be asked
        (`status` goes on without it)."""
        try:
            current = self._get(self.base_name) if not self.options.immutable else self._newest()
        except SyncError:
            return None
        if current is None or not self._owned(current):
            return None
        return (current["metadata"].get("annotations") or {}).get(VERSION)

    # -- the write -----------------------------------------------------------------------------------------
    def _write_once(self, body: dict[str, Any]) -> bool:
        """True when done; False after a conflict (read again and retry)."""
        name = body["metadata"]["name"]
        current = self._get(name)
        if current is None:
            status, _ = self._call("POST", secrets_path(self.namespace), body, ok=(201, 409))
            if status == 409:  # created by someone else meanwhile
                return False
            self.changed = True if not self.options.immutable else self._content_new(body)
            return True
        if not self._owned(current) and not self.options.adopt:
            raise SyncError(f"{self.where}: Secret {name} exists and is not managed by secretkeeper for "
                            f"{self.store}:{self.path}; refusing to overwrite it (set `adopt: true` to take it over)")
        if current.get("type", "Opaque") != body["type"]:
            raise SyncError(f"{self.where}: Secret {name} has type {current.get('type')}, the config says "
                            f"{body['type']} (a Secret's type cannot change: delete it first)")
        meta, want = current["metadata"], body["metadata"]
        same = ((meta.get("annotations") or {}).get(CONTENT) == want["annotations"][CONTENT]
                and current.get("data") == body["data"] and self._owned(current))
        if same and (meta.get("annotations") or {}).get(VERSION) == want["annotations"][VERSION]:
            return True  # nothing to write
        if current.get("immutable"):
            if same:
                return True  # the same content under another version id: an immutable Secret stays
            raise SyncError(f"{self.where}: Secret {name} is immutable and holds other content (delete it, or "
                            "set `immutable: true` for versioned names)")
        update = dict(current)
        update["metadata"] = {**meta, "labels": {**(meta.get("labels") or {}), **MANAGED_BY},
                              "annotations": {**(meta.get("annotations") or {}), **want["annotations"]}}
        update["data"] = body["data"]
        status, _ = self._call("PUT", secrets_path(self.namespace, name), update, ok=(200, 409))
        if status == 409:
            return False
        self.changed = self.changed or not same
        return True

    def _content_new(self, body: dict[str, Any]) -> bool:
        """For an immutable Secret just created: whether the content differs from the newest before it."""
        before = [s for s in self._versions() if s["metadata"]["name"] != body["metadata"]["name"]]
        return not before or (before[-1]["metadata"].get("annotations") or {}).get(CONTENT) != \
            body["metadata"]["annotations"][CONTENT]

    def _versions(self) -> list[dict[str, Any]]:
        """The immutable Secrets of this managed secret, oldest first."""
        _, found = self._call("GET", secrets_path(self.namespace), query={
            "labelSelector": ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())}, ok=(200,))
        items = [s for s in (found or {}).get("items") or [] if self._owned(s)
                 and s["metadata"]["name"].startswith(self.base_name + "-")]
        return sorted(items, key=lambda s: (s["metadata"].get("creationTimestamp") or "",
                                            int(s["metadata"].get("resourceVersion") or 0)))

    def _newest(self) -> dict[str, Any] | None:
        versions = self._versions()
        return versions[-1] if versions else None

    def _prune(self) -> None:
        """Keep the current immutable Secret and the one before it (pods of the old template still mount
        it until they are gone); delete older ones."""
        keep = {self.name}
        older = [s for s in self._versions() if s["metadata"]["name"] != self.name]
        if older:
            keep.add(older[-1]["metadata"]["name"])
        for old in older:
            if old["metadata"]["name"] not in keep:
                self._call("DELETE", secrets_path(self.namespace, old["metadata"]["name"]), ok=(200, 202, 404))

    def _owned(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
        return all(labels.get(k) == v for k, v in MANAGED_BY.items()) and notes.get(STORE) == self.store \
            and notes.get(PATH) == self.path

    def _get(self, name: str) -> dict[str, Any] | None:
        status, body = self._call("GET", secrets_path(self.namespace, name), ok=(200, 404))
        return body if status == 200 and isinstance(body, dict) else None

    def _call(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
              ok: tuple[int, ...]) -> tuple[int, Any]:
        try:
            status, answer = self.conn.send(method, path, body, query=query)
        except SecretkeeperError as exc:
            raise SyncError(f"{self.where}: {exc}") from None
        if status not in ok:
            raise SyncError(f"{self.where}: {method} answered HTTP {status}{_reason(answer)}")
        return status, answer


def _reason(answer: Any) -> str:
    """The Status `reason` word (Forbidden, Invalid), never its message (it may quote a value)."""
    reason = answer.get("reason") if isinstance(answer, dict) else None
    return f" {reason}" if isinstance(reason, str) and reason.isalnum() else ""


def target(options: KubernetesTarget, *, secret: SecretConfig, store: str, base: Path) -> KubernetesSecret:
    return KubernetesSecret(options, secret=secret, store=store, base=base)
