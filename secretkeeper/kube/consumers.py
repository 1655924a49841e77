"""Which workloads consume a Secret, read from their pod templates, and how to point them at another one.

A pod template references a Secret through a `secret` volume, a `projected` volume's `secret` source, an
env var's `valueFrom.secretKeyRef` or an `envFrom.secretRef`, in any container, init container or
ephemeral container. Workloads are Deployments, StatefulSets and DaemonSets (what a rollout restarts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from secretkeeper.kube.client import Connection, Resource, list_objects
from secretkeeper.kube.rollout import ROLLOUT_KINDS

WORKLOADS = {kind: Resource(plural, kind, "apps/v1") for kind, plural in ROLLOUT_KINDS.items()}


@dataclass(frozen=True, order=True)
class WorkloadRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def path(self) -> str:
        return WORKLOADS[self.kind].path(self.namespace) + "/" + quote(self.name, safe="")

    @classmethod
    def parse(cls, text: str) -> WorkloadRef:
        """`Kind/namespace/name` as a secret's `consumers:` list writes it (kind case-insensitive)."""
        kind, namespace, name = text.split("/")
        known = {k.lower(): k for k in WORKLOADS}
        if kind.lower() not in known:
            raise ValueError(f"consumer {text}: a consumer is a {', '.join(WORKLOADS)}")
        return cls(known[kind.lower()], namespace, name)

    @classmethod
    def of(cls, obj: dict[str, Any]) -> WorkloadRef:
        meta = obj.get("metadata") or {}
        return cls(obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    return ((workload.get("spec") or {}).get("template") or {})


def _refs(template: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(the mapping holding a Secret name, the key of the name) for every Secret reference."""
    spec = template.get("spec") or {}
    for volume in spec.get("volumes") or []:
        if isinstance((volume or {}).get("secret"), dict):
            yield volume["secret"], "secretName"
        for source in ((volume or {}).get("projected") or {}).get("sources") or []:
            if isinstance((source or {}).get("secret"), dict):
                yield source["secret"], "name"
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            for env in (container or {}).get("env") or []:
                ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
                if isinstance(ref, dict):
                    yield ref, "name"
            for source in (container or {}).get("envFrom") or []:
                if isinstance((source or {}).get("secretRef"), dict):
                    yield source["secretRef"], "name"


def references(template: dict[str, Any]) -> set[str]:
    """The names of the Secrets a pod template reads."""
    return {holder[key] for holder, key in _refs(template) if isinstance(holder.get(key), str)}


def repoint(template: dict[str, Any], matches: Callable[[str], bool], new: str) -> bool:
    """Every reference to a Secret whose name `matches` now names `new`; True if one changed."""
    changed = False
    for holder, key in _refs(template):
        name = holder.get(key)
        if isinstance(name, str) and name != new and matches(name):
            holder[key] = new
            changed = True
    return changed


def workloads_reading(conn: Connection, namespace: str, matches: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The workloads in `namespace` whose pod template reads a Secret whose name `matches`."""
    out = []
    for kind, resource in WORKLOADS.items():
        for obj in list_objects(conn, resource, namespace):
            if any(matches(name) for name in references(pod_template(obj))):
                obj["kind"] = kind
                out.append(obj)
    return out
