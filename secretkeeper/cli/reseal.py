"""`secretkeeper reseal DIR`: re-encrypt a folder's SealedSecrets from the store, or list who sealed them."""

from __future__ import annotations

from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.managed import config_option, managed_config
from secretkeeper.errors import ConfigError, ExitStatus

app = typer.Typer()

HELP = """Seal every SealedSecret in DIR again from the store's current values: those the config's
`sealed` targets write into DIR, with the certificate each is configured with, or with --cert NEW (after
the sealed-secrets controller renewed its key, or to move to another cluster). No cluster access and no
controller private key: sealing needs only the public certificate. A file whose version and certificate
are already current is left byte-identical.

--list says which certificate sealed each SealedSecret in DIR (its SHA-256 fingerprint, and the
certificate file of the config or --cert that has it), and changes nothing.

\b
Examples:
  secretkeeper reseal gitops/shop --list
  kubeseal --fetch-cert > new-cert.pem && secretkeeper reseal gitops/shop --cert new-cert.pem

\b
Exit codes: 0 every SealedSecret in DIR is sealed from the store; 1 some were left as they were (not
written by the config, absent in the store, a rotation in progress); 2 config or usage error."""


@app.command("reseal", help=HELP)
@handle_errors
def reseal_cmd(
    folder: Path = typer.Argument(..., metavar="DIR", help="The folder of SealedSecrets."),
    cert: Path | None = typer.Option(None, "--cert", metavar="NEW",
                                     help="Seal with this certificate (PEM) instead of the configured one."),
    list_only: bool = typer.Option(False, "--list", help="Only say which certificate sealed each file."),
    config: Path | None = config_option,
) -> None:
    from secretkeeper.rotation.reseal import cert_fingerprint, listing, reseal, sealed_targets
    from secretkeeper.rotation.wiring import Wiring

    if list_only:
        try:
            wiring = Wiring(managed_config(config))
        except ConfigError:
            if config is not None:
                raise
            wiring = None  # listing needs no config: it only names the certificate files it knows
        known: dict[str, str] = {}  # fingerprint -> the certificate file that has it
        for _, target in sealed_targets(wiring, folder):
            if target.cert_file is not None:
                known[target.cert().fingerprint] = _shown(target.cert_file)
        if cert is not None:
            known[cert_fingerprint(cert)] = _shown(cert)
        for entry, sealed_by in listing(folder, known):
            version = f", version {entry.version}" if entry.version else ""
            typer.echo(f"{entry.file}: {entry.namespace or '-'}/{entry.name or '-'}: {sealed_by}{version}")
        return
    results = reseal(Wiring(managed_config(config)), folder, cert)
    for line in results:
        who = f" ({line.secret})" if line.secret else ""
        typer.echo(f"{line.file}{who}: {line.outcome}: {line.note}")
    if cert is not None and any(line.outcome in ("resealed", "unchanged") for line in results):
        typer.echo(f"note: point the `cert:` of these `sealed` targets at {cert}, or the next rotation "
                   "seals with the old certificate again", err=True)
    left = sum(line.outcome in ("skipped", "not managed") for line in results)
    if left:
        typer.echo(f"{left} SealedSecret(s) in {folder} left as they were", err=True)
        raise typer.Exit(int(ExitStatus.FINDINGS))


def _shown(path: Path) -> str:
    """A path as the user would type it here: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
