"""A `rotate` run over many managed secrets: what each needs now (resume, bootstrap, rotation, reminder,
nothing), decided from one status request per store, then done in dependency order.

A secret with a journal is resumed (or rolled back) whatever its policy says; a secret declared but absent
is issued (bootstrap); a due secret is rotated; a due or absent static secret is a reminder for a person.
Every rotation takes the secret's lock first, so two runs started together rotate it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from providers.base import StoreStatus
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.rotation import policy
from secretkeeper.rotation.engine import Outcome, Result, rotate
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring


@dataclass(frozen=True)
class Decision:
    action: str  # "resume", "bootstrap", "rotate", "remind", "none"
    reason: str


def decide(secret: SecretConfig, status: StoreStatus, now: datetime, force: bool) -> Decision:
    static = secret.issuer.type == "static"
    if status.in_progress:
        return Decision("resume", "a rotation is in progress")
    if not status.exists:
        if static:
            return Decision("remind", f"never set: set it with `secretkeeper put {secret.name}`")
        return Decision("bootstrap", "absent from its store: the first version is issued")
    due = policy.due(secret, status, now)
    if static and (due or force):
        why = due.reason if due else "asked for"
        return Decision("remind", f"due ({why}): change it where it is issued, then "
                        f"`secretkeeper put {secret.name}`")
    if force:
        return Decision("rotate", "forced")
    if due:
        return Decision("rotate", f"due: {due.reason}")
    next_due = policy.next_due(secret, status, now)
    return Decision("none", f"not due (next due {next_due.isoformat(timespec='minutes')})" if next_due
                    else "not due (no rotation policy)")


def run_rotations(wiring: Wiring, trail: Trail, secrets: Sequence[SecretConfig], *, force: bool,
                  now: datetime) -> list[Result]:
    statuses = wiring.statuses(secrets)
    results = []
    for secret in secrets:
        status = statuses[secret.name]
        decision = decide(secret, status, now, force)
        if decision.action == "none":
            results.append(Result(secret.name, Outcome.SKIPPED, decision.reason))
            continue
        subject = wiring.subject(secret.name)
        if decision.action == "remind":
            trail.step(subject, "reminder", outcome="reminder", note=decision.reason)
            results.append(Result(secret.name, Outcome.REMINDER, decision.reason))
            continue
        trail.say(f"{secret.name}: {decision.reason}")
        # Forced: rotate whatever happened since the status was read; otherwise a run that rotated the secret
        # meanwhile has done the work.
        results.append(rotate(subject, trail, decided_on=None if force else status))
    return results
