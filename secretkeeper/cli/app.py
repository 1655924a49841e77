"""The root `secretkeeper` app: the command families joined, `--version`, `--debug`, and `main`."""

from __future__ import annotations

import typer

from secretkeeper import __version__
from secretkeeper.cli.baseline import app as baseline_app
from secretkeeper.cli.deploy import app as deploy_app
from secretkeeper.cli.errors import reset_debug
from secretkeeper.cli.migrate import app as migrate_app
from secretkeeper.cli.put import app as put_app
from secretkeeper.cli.reseal import app as reseal_app
from secretkeeper.cli.rotate import app as rotate_app
from secretkeeper.cli.rules import app as rules_app
from secretkeeper.cli.scan import app as scan_app
from secretkeeper.cli.status import app as status_app
from secretkeeper.cli.tokens import app as tokens_app
from secretkeeper.cli.sync import app as sync_app

app = typer.Typer(
    name="secretkeeper",
    help="Find leaked and badly-used credentials (files, git history, Kubernetes, images) and rotate "
    "the ones you manage.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(scan_app)  # `scan` and `baseline` are single commands: merged into the root
app.add_typer(baseline_app)
app.add_typer(rules_app, name="rules")
app.add_typer(rotate_app)  # `rotate`, `status`, `put`: single commands on managed secrets
app.add_typer(status_app)
app.add_typer(put_app)
app.add_typer(reseal_app)  # `reseal DIR`: SealedSecrets sealed again, no cluster access
app.add_typer(migrate_app, name="migrate")
app.add_typer(tokens_app, name="tokens")  # `tokens migrate`: off legacy service-account token Secrets
app.add_typer(sync_app)  # `sync`: push current versions without rotating
app.add_typer(deploy_app, name="deploy")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"secretkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks (never with local values)."),
) -> None:
    """secretkeeper: scan for leaked secrets and secret-hygiene faults; rotate managed secrets."""
    reset_debug(debug)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status (also used by tests)."""
    try:
        app(args=argv, prog_name="secretkeeper", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
