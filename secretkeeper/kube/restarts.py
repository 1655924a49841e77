"""Consumer restarts after a run's syncs: each workload that reads a changed Secret rolls once, however
many of its Secrets changed, and the old credential waits until the old pods are gone.

- Consumers: workloads whose pod template reads the Secret (secretkeeper/kube/consumers.py), plus the
  managed secret's explicit `consumers:` list (Kind/namespace/name).
- A roll sets two pod-template annotations: RESTART_HASH, the combined content hash of every managed
  Secret the workload reads, and RESTARTED_AT. A workload already on the combined hash is not rolled
  again (a resumed run does not restart twice).
- Per workload mode, from the targets of its changed Secrets: `gitops` if any says so (patching the live
  object would fight the GitOps controller), else `rolling` if any says so, else `never`.
- Held back: by the workload's own minimum interval between restarts (its annotation MIN_INTERVAL, a
  duration such as `15m`), and while a changed secret's maintenance window is closed.
- `drained(target)`: the gate before Issuer.retire. Every consumer (that is restarted at all) runs on the
  combined hash, its rollout is complete, no pod of an older template remains, and its pod template's
  terminationGracePeriodSeconds have passed since the restart. Read live, so a later run decides the same.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube import gitops
from secretkeeper.kube.client import Forbidden, Unlistable
from secretkeeper.kube.consumers import WorkloadRef, pod_template, references, repoint, workloads_reading
from secretkeeper.kube.drain import grace_seconds, pods_not_on
from secretkeeper.kube.rollout import rollout_state
from secretkeeper.kube.sync.kubernetes import KubernetesSecret, secrets_path
from secretkeeper.kube.sync.secret_object import CONTENT, MANAGED_BY
from secretkeeper.kube.sync.target import SyncError

RESTART_HASH = "secretkeeper.io/secrets-sha256"
RESTARTED_AT = "secretkeeper.io/restarted-at"
MIN_INTERVAL = "secretkeeper.io/restart-min-interval"
ROLLOUT_TIMEOUT = 300.0
POLL = 0.5  # seconds between looks at a rollout's status
_MODES = ("never", "rolling", "gitops")  # later wins


@dataclass
class Consumer:
    ref: WorkloadRef
    targets: list[KubernetesSecret] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return max((t.restart for t in self.targets), key=_MODES.index)

    @property
    def conn_target(self) -> KubernetesSecret:
        return self.targets[0]


@dataclass
class Outcome:
    ref: WorkloadRef
    action: str  # "rolled", "written", "unchanged", "held", "failed", "skipped"
    note: str = ""
    secrets: tuple[str, ...] = ()  # the managed secrets whose Secrets it reads (for their audit records)

    def __str__(self) -> str:
        return f"{self.ref}: {self.action}" + (f" ({self.note})" if self.note else "")


def roll(targets: Sequence[KubernetesSecret], *, say: Callable[[str], None],
         window_open: Callable[[KubernetesSecret], bool] = lambda t: True,
         timeout: float = ROLLOUT_TIMEOUT) -> list[Outcome]:
    """Roll every consumer of the targets (those changed in this run, or still waited for), once each,
    and wait for the rollouts."""
    consumers = _consumers(targets)
    outcomes, waiting = [], []
    for consumer in consumers.values():
        try:
            outcome = _restart(consumer, window_open)
        except SecretkeeperError as exc:  # the cluster stopped answering: this workload waits for a later run
            outcome = Outcome(consumer.ref, "failed", str(exc))
        if outcome.action == "rolled":
            say(f"restart: {outcome.ref}: rolling")
            waiting.append(consumer)
        else:
            outcomes.append(outcome)
    deadline = time.monotonic() + timeout
    for consumer in waiting:
        try:
            outcomes.append(_wait(consumer, deadline))
        except SecretkeeperError as exc:
            outcomes.append(Outcome(consumer.ref, "failed", str(exc)))
    for outcome in outcomes:
        outcome.secrets = tuple(sorted({t.config.name for t in consumers[outcome.ref].targets}))
    return outcomes


def drained(target: KubernetesSecret) -> str | None:
    """None when the previous credential may be retired; else what it waits for."""
    if target.restart == "never":
        return None
    try:
        for consumer in _consumers([target]).values():
            workload = _get(target, consumer.ref)
            if workload is None:
                continue
            want = combined_hash(consumer, workload)
            notes = pod_template(workload).get("metadata", {}).get("annotations") or {}
            if notes.get(RESTART_HASH) != want:
                return f"{consumer.ref} is not yet rolled onto the new content"
            state = rollout_state(workload)
            if state != "done":
                return f"{consumer.ref}: rollout " + ("failed" if state == "failed" else "in progress")
            old = pods_not_on(target.conn, workload, RESTART_HASH, want)
            if old:
                return f"{consumer.ref}: {len(old)} pod(s) of the old template remain"
            at = _parse_time(notes.get(RESTARTED_AT))
            if at is not None:
                until = at + timedelta(seconds=grace_seconds(workload))
                if datetime.now(UTC) < until:
                    return f"{consumer.ref}: termination grace until {until.isoformat(timespec='seconds')}"
    except (SecretkeeperError, Forbidden) as exc:
        return f"consumers of {target.where} cannot be read: {exc or 'forbidden'}"
    return None


def combined_hash(consumer: Consumer, workload: dict[str, Any]) -> str:
    """sha256 over the content hash of every managed Secret the workload reads (and of the targets that
    name it as an explicit consumer): equal while none of them changes."""
    namespace = consumer.ref.namespace
    parts = {f"{t.namespace}/{t.name}": _content(t, t.namespace, t.name) for t in consumer.targets
             if t.namespace != namespace or t.name not in references(pod_template(workload))}
    for name in references(pod_template(workload)):
        parts[f"{namespace}/{name}"] = _content(consumer.conn_target, namespace, name)
    digest = hashlib.sha256(b"secretkeeper-restart-v1\0")
    for key in sorted(parts):
        if parts[key]:
            digest.update(f"{key}={parts[key]}\n".encode())
    return digest.hexdigest()


# -- consumers ----------------------------------------------------------------------------------------------
def _matcher(target: KubernetesSecret) -> Callable[[str], bool]:
    versioned = re.compile(re.escape(target.base_name) + r"-[0-9a-f]{10}")
    return lambda name: name == target.base_name or bool(versioned.fullmatch(name))


def _consumers(targets: Sequence[KubernetesSecret]) -> dict[WorkloadRef, Consumer]:
    out: dict[WorkloadRef, Consumer] = {}
    for target in targets:
        try:
            found = [WorkloadRef.of(w) for w in workloads_reading(target.conn, target.namespace, _matcher(target))]
        except (Forbidden, Unlistable):
            found = []
        for text in target.config.consumers:
            try:
                found.append(WorkloadRef.parse(text))
            except ValueError as exc:
                raise SyncError(str(exc)) from None
        for ref in found:
            consumer = out.setdefault(ref, Consumer(ref))
            if target not in consumer.targets:
                consumer.targets.append(target)
    return dict(sorted(out.items()))


def _content(target: KubernetesSecret, namespace: str, name: str) -> str:
    status, secret = target.conn.send("GET", secrets_path(namespace, name))
    if status != 200 or not isinstance(secret, dict):
        return ""
    meta = secret.get("metadata") or {}
    if any((meta.get("labels") or {}).get(k) != v for k, v in MANAGED_BY.items()):
        return ""  # not ours: its changes are not ours to announce
    return (meta.get("annotations") or {}).get(CONTENT, "")


# -- one restart ---------------------------------------------------------------------------------------------
def _restart(consumer: Consumer, window_open: Callable[[KubernetesSecret], bool]) -> Outcome:
    ref, mode = consumer.ref, consumer.mode
    if mode == "never":
        return Outcome(ref, "skipped", "restart: never")
    closed = [t.config.name for t in consumer.targets if not window_open(t)]
    target = consumer.conn_target
    for _ in range(5):
        try:
            workload = _get(target, ref)
        except SecretkeeperError as exc:
            return Outcome(ref, "failed", str(exc))
        if workload is None:
            return Outcome(ref, "skipped", "not found")
        template = pod_template(workload)
        if mode == "rolling":  # immutable Secrets: the template moves to the newest name
            for t in consumer.targets:
                if t.options.immutable and t.namespace == ref.namespace:
                    repoint(template, _matcher(t), t.name)
        want = combined_hash(consumer, workload)
        meta = template.setdefault("metadata", {})
        notes = meta.get("annotations") or {}
        if notes.get(RESTART_HASH) == want:
            return Outcome(ref, "unchanged", "already on the current content")
        if closed:
            return Outcome(ref, "held", f"maintenance window of {', '.join(closed)} is closed; the next run "
                           "restarts it")
        held = _too_soon(workload, notes)
        if held:
            return Outcome(ref, "held", held)
        stamp = {RESTART_HASH: want, RESTARTED_AT: datetime.now(UTC).isoformat(timespec="seconds")}
        if mode == "gitops":
            return _gitops(consumer, stamp)
        meta["annotations"] = {**notes, **stamp}
        # A merge patch of the whole pod template (its lists as read, re-pointed), guarded by the
        # resourceVersion read: the Role grants `patch` on the named workloads, not `update`.
        patch = {"metadata": {"resourceVersion": workload["metadata"].get("resourceVersion")},
                 "spec": {"template": template}}
        try:
            status, _ = target.conn.send("PATCH", ref.path, patch,
                             content_type="application/merge-patch+json")
        except SecretkeeperError as exc:
            return Outcome(ref, "failed", str(exc))
        if status == 409:
            continue
        if status != 200:
            return Outcome(ref, "failed", f"update answered HTTP {status}")
        return Outcome(ref, "rolled")
    return Outcome(ref, "failed", "kept conflicting with other writers")


def _gitops(consumer: Consumer, stamp: dict[str, str]) -> Outcome:
    repo = consumer.conn_target.repo
    path = gitops.find_manifest(repo, consumer.ref)
    if path is None:
        return Outcome(consumer.ref, "failed", f"restart: gitops, but no manifest under {repo} declares it")
    try:
        changed = gitops.write_annotations(path, consumer.ref, {RESTART_HASH: stamp[RESTART_HASH]})
        if changed:
            gitops.write_annotations(path, consumer.ref, {RESTARTED_AT: stamp[RESTARTED_AT]})
    except (OSError, SyncError) as exc:
        return Outcome(consumer.ref, "failed", str(exc))
    return Outcome(consumer.ref, "written" if changed else "unchanged",
                   f"{path}: commit it; the GitOps controller rolls the workload")


def _too_soon(workload: dict[str, Any], notes: dict[str, str]) -> str | None:
    from secretkeeper.config.durations import parse_duration

    raw = ((workload.get("metadata") or {}).get("annotations") or {}).get(MIN_INTERVAL)
    last = _parse_time(notes.get(RESTARTED_AT))
    if not raw or last is None:
        return None
    try:
        interval = parse_duration(raw)
    except ValueError:
        return None
    if datetime.now(UTC) < last + interval:
        return (f"restarted at {last.isoformat(timespec='seconds')}, minimum interval {raw}; the next run "
                "restarts it")
    return None


def _wait(consumer: Consumer, deadline: float) -> Outcome:
    target, ref = consumer.conn_target, consumer.ref
    while True:
        try:
            workload = _get(target, ref)
        except SecretkeeperError as exc:
            return Outcome(ref, "failed", str(exc))
        if workload is None:
            return Outcome(ref, "failed", "deleted during its rollout")
        state = rollout_state(workload)
        if state == "done":
            return Outcome(ref, "rolled", "rollout complete")
        if state == "failed":
            return Outcome(ref, "failed", "rollout failed: progress deadline exceeded")
        if time.monotonic() >= deadline:
            return Outcome(ref, "failed", "rollout not complete before the timeout")
        time.sleep(POLL)


def _get(target: KubernetesSecret, ref: WorkloadRef) -> dict[str, Any] | None:
    status, body = target.conn.send("GET", ref.path)
    if status == 404:
        return None
    if status != 200 or not isinstance(body, dict):
        raise SecretkeeperError(f"{ref}: read answered HTTP {status}")
    body["kind"] = ref.kind
    return body


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
