"""`secretkeeper put`: a person's new value for a managed secret, from stdin or a file, never argv."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import audit_log_option, audit_stdout_option, config_option, managed_config
from secretkeeper.errors import ExitStatus, SecretkeeperError

app = typer.Typer()

HELP = """Write a new version of a managed secret through the same staged protocol as a rotation (lock,
stage, verify, sync, promote). The value comes from stdin or --from-file, never from the command line:
a JSON object of key -> text, or one raw value for a secret with a single key (from stdin, one trailing
newline is dropped).

\b
Examples:
  printf '%s' "$NEW_KEY" | secretkeeper put vendor-api-key
  secretkeeper put pg-admin --from-file admin.json     # {"username": "...", "password": "..."}
  secretkeeper put tls-key --from-file key.pem --config deploy/secretkeeper.yaml

\b
Exit codes: 0 written, 1 not written (rolled back, or another rotator holds the secret), 2 config or
usage error."""


@app.command("put", help=HELP)
@handle_errors
def put_cmd(
    name: str = typer.Argument(..., help="The managed secret to write."),
    from_file: Path | None = typer.Option(None, "--from-file", help="Read the value from FILE instead of "
                                          "stdin."),
    config: Path | None = config_option,
    audit_log: Path | None = audit_log_option,
    audit_stdout: bool = audit_stdout_option,
) -> None:
    from secretkeeper.rotation.audit import Audit
    from secretkeeper.rotation.engine import Outcome
    from secretkeeper.rotation.put import parse_input, put
    from secretkeeper.rotation.trail import Trail
    from secretkeeper.rotation.wiring import Wiring

    wiring = Wiring(managed_config(config))
    wiring.check_stores(wiring.select([name]))
    if from_file is not None:
        try:
            raw, source = from_file.read_bytes(), str(from_file)
        except OSError as exc:
            raise SecretkeeperError(f"{from_file}: cannot read: {exc.strerror}") from None
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise SecretkeeperError("put: pipe the value to stdin or give --from-file FILE (never on the "
                                    "command line)")
        raw, source = sys.stdin.buffer.read(), "stdin"
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
    data = parse_input(raw, wiring.subject(name).issuer.keys(), name=name, source=source)
    store = wiring.secrets[name].store
    audit = Audit(audit_log, audit_stdout, stores={store: wiring.store(store)})  # its identity: the actor
    try:
        result = put(wiring, Trail(audit), name, data)
    finally:
        audit.close()
    typer.echo(f"{result.secret}: {result.outcome.value}: {result.message}", err=True)
    if result.outcome is not Outcome.ROTATED:
        raise typer.Exit(int(ExitStatus.FINDINGS))
