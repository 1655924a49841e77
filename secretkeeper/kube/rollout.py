"""Is a workload's rollout done, and are the pods of its old template gone: what `kubectl rollout status`
reads from the status the controllers write, and the pods that carry the template's annotations."""

from __future__ import annotations

from typing import Any

from secretkeeper.kube.client import Connection, Resource, list_objects
from secretkeeper.kube.consumers import pod_template

PODS = Resource("pods", "Pod", "v1")
DEFAULT_GRACE = 30  # seconds: a pod spec's terminationGracePeriodSeconds when it sets none


def progress(workload: dict[str, Any]) -> tuple[bool, str | None]:
    """(done, why it failed or None) of the workload's current rollout."""
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    generation = (workload.get("metadata") or {}).get("generation") or 0
    if (status.get("observedGeneration") or 0) < generation:
        return False, None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return False, "progress deadline exceeded"
    kind = workload.get("kind")
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled") or 0
        return (status.get("updatedNumberScheduled") or 0) >= desired and \
            (status.get("numberAvailable") or 0) >= desired, None
    replicas = spec.get("replicas", 1)
    if (status.get("updatedReplicas") or 0) < replicas:
        return False, None
    if kind == "StatefulSet":
        revisions = status.get("updateRevision"), status.get("currentRevision")
        return (status.get("readyReplicas") or 0) >= replicas and (None in revisions or revisions[0] == revisions[1]), None
    return (status.get("availableReplicas") or 0) >= replicas and (status.get("replicas") or 0) <= replicas, None


def pods_not_on(conn: Connection, workload: dict[str, Any], key: str, value: str) -> list[str]:
    """Names of the workload's pods whose template annotation `key` is not `value`: pods of an older
    template, still running or terminating."""
    selector = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:  # without a selector no pod can be told apart: none is counted
        return []
    query = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    namespace = (workload.get("metadata") or {}).get("namespace")
    out = []
    for pod in _pods(conn, namespace, query):
        notes = (pod.get("metadata") or {}).get("annotations") or {}
        if notes.get(key) != value:
            out.append(pod["metadata"].get("name", "?"))
    return out


def grace_seconds(workload: dict[str, Any]) -> int:
    value = (pod_template(workload).get("spec") or {}).get("terminationGracePeriodSeconds")
    return value if isinstance(value, int) and value >= 0 else DEFAULT_GRACE


def _pods(conn: Connection, namespace: str | None, selector: str) -> list[dict[str, Any]]:
    # list_objects pages without a selector; the filter is applied here on labels
    wanted = dict(part.split("=", 1) for part in selector.split(",") if part)
    return [pod for pod in list_objects(conn, PODS, namespace)
            if all(((pod.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in wanted.items())]
