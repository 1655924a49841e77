"""What a migration tells a person: the diff (new Secrets with values redacted), and the report — per
workload, what moved where and what the application must now do — as text or JSON. Never a value."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from secretkeeper.migrate.plan import WorkloadPlan
from secretkeeper.migrate.splice import block

REDACTED = "<redacted>"


def secret_manifest(name: str, namespace: str | None, values: dict[str, str], *, redact: bool) -> str:
    """The new Secret for a workload's literal values; `redact` for anything shown (diffs, reports)."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {"app.kubernetes.io/managed-by": "secretkeeper"}
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
            "stringData": {k: (REDACTED if redact else v) for k, v in values.items()}}
    return "".join(line + "\n" for line in block(body, 0, 0))


def redact_values(text: str, values: list[str]) -> str:
    """`text` (a diff) with every literal value the migration moves replaced: a removed `value:` line
    would otherwise show it. Longest first, so a value inside another is not left half shown."""
    for value in sorted(set(values), key=len, reverse=True):
        if value.strip():
            text = text.replace(value, REDACTED)
    return text


def unified(label: str, before: str | None, after: str) -> str:
    """A unified diff (`before` None: a new file); line endings kept as they are."""
    a = [] if before is None else before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    old, new = (label, label) if label.startswith("/") else (f"a/{label}", f"b/{label}")
    lines = list(difflib.unified_diff(a, b, "/dev/null" if before is None else old, new))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class Entry:
    """One workload in the report."""
    plan: WorkloadPlan
    where: str  # the file, or "cluster"
    outcome: str  # "migrated", "would migrate", "nothing to migrate", "report only (...)", "failed: ..."
    secret_to: str = ""  # where the literal values went: a 0600 file, a store entry, the cluster
    extra: list[str] = field(default_factory=list)


def to_json(entry: Entry) -> dict[str, Any]:
    p = entry.plan
    return {
        "object": p.ref, "where": entry.where, "outcome": entry.outcome,
        "moves": [{"container": m.container, "env": m.env, "from": m.source, "secret": m.secret, "key": m.key,
                   "file": m.path, "file_env": m.file_env} for m in p.moves],
        "new_secret": ({"name": p.new_secret, "keys": list(p.literals), "written_to": entry.secret_to}
                       if p.new_secret else None),
        "file_mode": oct(p.mode)[2:].zfill(4) if p.moves else None,
        "fs_group_set": p.fs_group_set,
        "containers": [{"name": c.name, "image": c.image, "reads_file_env": c.reads_file_env,
                        "var_refs": c.var_refs, "todo": c.todo()} for c in p.containers],
        "notes": [*p.notes, *entry.extra],
    }


def json_report(entries: list[Entry], changes: bool) -> str:
    """`changes`: whether anything would change (a Helm template's moves are reported, never made)."""
    moved = sum(len(e.plan.moves) for e in entries)
    return json.dumps({"env_vars": moved, "nothing_to_migrate": not changes,
                       "workloads": [to_json(e) for e in entries]}, indent=2) + "\n"


def text_report(entries: list[Entry]) -> str:
    out = []
    for e in entries:
        p = e.plan
        if not p.moves:
            continue
        out.append(f"{p.ref} ({e.where}): {e.outcome}")
        for m in p.moves:
            src = ("literal value" if m.source == "literal" else
                   f"Secret {m.secret} key {m.key}" if m.source == "secretKeyRef" else f"envFrom Secret {m.secret}")
            to = f"{m.file_env}={m.path}" if m.file_env else m.path
            out.append(f"  {m.container}: {m.env} ({src}) -> {to}")
        if p.new_secret:
            out.append(f"  new Secret {p.new_secret} (keys {', '.join(p.literals)})"
                       + (f": {e.secret_to}" if e.secret_to else ""))
        out.append(f"  file mode {oct(p.mode)[2:].zfill(4)}")
        for c in p.containers:
            todo = c.todo()
            state = "reads *_FILE" if c.reads_file_env else "NEEDS A PERSON"
            out.append(f"  container {c.name} ({c.image or 'no image'}): {state}" + (f": {todo}" if todo else ""))
        out.extend(f"  note: {n}" for n in [*p.notes, *e.extra])
    if not out:
        return "nothing to migrate: no env var carries a secret\n"
    return "\n".join(out) + "\n"
