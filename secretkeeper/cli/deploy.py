"""`secretkeeper deploy render`: what runs the scheduled rotation in a cluster, least privilege."""

from __future__ import annotations

from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import managed_config

app = typer.Typer(name="deploy", help="Run secretkeeper in a cluster: render its objects.", no_args_is_help=True,
                  rich_markup_mode=None)

HELP = """Print (or write into DIR) the objects that run `secretkeeper rotate --due` as a Kubernetes
CronJob: Namespace, ServiceAccount, ConfigMap (the config file), CronJob (concurrencyPolicy Forbid,
non-root, read-only root filesystem, every capability dropped, seccomp RuntimeDefault, resource limits),
a Role and RoleBinding per namespace the config names with only what its secrets need (get/update/patch
on the named Secrets, create for a Secret not there yet, patch on the named consumers, serviceaccounts/
token where token issuers exist, Leases for the lock) and a NetworkPolicy allowing egress to the API
server, DNS and the configured stores only.

The config's `deploy:` section sets namespace, image, schedule and api_server (the API server's address
or CIDR for the NetworkPolicy; default 10.96.0.1/32).

\b
Examples:
  secretkeeper deploy render --config secretkeeper.yaml | kubectl apply -f -
  secretkeeper deploy render --config secretkeeper.yaml -o deploy/rendered
  secretkeeper scan deploy/rendered        # the rendered objects scan clean

\b
Exit codes: 0 rendered, 2 config or usage error."""


@app.command("render", help=HELP)
@handle_errors
def render_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="The config declaring the managed secrets."),
    out: Path | None = typer.Option(None, "--output", "-o", help="Write one file per object into DIR "
                                    "instead of printing them."),
) -> None:
    from secretkeeper.kube.deploy import render, write

    objects = render(managed_config(config))
    written = write(objects, out)
    if isinstance(written, str):
        typer.echo(written, nl=False)
    else:
        typer.echo(f"deploy: {len(written)} objects written to {out}", err=True)
