"""The rollback file of a live migration and `secretkeeper migrate rollback FILE`.

The file (JSON, 0600, rewritten atomically after each workload) records for every workload changed: its
resource and name, its pod spec as it was — with each literal env value replaced by the Secret and key
it moved to, so the file holds no value — the digest of the pod spec the migration left, and the
Secrets it created. Rollback restores each pod spec (literal values read back from those Secrets), one
workload at a time, waits for the rollout, then deletes the Secrets. A workload whose pod spec changed
since the migration is left alone unless forced.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import read_input, write_private
from secretkeeper.hygiene.workloads import TEMPLATE_PATHS
from secretkeeper.kube.client import Connection, Resource, connect
from secretkeeper.kube.rollout import object_path, wait_rollout
from secretkeeper.migrate.plan import WorkloadPlan

FORMAT = "secretkeeper-migrate-rollback/v1"
FROM_SECRET = "$fromSecret"  # where a literal value was: restored from this Secret key on rollback
MAX_BYTES = 64 << 20


def _pod_spec(body: dict[str, Any]) -> dict[str, Any]:
    node: Any = body
    for key in TEMPLATE_PATHS[str(body.get("kind"))]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def pod_spec_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(_pod_spec(body), sort_keys=True).encode()).hexdigest()


def record_for(res: Resource, plan: WorkloadPlan, digest: str, created: list[str]) -> dict[str, Any]:
    original = copy.deepcopy(plan.obj.body)
    for move in plan.moves:
        if move.source == "literal":
            node: Any = original
            for part in move.field:
                node = node[part]
            node["value"] = {FROM_SECRET: {"name": move.secret, "key": move.key}}
    return {"resource": res.plural, "kind": res.kind, "group_version": res.group_version,
            "namespace": plan.obj.namespace, "name": plan.obj.name, "pod_spec": _pod_spec(original),
            "migrated_digest": digest, "created_secrets": created}


@dataclass
class RollbackFile:
    path: Path
    context: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self.save()

    def save(self) -> None:
        write_private(self.path, json.dumps({"format": FORMAT, "context": self.context,
                                             "workloads": self.records}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> RollbackFile:
        try:
            doc = json.loads(read_input(path, MAX_BYTES))
        except OSError as exc:
            raise SecretkeeperError(f"{path}: cannot read: {exc.strerror}") from None
        except ValueError:
            raise SecretkeeperError(f"{path}: not a rollback file (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("workloads"), list):
            raise SecretkeeperError(f"{path}: not a secretkeeper migrate rollback file")
        for i, record in enumerate(doc["workloads"], 1):
            problem = _record_problem(record)
            if problem:  # checked before any cluster is touched: a rollback never stops half-way on it
                raise SecretkeeperError(f"{path}: workload {i}: {problem}")
        return cls(path, str(doc.get("context") or ""), doc["workloads"])


def _record_problem(record: Any) -> str | None:
    """What makes `record` unusable for a rollback, or None."""
    if not isinstance(record, dict):
        return "not an object"
    for key in ("resource", "kind", "group_version", "name", "migrated_digest"):
        if not isinstance(record.get(key), str) or not record[key]:
            return f"no {key!r}"
    if record["kind"] not in TEMPLATE_PATHS:
        return f"kind {record['kind']!r} is not a workload kind"
    if not isinstance(record.get("namespace"), str | None):
        return "'namespace' is not a name"
    if not isinstance(record.get("pod_spec"), dict):
        return "'pod_spec' is not an object"
    created = record.get("created_secrets") or []
    if not isinstance(created, list) or not all(isinstance(name, str) for name in created):
        return "'created_secrets' is not a list of names"
    return None


def _secret_values(conn: Connection, namespace: str | None, name: str, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    if name not in cache:
        status, data = conn.get(object_path("v1", "secrets", namespace, name), {})
        if status != 200:
            raise SecretkeeperError(f"{conn.describe()}: reading Secret {namespace}/{name} failed (HTTP {status})")
        raw = json.loads(data).get("data") or {}
        cache[name] = {k: base64.b64decode(v).decode("utf-8", "surrogateescape") for k, v in raw.items()}
    return cache[name]


def _restore_values(node: Any, read: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get(FROM_SECRET) if len(node) == 1 else None
        if isinstance(ref, dict):
            name, key = ref.get("name"), ref.get("key")
            values = read(name) if isinstance(name, str) else {}
            if key not in values:
                raise SecretkeeperError(f"Secret {name}: holds no key {key!r} to restore the value from")
            return values[key]
        return {k: _restore_values(v, read) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore_values(v, read) for v in node]
    return node


def rollback(path: Path, *, context: str | None, force: bool, timeout: float) -> tuple[list[str], bool]:
    """Undo the workloads of the rollback file at `path`, last first; (lines to print, whether one failed).
    The file is rewritten with the workloads not undone."""
    rb = RollbackFile.load(path)
    lines: list[str] = []
    failed = False
    remaining: list[dict[str, Any]] = []
    with connect(context or rb.context or None) as conn:
        for record in reversed(rb.records):
            ns, name, plural = record.get("namespace"), record["name"], record["resource"]
            ref = f"{record['kind']}/{ns or '-'}/{name}"
            if failed:
                remaining.insert(0, record)
                continue
            where = object_path(record["group_version"], plural, ns, name)
            status, data = conn.get(where, {})
            if status != 200:
                lines.append(f"{ref}: cannot read it (HTTP {status}); left as it is")
                failed = True
                remaining.insert(0, record)
                continue
            body = json.loads(data)
            if pod_spec_digest(body) != record["migrated_digest"] and not force:
                lines.append(f"{ref}: changed since the migration; left as it is (--force restores it anyway)")
                failed = True
                remaining.insert(0, record)
                continue
            cache: dict[str, dict[str, str]] = {}
            spec = _restore_values(record["pod_spec"], lambda s, ns=ns, cache=cache: _secret_values(conn, ns, s, cache))
            target: Any = body
            keys = TEMPLATE_PATHS[record["kind"]]
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = spec
            body.pop("status", None)
            status, data = conn.request("PUT", where, {}, body)
            if status >= 300:
                lines.append(f"{ref}: restoring failed (HTTP {status}); left as it is")
                failed = True
                remaining.insert(0, record)
                continue
            state = wait_rollout(conn, json.loads(data), plural, timeout)
            for secret in record.get("created_secrets") or []:
                conn.request("DELETE", object_path("v1", "secrets", ns, secret), {})
            if state != "done":
                lines.append(f"{ref}: restored, but its rollout {state}")
                failed = True
                continue
            lines.append(f"{ref}: restored" + (f"; deleted Secret {', '.join(record['created_secrets'])}"
                                               if record.get("created_secrets") else ""))
    rb.records = remaining
    rb.save()
    if not remaining:
        lines.append(f"{path}: every workload restored")
    return lines, failed
