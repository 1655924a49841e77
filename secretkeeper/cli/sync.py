"""`secretkeeper sync`: push the current versions of managed secrets to their targets, without rotating."""

from __future__ import annotations

from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import audit_log_option, audit_stdout_option, config_option, managed_config
from secretkeeper.errors import ExitStatus

app = typer.Typer()

HELP = """Write each managed secret's current version to its sync targets again, without rotating it:
after adding a target, for a new cluster, or to repair a Secret edited or deleted by hand. A target that
already holds the content is not rewritten. Then each workload that reads a live Secret that changed is
rolled once (its pod-template annotation secretkeeper.io/secrets-sha256 set to the combined content hash),
however many of its Secrets changed, as the target's `restart:` says (rolling, never, gitops), and the
run waits for the rollouts.

\b
Examples:
  secretkeeper sync                         # every managed secret
  secretkeeper sync app-db payments-db      # the named ones
  secretkeeper sync --rollout-timeout 600 --config deploy/secretkeeper.yaml

\b
Exit codes: 0 synced (or nothing to sync), 1 a target could not be written or a rollout failed,
2 config or usage error."""


@app.command("sync", help=HELP)
@handle_errors
def sync_cmd(
    names: list[str] = typer.Argument(None, help="Managed secrets to sync (default: all)."),
    rollout_timeout: float = typer.Option(300.0, "--rollout-timeout", min=1.0,
                                          help="Seconds to wait for the consumers' rollouts."),
    config: Path | None = config_option,
    audit_log: Path | None = audit_log_option,
    audit_stdout: bool = audit_stdout_option,
) -> None:
    from secretkeeper.rotation.audit import Audit
    from secretkeeper.rotation.sync import sync_secrets
    from secretkeeper.rotation.trail import Trail
    from secretkeeper.rotation.wiring import Wiring

    wiring = Wiring(managed_config(config))
    secrets = wiring.select(names or [])
    wiring.check_stores(secrets)
    audit = Audit(audit_log, audit_stdout, stores={s.store: wiring.store(s.store) for s in secrets})
    try:
        results, problems = sync_secrets(wiring, Trail(audit), secrets, timeout=rollout_timeout)
    finally:
        audit.close()
    for result in results:
        word = "synced" if result.outcome.value == "rotated" else result.outcome.value
        typer.echo(f"{result.secret}: {word}: {result.message}", err=True)
    for problem in problems:
        typer.echo(f"restart failed: {problem}", err=True)
    if problems or any(result.failed for result in results):
        raise typer.Exit(int(ExitStatus.FINDINGS))
