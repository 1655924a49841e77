"""`secretkeeper tokens migrate`: legacy service-account token Secrets — report, invalidate, restore,
delete the unused (secretkeeper/kube/legacy_tokens.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import audit_log_option, audit_stdout_option, config_option, managed_config
from secretkeeper.errors import ExitStatus, SecretkeeperError

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.kube.legacy_tokens import LegacyToken

app = typer.Typer(help="Service-account tokens: move off legacy token Secrets.", no_args_is_help=True,
                  rich_markup_mode=None)

MIGRATE_HELP = """Find legacy service-account token Secrets (type kubernetes.io/service-account-token: a
token that never expires and cannot be revoked), and retire them step by step.

Without an action flag it only reports (read-only): each Secret, its ServiceAccount, the day its token
was last used (the API server's kubernetes.io/legacy-token-last-used label), whether it is already
invalid, the pods in its namespace that use it (secret volume, projected source, env secretKeyRef,
envFrom), and the next step:

\b
  - pods that use it: move them to a projected serviceAccountToken volume (short-lived tokens the
    kubelet renews, bound to the pod);
  - used, but by no pod (a CI system, a dashboard outside the cluster): give that client a bound,
    rotated token — a managed secret with `issuer: {type: k8s-token, namespace, service_account,
    audiences, ttl}` that `secretkeeper rotate --due` re-issues before it expires;
  - then invalidate it, and delete it once the grace period passed with no use.

Actions (one at a time; --secret NS/NAME limits them to those Secrets):

\b
  --issue           for each legacy token used by no pod, issue the bound token that replaces it: the
                    config's k8s-token managed secrets for its ServiceAccount are issued now if absent
                    from their store (as `rotate` does; --config, --audit-log). A ServiceAccount with no
                    such managed secret is reported with the entry to add.
  --invalidate      label kubernetes.io/legacy-token-invalid-since=<today>: the API server (1.28+)
                    rejects the token from then on. Refused for a Secret a pod uses, or when pods
                    cannot be listed. Undo with --restore.
  --restore         remove that label: the token works again.
  --delete-unused   delete the Secrets invalid for longer than --grace (default 30d) whose
                    last-used day is not after the day they were invalidated (nor used by a pod).

Needs: list secrets and pods (report); what `rotate --dry-run` names for --issue; patch secrets (--invalidate, --restore); delete secrets
(--delete-unused). Token values are never read or printed.

\b
Examples:
  secretkeeper tokens migrate
  secretkeeper tokens migrate -n ci --format json
  secretkeeper tokens migrate --issue --secret ci/deployer-token -c secretkeeper.yaml
  secretkeeper tokens migrate --invalidate --secret ci/deployer-token
  secretkeeper tokens migrate --delete-unused --grace 30d

\b
Exit codes: 0 done (or report); 1 an action skipped some Secret (the report says why); 2 error."""


@app.command("migrate", help=MIGRATE_HELP)
@handle_errors
def migrate_cmd(
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Only this namespace (default: all)."),
    context: str | None = typer.Option(None, "--context", help="Kubeconfig context (default: current, or "
                                       "in-cluster)."),
    secret: list[str] = typer.Option([], "--secret", metavar="NS/NAME",
                                     help="Only this legacy token Secret (repeatable)."),
    issue: bool = typer.Option(False, "--issue", help="Issue the k8s-token managed secrets that replace them."),
    invalidate: bool = typer.Option(False, "--invalidate", help="Mark them invalid (reversible)."),
    restore: bool = typer.Option(False, "--restore", help="Remove the invalid-since label."),
    delete_unused: bool = typer.Option(False, "--delete-unused",
                                       help="Delete those invalid longer than --grace and unused since."),
    grace: str = typer.Option("30d", "--grace", help="With --delete-unused: how long a Secret stays invalid "
                              "and unused before it is deleted (e.g. 30d, 2w)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    config: Path | None = config_option,
    audit_log: Path | None = audit_log_option,
    audit_stdout: bool = audit_stdout_option,
) -> None:
    from secretkeeper.config.durations import format_duration, parse_duration
    from secretkeeper.kube import legacy_tokens as lt
    from secretkeeper.kube.client import connect

    if fmt not in ("text", "json"):
        raise SecretkeeperError(f"--format: unknown format {fmt!r} (choose text or json)")
    actions = [name for name, on in (("--issue", issue), ("--invalidate", invalidate), ("--restore", restore),
                                     ("--delete-unused", delete_unused)) if on]
    if len(actions) > 1:
        raise SecretkeeperError(f"{' and '.join(actions)}: choose one action per run")
    try:
        grace_span = parse_duration(grace)
    except ValueError as exc:
        raise SecretkeeperError(f"--grace: {exc}") from None
    for ref in secret:
        if ref.count("/") != 1 or not all(ref.split("/")):
            raise SecretkeeperError(f"--secret: {ref!r} is not NAMESPACE/NAME")
    today = datetime.now(UTC).date()
    with connect(context) as conn:
        found = lt.survey(conn, namespace, set(secret) if secret else None)
        if issue:
            _issue(found.tokens, config, audit_log, audit_stdout)
        elif invalidate:
            lt.invalidate(conn, found.tokens, found.pods_visible, today)
        elif restore:
            lt.restore(conn, found.tokens)
        elif delete_unused:
            lt.delete_unused(conn, found.tokens, found.pods_visible, today, grace_span)
    for token in found.tokens:
        if not token.outcome:
            token.note = lt.advice(token, today, grace_span)
    skipped = sum(token.outcome == "skipped" for token in found.tokens)
    if fmt == "json":
        typer.echo(json.dumps({"action": actions[0].lstrip("-") if actions else "report",
                               "grace": format_duration(grace_span), "tokens": [t.to_json() for t in found.tokens],
                               "warnings": found.warnings}, indent=2))
    else:
        for token in found.tokens:
            used = f"last used {token.last_used}" if token.last_used else "no use recorded"
            invalid = f", invalid since {token.invalid_since}" if token.invalid_since else ""
            typer.echo(f"{token.ref}: ServiceAccount {token.service_account}; {used}{invalid}")
            for pod in token.mounted_by:
                typer.echo(f"  used by {pod}")
            typer.echo(f"  {token.outcome or 'next'}: {token.note}")
        for warning in found.warnings:
            typer.echo(f"warning: {warning}", err=True)
        counts = {}
        for token in found.tokens:
            counts[token.outcome or "found"] = counts.get(token.outcome or "found", 0) + 1
        summary = ", ".join(f"{n} {what}" for what, n in counts.items()) or "none found"
        typer.echo(f"legacy service-account token Secrets: {summary}")
    if skipped:
        raise typer.Exit(int(ExitStatus.FINDINGS))


def _issue(tokens: list[LegacyToken], config: Path | None, audit_log: Path | None, audit_stdout: bool) -> None:
    from secretkeeper.rotation.audit import Audit
    from secretkeeper.rotation.bound_tokens import issue_bound
    from secretkeeper.rotation.trail import Trail
    from secretkeeper.rotation.wiring import Wiring

    wiring = Wiring(managed_config(config))
    audit = Audit(audit_log, audit_stdout, stores={s.store: wiring.store(s.store) for s in wiring.config.secrets
                                                   if s.issuer.type == "k8s-token"})
    try:
        issue_bound(wiring, Trail(audit), tokens, datetime.now(UTC))
    finally:
        audit.close()
