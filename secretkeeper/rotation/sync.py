"""`secretkeeper sync`: each managed secret's current version written to its targets again, without a
rotation (a target added to the config, a Secret deleted or edited by hand, a new cluster), then the
consumers of the live Secrets that changed rolled once each.

A secret with a rotation in progress is left alone: its targets may hold the staged version, and the
rotation (`rotate`) finishes or rolls it back, and syncs then.
"""

from __future__ import annotations

from collections.abc import Sequence

from providers.errors import NotFound
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.errors import SecretkeeperError
from secretkeeper.rotation.consumers import ROLLOUT_TIMEOUT, roll_consumers
from secretkeeper.rotation.engine import Outcome, Result
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring


def sync_secrets(wiring: Wiring, trail: Trail, secrets: Sequence[SecretConfig], *,
                 timeout: float = ROLLOUT_TIMEOUT) -> tuple[list[Result], list[str]]:
    """One result per secret (ROTATED: written to its targets; SKIPPED: nothing to write; INCOMPLETE: a
    target failed) and the restart problems, one line each."""
    statuses = wiring.statuses(secrets)
    results, synced = [], []
    for secret in secrets:
        status = statuses[secret.name]
        if status.in_progress:
            results.append(Result(secret.name, Outcome.SKIPPED, "a rotation is in progress: `secretkeeper rotate "
                                  f"{secret.name}` finishes it and syncs"))
            continue
        if not secret.sync:
            results.append(Result(secret.name, Outcome.SKIPPED, "no sync targets"))
            continue
        subject = wiring.subject(secret.name)
        try:
            current = subject.store.read(subject.path)
        except NotFound:
            results.append(Result(secret.name, Outcome.SKIPPED, "no version yet (`rotate` issues the first)"))
            continue
        except SecretkeeperError as exc:
            results.append(Result(secret.name, Outcome.INCOMPLETE, str(exc)))
            continue
        failed = []
        for target in subject.targets:
            try:
                target.write(current)
            except SecretkeeperError as exc:
                failed.append(str(exc))
                continue
            if not target.encrypted:
                trail.say(f"warning: {secret.name}: {target.where} holds the secret NOT ENCRYPTED")
        synced.append(subject)
        changed = [t.where for t in subject.targets if getattr(t, "changed", False)]
        trail.step(subject, "synced", outcome="failed" if failed else "ok",
                   note=f"version {current.version}" + (f"; changed: {', '.join(changed)}" if changed else
                                                         "; every target already held it"),
                   error="; ".join(failed) or None, versions={"previous": None, "pending": current.version})
        results.append(Result(secret.name, Outcome.INCOMPLETE if failed else Outcome.ROTATED,
                              "; ".join(failed) or f"version {current.version} synced"))
    problems = roll_consumers(synced, trail, timeout=timeout)[0] if synced else []
    return results, problems
