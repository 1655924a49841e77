"""Are the pods of a workload's old pod template gone: what the previous credential waits for before it
is retired. Pods carry their template's annotations, so a pod whose restart annotation differs from the
template's is a pod of an older template (running or still terminating)."""

from __future__ import annotations

from typing import Any

from secretkeeper.kube.client import Connection, Resource, list_objects

PODS = Resource("pods", "Pod", "v1")
DEFAULT_GRACE = 30  # seconds: a pod spec's terminationGracePeriodSeconds when it sets none


def pods_not_on(conn: Connection, workload: dict[str, Any], key: str, value: str) -> list[str]:
    """Names of the workload's pods whose annotation `key` is not `value`."""
    selector = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:  # without a selector no pod can be told apart: none is counted
        return []
    namespace = (workload.get("metadata") or {}).get("namespace")
    out = []
    for pod in list_objects(conn, PODS, namespace):
        meta = pod.get("metadata") or {}
        if any((meta.get("labels") or {}).get(k) != v for k, v in selector.items()):
            continue
        if (meta.get("annotations") or {}).get(key) != value:
            out.append(meta.get("name", "?"))
    return out


def grace_seconds(workload: dict[str, Any]) -> int:
    """How long a pod of the workload's template may still run after it is told to stop."""
    spec = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {})
    value = spec.get("terminationGracePeriodSeconds")
    return value if isinstance(value, int) and value >= 0 else DEFAULT_GRACE
