"""Live mode: the workloads of a cluster migrated through the API, one at a time.

Without `--apply`, the plan and a diff of each workload (values redacted). With `--apply`: for each
workload, the Secret for its literal values is created (never overwritten), the workload is replaced with
its migrated form (optimistic concurrency: a workload changed since it was read is left alone), its
rollout is waited for, and the change goes into the rollback file (0600, rewritten after each workload,
no values: a literal is recorded as the Secret and key it moved to) before the next one starts. A rollout
that does not complete stops the run. `--dry-run=server` sends the same writes with `dryRun=All`.
Pods and Jobs cannot change their pod template: they are reported, not changed. Objects a controller
owns (the ReplicaSets of a Deployment, the Jobs of a CronJob) are left to their owner.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.hygiene.base import Recogniser
from secretkeeper.kube.client import Connection, Resource, connect, list_visible
from secretkeeper.kube.objects import KubeObject
from secretkeeper.kube.rollout import ROLLOUT_KINDS, object_path, wait_rollout
from secretkeeper.migrate.files import secret_keys
from secretkeeper.migrate.ops import apply_ops
from secretkeeper.migrate.plan import Options, WorkloadPlan, plan_workload
from secretkeeper.migrate.report import Entry, redact_values, secret_manifest, unified
from secretkeeper.migrate.request import MigrateRequest, Outcome
from secretkeeper.migrate.rollback import RollbackFile, pod_spec_digest, record_for
from secretkeeper.migrate.store import managed_snippet, open_named_store, put_literals

WORKLOADS = (
    Resource("deployments", "Deployment", "apps/v1"),
    Resource("statefulsets", "StatefulSet", "apps/v1"),
    Resource("daemonsets", "DaemonSet", "apps/v1"),
    Resource("cronjobs", "CronJob", "batch/v1", optional=True),
    Resource("jobs", "Job", "batch/v1"),
    Resource("pods", "Pod", "v1"),
)
PATCHABLE = {"Deployment", "StatefulSet", "DaemonSet", "CronJob"}
SECRETS = Resource("secrets", "Secret", "v1")
MANAGED_BY = {"app.kubernetes.io/managed-by": "secretkeeper"}


def _controlled(body: dict[str, Any]) -> bool:
    return any(ref.get("controller") for ref in (body.get("metadata") or {}).get("ownerReferences") or [])


def _shown(body: dict[str, Any]) -> str:
    """A workload as YAML lines for the diff: what a person changes, without status and bookkeeping."""
    from secretkeeper.migrate.splice import block

    body = {k: v for k, v in body.items() if k != "status"}
    meta = {k: v for k, v in (body.get("metadata") or {}).items()
            if k in ("name", "namespace", "labels", "annotations")}
    return "".join(line + "\n" for line in block({**body, "metadata": meta}, 0, 0))


def migrate_cluster(request: MigrateRequest, cfg: Any, recognise: Recogniser, options: Options) -> Outcome:
    out = Outcome()
    store = open_named_store(cfg, request.store) if request.store else None
    with connect(request.context) as conn:
        scopes: list[str | None] = [None] if request.all_namespaces else [request.namespace or conn.namespace]
        warnings: list[str] = []
        workloads: list[tuple[Resource, dict[str, Any]]] = []
        secrets: list[KubeObject] = []
        for ns in scopes:
            for res in WORKLOADS:
                workloads += [(res, b) for b in list_visible(conn, res, ns, warnings) if not _controlled(b)]
            # only the key names are kept: what an envFrom source will become
            for body in list_visible(conn, SECRETS, ns, warnings):
                secrets.append(KubeObject({"apiVersion": "v1", "kind": "Secret", "metadata": body.get("metadata"),
                                           "data": dict.fromkeys(body.get("data") or {}, "")}, "cluster"))
        out.messages += warnings
        options.secret_keys = {**secret_keys(secrets), **options.secret_keys}
        plans: list[tuple[Resource, WorkloadPlan]] = []
        for res, body in workloads:
            plan = plan_workload(KubeObject(body, "cluster"), recognise, options)
            if plan is not None:
                plans.append((res, plan))
        changing = request.apply or request.dry_run
        rollback = None
        if request.apply and not request.dry_run and any(not p.empty and p.obj.kind in PATCHABLE for _, p in plans):
            path = request.rollback_file or Path(time.strftime("migrate-rollback-%Y%m%dT%H%M%SZ.json", time.gmtime()))
            rollback = RollbackFile(path, conn.context)
        diffs = []
        values = [v for _, p in plans for v in p.literals.values()]
        for res, plan in plans:
            entry = Entry(plan, "cluster", "nothing to migrate")
            out.entries.append(entry)
            if plan.empty:
                continue
            if plan.obj.kind not in PATCHABLE:
                entry.outcome = (f"report only: a {plan.obj.kind}'s pod template cannot be changed; change "
                                 "its manifest and recreate it")
                continue
            out.changes = True
            after = apply_ops(plan.obj.body, plan.ops)
            diffs.append(unified(f"cluster/{plan.ref}", _shown(plan.obj.body), _shown(after)))
            if plan.new_secret:
                entry.secret_to = f"Secret {plan.obj.namespace}/{plan.new_secret}"
                if store is not None:
                    where = f"{plan.obj.namespace or 'default'}/{plan.new_secret}"
                    entry.secret_to += f" and store {request.store}, path {where}"
                    entry.extra.append(managed_snippet(request.store or "", where, plan))
                diffs.append(unified(f"cluster/Secret/{plan.obj.namespace}/{plan.new_secret}", None,
                                     secret_manifest(plan.new_secret, plan.obj.namespace, plan.literals,
                                                     redact=True)))
            if not changing or out.failed:
                entry.outcome = "not applied: an earlier rollout failed" if out.failed else \
                    "would migrate (--apply to change)"
                continue
            entry.outcome = _apply_one(conn, res, plan, after, request, rollback, store, out)
        out.diff = redact_values("".join(diffs), values)
        if not out.changes:
            out.messages.append("nothing to migrate: no workload would change")
        if rollback is not None and rollback.records:
            out.messages.append(f"rollback file: {rollback.path} (0600; undo with `secretkeeper migrate "
                                f"rollback {rollback.path}`)")
    return out


def _write(conn: Connection, method: str, path: str, body: Any, dry_run: bool, what: str) -> tuple[int, dict[str, Any]]:
    status, data = conn.request(method, path, {"dryRun": "All"} if dry_run else {}, body)
    try:
        answer = json.loads(data) if data else {}
    except ValueError:
        answer = {}
    if status >= 300 and status != 409:
        reason = answer.get("reason") if isinstance(answer, dict) else None
        raise SecretkeeperError(f"{conn.describe()}: {what} failed (HTTP {status}"
                                f"{' ' + reason if isinstance(reason, str) and reason.isalnum() else ''})")
    return status, answer


def _apply_one(conn: Connection, res: Resource, plan: WorkloadPlan, after: dict[str, Any],
               request: MigrateRequest, rollback: RollbackFile | None, store: Any, out: Outcome) -> str:
    obj = plan.obj
    ns = obj.namespace
    dry = request.dry_run
    created: list[str] = []
    if plan.new_secret:
        if store is not None and not dry:
            put_literals(store, f"{ns or 'default'}/{plan.new_secret}", plan)
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": plan.new_secret, "namespace": ns, "labels": dict(MANAGED_BY)},
                  "stringData": dict(plan.literals)}
        status, _ = _write(conn, "POST", object_path("v1", "secrets", ns), secret, dry,
                           f"creating Secret {ns}/{plan.new_secret}")
        if status == 409:
            out.failed = True
            return f"failed: Secret {ns}/{plan.new_secret} already exists (not overwritten); nothing changed"
        created.append(plan.new_secret)
    body = copy.deepcopy(after)
    body.pop("status", None)
    status, answer = _write(conn, "PUT", object_path(res.group_version, res.plural, ns, obj.name), body, dry,
                            f"replacing {plan.ref}")
    if status == 409:
        out.failed = True
        if created and not dry:
            conn.request("DELETE", object_path("v1", "secrets", ns, plan.new_secret), {})
        return f"failed: {plan.ref} changed since it was read; nothing changed (run again)"
    if dry:
        return "validated by the API server (dry run): nothing changed"
    if rollback is not None:
        rollback.add(record_for(res, plan, pod_spec_digest(answer), created))
    state = wait_rollout(conn, answer, res.plural, request.timeout)
    if state != "done":
        out.failed = True
        return f"applied, but its rollout {state}: stopped here (undo with the rollback file)"
    return "migrated (rollout complete)" if obj.kind in ROLLOUT_KINDS else "migrated (its next run uses the files)"
