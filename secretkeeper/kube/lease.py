"""A rotation's cluster lock: one coordination.k8s.io/v1 Lease per managed secret.

    Lease <namespace>/secretkeeper-<secret name, DNS-safe>
      spec: holderIdentity (the rotator: user@host pid N), leaseDurationSeconds, acquireTime, renewTime,
            leaseTransitions

Taken with create (a second creator gets 409 AlreadyExists) or, for a Lease that is free (released: no
holder), expired (renewTime + leaseDurationSeconds passed), held by a process of this host that is gone,
or already ours, replaced under its
resourceVersion (a second writer gets 409 Conflict): one rotator wins, the others learn who holds it.
The holder renews it every third of its duration from a background thread and frees it (holderIdentity
cleared) when the rotation ends. The store's own compare-and-set still guards every step: the Lease makes
rotators in a cluster see each other before they touch the store.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import Connection

PREFIX = "secretkeeper-"
_MAX_NAME = 63  # a DNS label: Lease names are subdomains, but a label fits every tool that shows them
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


class LeaseHeld(SecretkeeperError):
    """Another rotator holds the secret's Lease; the message says who and until when."""


def lease_name(secret: str) -> str:
    """`secretkeeper-<name>`, lower case, other characters as '-'; a name that had to change (or to be
    cut) gets a short hash of the original, so `App.db` and `app-db` do not share a Lease."""
    cleaned = _NOT_DNS.sub("-", secret.lower()).strip("-") or "secret"
    name = PREFIX + cleaned
    if cleaned != secret or len(name) > _MAX_NAME:
        digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
        name = f"{name[:_MAX_NAME - 9].rstrip('-')}-{digest}"
    return name


def micro_time(at: datetime) -> str:
    """A MicroTime as the API writes it: RFC 3339, UTC, microseconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class Leases:
    """The Leases of one namespace; `hold(secret, holder)` is the lock on one secret."""

    conn: Connection
    namespace: str
    duration: timedelta
    # True for a holder known to be dead (it ran on this host and its process is gone): taken over at once,
    # without waiting for its Lease to expire
    gone: Callable[[str], bool] = lambda holder: False

    def path(self, name: str | None = None) -> str:
        base = f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"
        return f"{base}/{name}" if name else base

    @contextmanager
    def hold(self, secret: str, holder: str) -> Iterator[None]:
        """Hold the secret's Lease for the block; raises LeaseHeld when another live holder has it."""
        name = lease_name(secret)
        lease = self._acquire(name, holder)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew_until, args=(name, holder, lease, stop),
                                   name=f"lease {name}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._release(name, holder)

    # -- the protocol ------------------------------------------------------------------------------------
    def _acquire(self, name: str, holder: str) -> dict[str, Any]:
        for _ in range(3):  # a lost race re-reads once or twice: the winner's Lease decides
            status, found = self.conn.send("GET", self.path(name))
            if status == 404:
                status, body = self.conn.send("POST", self.path(), self._body(name, holder, None))
                if status == 201 or status == 200:
                    return body
                if status != 409:
                    raise self._failed("create", name, status, body)
                continue
            if status != 200 or not isinstance(found, dict):
                raise self._failed("read", name, status, found)
            spec = found.get("spec") or {}
            current = spec.get("holderIdentity") or ""
            if current and current != holder and not self._expired(spec) and not self.gone(current):
                raise LeaseHeld(self._describe(name, spec))
            status, body = self.conn.send("PUT", self.path(name), self._body(name, holder, found))
            if status == 200:
                return body
            if status != 409:
                raise self._failed("take", name, status, body)
        status, found = self.conn.send("GET", self.path(name))
        raise LeaseHeld(self._describe(name, (found or {}).get("spec") or {}) if status == 200
                        else f"Lease {self.namespace}/{name} is contended")

    def _renew_until(self, name: str, holder: str, lease: dict[str, Any], stop: threading.Event) -> None:
        while not stop.wait(self.duration.total_seconds() / 3):
            lease["spec"]["renewTime"] = micro_time(datetime.now(UTC))
            try:
                status, body = self.conn.send("PUT", self.path(name), lease)
            except SecretkeeperError:
                continue  # unreachable for now: the next renewal tries again; the store's lock still holds
            if status != 200 or not isinstance(body, dict):
                return  # lost it (taken over after it expired): the store's compare-and-set decides
            lease.clear()
            lease.update(body)

    def _release(self, name: str, holder: str) -> None:
        status, found = self.conn.send("GET", self.path(name))
        if status != 200 or not isinstance(found, dict):
            return
        spec = found.setdefault("spec", {})
        if spec.get("holderIdentity") != holder:
            return  # not ours any more
        spec.update(holderIdentity=None, acquireTime=None, renewTime=micro_time(datetime.now(UTC)))
        self.conn.send("PUT", self.path(name), found)  # a conflict: someone took it meanwhile; fine

    # -- helpers -----------------------------------------------------------------------------------------
    def _body(self, name: str, holder: str, found: dict[str, Any] | None) -> dict[str, Any]:
        now = micro_time(datetime.now(UTC))
        spec = dict((found or {}).get("spec") or {})
        transitions = int(spec.get("leaseTransitions") or 0)
        if found is not None and spec.get("holderIdentity") != holder:
            transitions += 1
        spec.update(holderIdentity=holder, leaseDurationSeconds=int(self.duration.total_seconds()),
                    acquireTime=now, renewTime=now, leaseTransitions=transitions)
        metadata: dict[str, Any] = {"name": name, "namespace": self.namespace,
                                    "labels": {"app.kubernetes.io/managed-by": "secretkeeper"}}
        if found is not None:
            metadata = {**(found.get("metadata") or {}), **metadata}  # resourceVersion: the compare-and-set
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    def _expired(self, spec: dict[str, Any]) -> bool:
        renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
        seconds = spec.get("leaseDurationSeconds")
        if renewed is None or not isinstance(seconds, int):
            return True  # a Lease no holder keeps up to date
        return renewed + timedelta(seconds=seconds) <= datetime.now(UTC)

    def _describe(self, name: str, spec: dict[str, Any]) -> str:
        renewed = _parse_time(spec.get("renewTime"))
        seconds = spec.get("leaseDurationSeconds")
        until = (f", until {(renewed + timedelta(seconds=seconds)).isoformat(timespec='seconds')} unless renewed"
                 if renewed and isinstance(seconds, int) else "")
        return (f"held by {spec.get('holderIdentity')} (Kubernetes Lease {self.namespace}/{name}{until})")

    def _failed(self, what: str, name: str, status: int, body: Any) -> SecretkeeperError:
        where = f"{self.conn.describe()}: Lease {self.namespace}/{name}"
        if status == 403:
            return SecretkeeperError(f"{where}: forbidden to {what} it (the rotator needs get, create and "
                                     "update on coordination.k8s.io leases in that namespace)")
        if status == 404:
            return SecretkeeperError(f"{where}: namespace {self.namespace} not found, or the server serves "
                                     "no coordination.k8s.io/v1 Leases")
        reason = body.get("reason") if isinstance(body, dict) else None
        return SecretkeeperError(f"{where}: cannot {what} it (HTTP {status}{', ' + reason if reason else ''})")
