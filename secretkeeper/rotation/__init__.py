"""Rotation of managed secrets: when each is due, the crash-safe staged state machine, its audit trail.

    engine.py       one secret's rotation: lock -> issue -> stage -> verify -> sync -> promote -> annotate
                    -> retire -> clear, resumed or rolled back after a crash
    locks.py        the journal record as the lock: take, take over a dead or expired holder, renew, release
    run.py          a `rotate` run: what each secret needs now (resume, bootstrap, rotate, remind), in
                    dependency order
    plan.py         `rotate --dry-run`: the plan, touching nothing
    put.py          `put`: a person's value through the same protocol
    overview.py     `status`: versions, dates, targets, rotations in progress
    wiring.py       the config's secrets wired to stores, issuers and sync targets, opened when first used
    trail.py        audit records and progress lines for every step
    policy.py       when a managed secret is due (every, cron, max_age, renew_before, min_interval, jitter)
    window.py       maintenance windows in local wall-clock time, across DST changes
    audit.py        one JSON line per rotation step, never a value
    actor.py        who acts: the Kubernetes service account, the store's identity, else the OS user
    crashpoints.py  where tests kill the process (SECRETKEEPER_CRASH_AT)
"""
