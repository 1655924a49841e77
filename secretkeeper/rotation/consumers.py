"""After a run's syncs: roll the consumers of every changed live Secret once, wait for the rollouts, then
finish the rotations whose previous credential waited for those consumers (Issuer.retire once no pod of
the old template remains and its termination grace has passed). Used by `rotate` (`rotate_and_restart`)
and `sync`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from secretkeeper.config.secrets import SecretConfig

from secretkeeper.errors import SecretkeeperError
from secretkeeper.rotation.engine import Outcome, Result, rotate
from secretkeeper.rotation.run import run_rotations
from secretkeeper.rotation.trail import Subject, Trail
from secretkeeper.rotation.wiring import Wiring
from secretkeeper.rotation.window import is_open

ROLLOUT_TIMEOUT = 300.0  # seconds for the rollouts and then the old pods' drain, per run
POLL = 0.5  # seconds between looks at the old pods


def rotate_and_restart(wiring: Wiring, trail: Trail, secrets: Sequence[SecretConfig], *, force: bool,
                       now: datetime, timeout: float = ROLLOUT_TIMEOUT) -> list[Result]:
    """A `rotate` run: the rotations (rotation/run.py), then the consumers of what they synced."""
    results = run_rotations(wiring, trail, secrets, force=force, now=now)
    subjects = [wiring.subject(r.secret) for r in results if r.outcome == Outcome.ROTATED]
    return after_syncs(subjects, trail, results, timeout=timeout) if subjects else results


def roll_consumers(subjects: Sequence[Subject], trail: Trail, *,
                   timeout: float = ROLLOUT_TIMEOUT) -> tuple[list[str], bool]:
    """Each consumer of a changed `kubernetes` target rolled once: (the problems, one line each; whether
    every consumer is now rolled, so that waiting for the old pods to go makes sense)."""
    by_target = {id(t): (t, s) for s in subjects for t in s.targets if t.kind == "kubernetes"}
    # Consumers of a Secret changed now, or of one whose rotation still waits for them (a restart held
    # back by a window or an interval in an earlier run).
    wanted = [t for t, s in by_target.values() if t.changed or _parked(s)]  # type: ignore[attr-defined]
    if not wanted:
        return [], True
    from secretkeeper.kube.restarts import roll

    def window_open(target: object) -> bool:
        policy = by_target[id(target)][1].config.rotate
        return policy is None or policy.window is None or is_open(policy.window, datetime.now(UTC))

    try:
        outcomes = roll(wanted, say=trail.say, window_open=window_open,  # type: ignore[misc]
                        timeout=timeout)
    except SecretkeeperError as exc:  # consumers could not be found: the previous credentials stay parked
        return [f"consumers: {exc}"], False
    by_name = {s.name: s for s in subjects}
    for outcome in outcomes:  # an audit record per secret the workload reads
        for name in outcome.secrets:
            if name in by_name:
                trail.step(by_name[name], "restart", outcome="failed" if outcome.action == "failed" else
                           "ok" if outcome.action in ("rolled", "unchanged", "written") else outcome.action,
                           note=f"{outcome.ref}: {outcome.action}" + (f" ({outcome.note})" if outcome.note else ""))
    problems = [str(o) for o in outcomes if o.action == "failed"]
    return problems, all(o.action in ("rolled", "unchanged", "skipped") for o in outcomes)


def after_syncs(subjects: Sequence[Subject], trail: Trail, results: list[Result], *,
                timeout: float = ROLLOUT_TIMEOUT) -> list[Result]:
    """Roll the consumers, then retire the previous credentials that waited for them (a rotation parked
    for its consumers is finished here, or by a later run)."""
    deadline = time.monotonic() + timeout
    problems, settled = roll_consumers(subjects, trail, timeout=timeout)
    by_name = {s.name: s for s in subjects}
    out = []
    for result in results:
        subject = by_name.get(result.secret)
        if result.outcome != Outcome.ROTATED or subject is None or not _parked(subject):
            out.append(result)
            continue
        # Old pods terminate once a rollout is complete: wait for them, unless a restart was held back,
        # left to GitOps or failed (then a later run retires the old credential).
        while (waiting := subject.drained()) and settled and time.monotonic() < deadline:
            time.sleep(POLL)
        if waiting:
            out.append(result)  # parked: a later run retires it
            continue
        out.append(rotate(subject, trail))
    for problem in problems:
        trail.say(f"warning: restart: {problem}")
    return out


def _parked(subject: Subject) -> bool:
    return subject.has_consumers and subject.store.journal(subject.path).read() is not None
