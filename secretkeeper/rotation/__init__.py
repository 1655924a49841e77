"""Rotation of managed secrets: when each is due, the crash-safe staged state machine, its audit trail.

    policy.py       when a managed secret is due (every, cron, max_age, renew_before, min_interval, jitter)
    window.py       maintenance windows in local wall-clock time, across DST changes
    audit.py        one JSON line per rotation step, never a value
    actor.py        who acts: the Kubernetes service account, the store's identity, else the OS user
    crashpoints.py  where tests kill the process (SECRETKEEPER_CRASH_AT)
"""
