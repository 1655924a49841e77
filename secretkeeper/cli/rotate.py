"""`secretkeeper rotate`: rotate managed secrets that are due (the scheduled job), or named ones now."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import audit_log_option, audit_stdout_option, config_option, managed_config
from secretkeeper.errors import ExitStatus, SecretkeeperError

app = typer.Typer()

HELP = """Rotate managed secrets: issue a new value, stage it in its store, verify it, sync it to its
targets, promote it, then retire the previous one. Every step is recorded in a journal beside the
secret, so a run killed at any instant is resumed or rolled back by the next one, and two runs started
together rotate a secret once (the loser says who holds the lock). In a cluster, `lock: {kubernetes:
{namespace: NS}}` in the config also holds a Kubernetes Lease per secret (secretkeeper-NAME) while it
rotates. Credentials the config needs are named, never written: `{from: STORE:PATH#KEY}` or `{env: NAME}`.

\b
Examples:
  secretkeeper rotate --due                      # the scheduled job: what is due, absent or half-done
  secretkeeper rotate payments-db --dry-run      # the plan: what would be issued, staged, synced
  secretkeeper rotate payments-db --force        # rotate now, due or not
  secretkeeper rotate --due --audit-log /var/log/secretkeeper/audit.jsonl
  secretkeeper rotate internal-ca --force        # start replacing a CA (x509-ca): later --due runs
                                                 # add it to the bundle, switch, then drop the old one

\b
Exit codes: 0 nothing due or all rotated (a static secret that is due is a reminder, still 0),
1 a rotation failed and was rolled back (or left for the next run to finish), 2 config or usage error."""


@app.command("rotate", help=HELP)
@handle_errors
def rotate_cmd(
    names: list[str] = typer.Argument(None, help="Managed secrets to rotate (if due, or now with --force)."),
    due: bool = typer.Option(False, "--due", help="Every managed secret that is due, absent (bootstrap) or "
                             "has a rotation in progress. Safe to run every few minutes."),
    force: bool = typer.Option(False, "--force", help="Rotate the named secrets now, due or not."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and what each issuer needs; "
                                 "change nothing, not even the journal."),
    config: Path | None = config_option,
    audit_log: Path | None = audit_log_option,
    audit_stdout: bool = audit_stdout_option,
) -> None:
    from secretkeeper.rotation.audit import Audit
    from secretkeeper.rotation.plan import plan
    from secretkeeper.rotation.consumers import rotate_and_restart
    from secretkeeper.rotation.trail import Trail
    from secretkeeper.rotation.wiring import Wiring

    if not names and not due:
        raise SecretkeeperError("rotate: name the secrets to rotate, or give --due (see --help)")
    if force and not names:
        raise SecretkeeperError("rotate: --force rotates the secrets you name, not every one")
    wiring = Wiring(managed_config(config))
    secrets = wiring.select(names or [])
    wiring.check_stores(secrets)
    now = datetime.now(UTC)
    if dry_run:
        for line in plan(wiring, secrets, force=force, now=now):
            typer.echo(line)
        return
    # The stores these secrets live in (a run opens them anyway): an audit record's actor may be a store's
    # own identity.
    audit = Audit(audit_log, audit_stdout, stores={s.store: wiring.store(s.store) for s in secrets})
    try:
        results = rotate_and_restart(wiring, Trail(audit), secrets, force=force, now=now)
    finally:
        audit.close()
    for result in results:
        if result.outcome.value != "skipped" or names:
            typer.echo(f"{result.secret}: {result.outcome.value}: {result.message}", err=True)
    counts = Counter(result.outcome.value for result in results)
    typer.echo("rotate: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())), err=True)
    if any(result.failed for result in results):
        raise typer.Exit(int(ExitStatus.FINDINGS))
