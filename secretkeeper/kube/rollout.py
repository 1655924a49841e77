"""Whether a workload's rollout is complete, read from its status as `kubectl rollout status` reads it,
and waiting for it (a Deployment, StatefulSet or DaemonSet; anything else has no rollout to wait for)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import Connection

ROLLOUT_KINDS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
POLL_SECONDS = 0.5


def object_path(group_version: str, plural: str, namespace: str | None, name: str | None = None) -> str:
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    ns = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    return f"{base}{ns}/{plural}" + (f"/{quote(name, safe='')}" if name else "")


def rollout_state(obj: dict[str, Any]) -> str:
    """"done", "progressing" or "failed" (the controller gave up: ProgressDeadlineExceeded)."""
    kind = obj.get("kind")
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return "progressing"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return "failed"
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled") or 0
        done = (status.get("updatedNumberScheduled") or 0) >= want and (status.get("numberAvailable") or 0) >= want
        return "done" if done else "progressing"
    replicas = spec.get("replicas", 1)
    if (status.get("updatedReplicas") or 0) < replicas:
        return "progressing"
    if kind == "StatefulSet":
        if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
            return "progressing"
        return "done" if (status.get("readyReplicas") or 0) >= replicas else "progressing"
    return "done" if (status.get("availableReplicas") or 0) >= replicas else "progressing"


def wait_rollout(conn: Connection, obj: dict[str, Any], plural: str, timeout: float) -> str:
    """Wait until the rollout of `obj` is done; returns "done", "failed" or "timed out"."""
    if obj.get("kind") not in ROLLOUT_KINDS:
        return "done"
    meta = obj.get("metadata") or {}
    path = object_path(str(obj.get("apiVersion")), plural, meta.get("namespace"), meta.get("name"))
    deadline = time.monotonic() + timeout
    while True:
        status, data = conn.get(path, {})
        if status != 200:
            raise SecretkeeperError(f"{conn.describe()}: reading {plural}/{meta.get('name')} failed (HTTP {status})")
        state = rollout_state(json.loads(data))
        if state != "progressing":
            return state
        if time.monotonic() >= deadline:
            return "timed out"
        time.sleep(POLL_SECONDS)
