"""`rotate --dry-run`: what a run would do for each secret — issue, stage, sync, promote, retire — and
what each issuer needs. It reads statuses (and the journal of a rotation in progress), writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from secretkeeper.config.durations import format_duration
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.kube.sync import describe
from secretkeeper.rotation.locks import describe_holder
from secretkeeper.rotation.run import decide
from secretkeeper.rotation.wiring import Wiring

_HEADS = {"resume": "resume", "bootstrap": "issue the first version", "rotate": "rotate",
          "remind": "remind", "none": "nothing to do"}


def plan(wiring: Wiring, secrets: Sequence[SecretConfig], *, force: bool, now: datetime) -> list[str]:
    statuses = wiring.statuses(secrets)
    lines: list[str] = []
    for secret in secrets:
        decision = decide(secret, statuses[secret.name], now, force, statuses)
        lines.append(f"{secret.name} (store {secret.store}, path {secret.path}): {_HEADS[decision.action]}: "
                     f"{decision.reason}")
        if decision.action in ("none", "remind"):
            continue
        subject = wiring.subject(secret.name)
        if decision.action == "resume":
            record = subject.store.journal(secret.path).read()
            if record is not None:
                lines.append(f"  journal: step {record.step.value}, {describe_holder(record)}; a run resumes it "
                             "from there, or rolls it back")
                continue
        issuer = subject.issuer
        first = decision.action == "bootstrap"
        lines.append(f"  issue:   {issuer.describe()}")
        lines.append(f"  stage:   {'the first' if first else 'a new'} version of {secret.path} in store "
                     f"{secret.store}, not yet current; then verify it")
        lines.extend(f"  sync:    {target}" for target in describe(subject.targets) or ["no targets"])
        lines.append("  promote: the new version becomes current (compare-and-set on the current one)")
        if not first:
            grace = issuer.grace
            lines.append("  retire:  the previous version, " + (f"after {format_duration(grace)}" if grace
                                                                 else "at once"))
        lines.extend(f"  needs:   {need}" for need in issuer.needs())
    return lines
