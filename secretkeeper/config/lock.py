"""The `lock:` section: a lock beside the store's own, for rotators that run in a cluster.

    lock:
      kubernetes: {namespace: secretkeeper, context: prod, lease_duration: 60s}

The store's compare-and-set (secretkeeper/rotation/locks.py) always holds; with `kubernetes`, a rotation
also holds a coordination.k8s.io/v1 Lease per managed secret (secretkeeper/kube/lease.py), so rotators in
several pods, or on machines that share no store lock, see each other before they touch the store.
Imported only for a file that has the section (pydantic at import).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator

from secretkeeper.config.durations import parse_duration
from secretkeeper.config.invalid import FORBID_EXTRA

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


def _namespace(value: str) -> str:
    import re

    if len(value) > 63 or not re.fullmatch(_DNS_LABEL, value):
        raise ValueError("a namespace is a DNS label: lower-case letters, digits and '-', at most 63")
    return value


def _lease_duration(value: Any) -> timedelta:
    duration = parse_duration(value)
    if not timedelta(seconds=5) <= duration <= timedelta(hours=1) or duration.microseconds:
        raise ValueError("a lease lasts whole seconds, from 5s to 1h")
    return duration


@dataclass
class KubernetesLock:
    """One Lease per managed secret in `namespace` of the cluster `context` names."""

    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    namespace: Annotated[str, AfterValidator(_namespace)] | None = None  # default: the context's (a pod's own)
    context: str | None = None  # a kubeconfig context; default: the current one, or in-cluster
    # leaseDurationSeconds: a holder that died is taken over this long after its last renewal; a live
    # holder renews every third of it.
    lease_duration: Annotated[timedelta, BeforeValidator(_lease_duration)] = timedelta(seconds=60)


@dataclass
class LockConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    kubernetes: KubernetesLock | None = None
