"""Rotation of managed secrets: when each is due, and the crash-safe state machine that rotates it.

    engine       one secret's rotation: lock -> issue -> stage -> verify -> sync -> promote -> annotate ->
                 retire -> clear, resumed or rolled back after a crash
    locks        the journal record as the lock: take, take over a dead or expired holder, renew, release
    run          a `rotate` run: what each secret needs now (resume, bootstrap, rotate, remind), in
                 dependency order
    plan         `rotate --dry-run`: the plan, touching nothing
    put          `put`: a person's value through the same protocol
    overview     `status`: versions, dates, targets, rotations in progress
    wiring       the config's secrets wired to stores, issuers and sync targets, opened when first used
    trail        audit records and progress lines for every step
    policy       when a secret is due
    audit        the JSON-lines audit trail
    crashpoints  where tests kill the process (SECRETKEEPER_CRASH_AT)
"""
