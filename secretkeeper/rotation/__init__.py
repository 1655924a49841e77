"""Rotation of managed secrets: when each is due, the crash-safe staged state machine, its audit trail.

    policy.py       when a managed secret is due (every, cron, max_age, renew_before, window, jitter)
    audit.py        one JSON line per rotation step, never a value; who acted
    crashpoints.py  where tests kill the process (SECRETKEEPER_CRASH_AT)
"""
