"""`secretkeeper status`: every managed secret's versions, age, rotation dates, sync targets and any
rotation in progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import config_option, managed_config
from secretkeeper.errors import SecretkeeperError

app = typer.Typer()

HELP = """Show every managed secret: its store and path, current and previous versions, age, last
rotation and next due date, the version each sync target holds, and any rotation in progress with who
holds it. Reads statuses only; never shows a value.

\b
Examples:
  secretkeeper status
  secretkeeper status --format json --config deploy/secretkeeper.yaml"""


@app.command("status", help=HELP)
@handle_errors
def status_cmd(
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    config: Path | None = config_option,
) -> None:
    from secretkeeper.rotation.overview import as_text, overview
    from secretkeeper.rotation.wiring import Wiring

    if fmt not in ("text", "json"):
        raise SecretkeeperError(f"--format: unknown format {fmt!r} (choose text or json)")
    rows = overview(Wiring(managed_config(config)), datetime.now(UTC))
    typer.echo(json.dumps(rows, indent=2) if fmt == "json" else as_text(rows), nl=fmt == "json")
