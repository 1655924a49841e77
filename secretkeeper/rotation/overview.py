"""`secretkeeper status`: every managed secret's store and path, versions, age, last and next rotation,
sync targets (and the version each holds) and any rotation in progress with its holder. One status
request per store; a journal is read only for a rotation in progress. Never a value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from secretkeeper.config.durations import format_duration
from secretkeeper.kube.sync import targets_for
from secretkeeper.rotation import policy
from secretkeeper.rotation.locks import describe_holder
from secretkeeper.rotation.wiring import Wiring


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


def overview(wiring: Wiring, now: datetime) -> list[dict[str, Any]]:
    secrets = wiring.config.secrets
    statuses = wiring.statuses(secrets)
    rows = []
    for secret in secrets:
        status = statuses[secret.name]
        last = policy.last_rotated(status) if status.exists else None
        row: dict[str, Any] = {
            "name": secret.name, "store": secret.store, "path": secret.path, "issuer": secret.issuer.type,
            "exists": status.exists, "current": status.current, "previous": status.previous,
            "updated": _iso(status.updated),
            "age": format_duration(now - status.updated) if status.updated else None,
            "last_rotated": _iso(last),
            "next_due": _iso(policy.next_due(secret, status, now, statuses)) if status.exists else None,
            "sync": [], "in_progress": None,
        }
        expires = policy.expires(status) if status.exists else None
        row["expires"] = _iso(expires)
        row["days_to_expiry"] = (expires - now).days if expires else None  # negative: expired
        row["next_step"] = status.metadata.get(policy.NEXT_STEP) or None  # a change made over several runs
        for target in targets_for(secret, secret.store, wiring.base):
            holds = target.holds()
            row["sync"].append({"kind": target.kind, "where": target.where, "encrypted": target.encrypted,
                                "version": holds, "in_sync": holds is not None and holds == status.current})
        if status.in_progress:
            record = wiring.store(secret.store).journal(secret.path).read()
            if record is not None:
                row["in_progress"] = {"step": record.step.value, "holder": record.holder,
                                      "since": _iso(record.started), "updated": _iso(record.updated),
                                      "lease_until": _iso(record.lease_until), "pending": record.pending,
                                      "previous": record.previous, "error": record.error,
                                      "summary": describe_holder(record)}
        rows.append(row)
    return rows


def as_text(rows: list[dict[str, Any]]) -> str:
    out = []
    for row in rows:
        out.append(f"{row['name']}  {row['store']}:{row['path']}  ({row['issuer']})")
        if row["exists"]:
            previous = f", previous {row['previous']}" if row["previous"] else ""
            out.append(f"  current {row['current']} ({row['age'] or '?'} old){previous}; "
                       f"last rotated {row['last_rotated'] or '-'}; next due {row['next_due'] or '-'}")
            if row["expires"]:
                days = row["days_to_expiry"]
                left = f"in {days} days" if days >= 0 else f"EXPIRED {-days} days ago"
                out.append(f"  expires {row['expires']} ({left})")
            if row["next_step"]:
                out.append(f"  next step: {row['next_step']}")
        elif row["issuer"] == "static":
            out.append(f"  absent: set it with `secretkeeper put {row['name']}`")
        else:
            out.append("  absent: the next `secretkeeper rotate --due` issues it")
        for target in row["sync"]:
            plain = "" if target["encrypted"] else " (NOT ENCRYPTED)"
            state = ("in sync" if target["in_sync"] else f"holds version {target['version']}, behind"
                     if target["version"] else "not written yet")
            out.append(f"  sync: {target['kind']} {target['where']}{plain}: {state}")
        if row["in_progress"]:
            job = row["in_progress"]
            out.append(f"  rotation in progress: step {job['step']}, {job['summary']}")
    return "\n".join(out) + ("\n" if out else "")
