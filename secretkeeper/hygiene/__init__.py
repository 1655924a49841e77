"""Hygiene rules on Kubernetes objects: secrets used badly, stored badly, or exposed by pod settings.

`check_objects(objects, detector)` runs every rule on a list of `KubeObject`s — from manifest files
(`source="manifest"`, with lines) or a live cluster (`source="cluster"`, located by object reference) —
including cross-object checks (a ServiceAccount's automount setting and bindings vs the pods using it)
within the given list. `HYGIENE_RULES` is the catalog (see `catalog.py`); `value_leaks` runs the
detection engine on object values (base64-decoded Secret data, and for live objects every string).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from secretkeeper.findings import Finding
from secretkeeper.hygiene.base import Recogniser
from secretkeeper.hygiene.catalog import HYGIENE_RULES, RULES_BY_ID, HygieneRule
from secretkeeper.hygiene.certs import is_certificate_file, scan_certificate_file
from secretkeeper.hygiene.names import is_secret_like_name, looks_real
from secretkeeper.hygiene.rbac import check_binding, check_role, namespace_only_cluster_roles
from secretkeeper.hygiene.storage import (
    check_configmap,
    check_encryption_config,
    check_secret,
    check_tls,
    value_leaks,
)
from secretkeeper.hygiene.workloads import check_env, check_pod_security, check_service_accounts, pod_spec
from secretkeeper.kube.objects import KubeObject

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector, Match

__all__ = [
    "HYGIENE_RULES",
    "RULES_BY_ID",
    "HygieneRule",
    "check_objects",
    "is_certificate_file",
    "is_secret_like_name",
    "looks_real",
    "scan_certificate_file",
    "value_leaks",
]


def check_objects(objects: list[KubeObject], detector: Detector | None, *,
                  matches: Sequence[Match] | None = None) -> list[Finding]:
    """Every hygiene finding for `objects` (one manifest file, or a cluster's objects), in object order.

    `detector` recognises credentials in values (env literals, ConfigMap data); a manifest scan that
    already ran the engine over the file passes its `matches` instead, so values are not scanned again.
    """
    recognise = Recogniser(detector, matches)
    namespace_only = namespace_only_cluster_roles(objects)
    out: list[Finding] = []
    pods = []
    for obj in objects:
        kind = obj.kind
        pod = pod_spec(obj)
        if pod is not None:
            out.extend(check_env(pod, recognise))
            if not pod.is_patch:
                pods.append(pod)
                out.extend(check_pod_security(pod))
        elif kind == "Secret":
            out.extend(check_secret(obj))
            out.extend(check_tls(obj))
        elif kind == "ConfigMap":
            out.extend(check_configmap(obj, recognise))
        elif kind in ("Role", "ClusterRole"):
            out.extend(check_role(obj, namespace_only))
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            out.extend(check_binding(obj))
        elif kind in ("EncryptionConfiguration", "EncryptionConfig"):  # EncryptionConfig: pre-1.13 name
            out.extend(check_encryption_config(obj))
    out.extend(check_service_accounts(objects, pods))
    return out
