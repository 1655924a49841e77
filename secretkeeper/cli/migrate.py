"""`secretkeeper migrate`: the one-off move from env-var secrets to secrets mounted as read-only files
(`env-to-files`, on manifest files or a live cluster) and its undo (`rollback`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.errors import ExitStatus, SecretkeeperError

app = typer.Typer(help="Move workloads from env-var secrets to secrets mounted as read-only files.",
                  no_args_is_help=True, rich_markup_mode=None)

ENV_TO_FILES_HELP = """Find every container env var that carries a secret (a literal credential, a
valueFrom.secretKeyRef, an envFrom.secretRef) and deliver it as a read-only file instead: literal values
move into a new Secret (or, with --store, a store entry), each Secret becomes a secret volume with only the
keys needed (mode 0440 with the pod's fsGroup for non-root pods, else 0400; never subPath), mounted at
MOUNT-ROOT/<secret>/, and the env var becomes <NAME>_FILE=<file> (or goes, with --no-file-env).
Non-secret env vars are untouched.

\b
Files: a unified diff on stdout (new Secrets with values redacted); --write rewrites the files in place,
changing only the lines the migration needs (comments, order, quoting, flow style and line endings
stay), and writes each new Secret with its values to a 0600 file under --secrets-dir. Helm templates
are never rewritten (the report says what to change); a Kustomize base gets a patch file beside it.

\b
Cluster (--cluster): the new workloads as a diff; --apply changes one workload at a time and waits for
its rollout, recording every change in a rollback file (0600, no values) that
`secretkeeper migrate rollback FILE` undoes; --dry-run=server sends the same requests for the API
server to validate, changing nothing.

\b
The report (stderr, or stdout with --format text|json) says per workload what moved where, whether each
image is known to read *_FILE files, and which $(VAR) references in command/args no longer expand.
A second run finds nothing to migrate.

\b
Examples:
  secretkeeper migrate env-to-files deploy/                 # review the diff
  secretkeeper migrate env-to-files deploy/ --write --secrets-dir ~/migrated-secrets
  secretkeeper migrate env-to-files --cluster -n shop        # the patches, nothing applied
  secretkeeper migrate env-to-files --cluster -n shop --apply --rollback-file shop.rollback.json
  secretkeeper migrate rollback shop.rollback.json

\b
Exit codes: 0 done (or nothing to migrate), 1 a rollout did not complete (stopped; roll back with the
file), 2 usage or input error."""


@app.command("env-to-files", help=ENV_TO_FILES_HELP)
@handle_errors
def env_to_files(
    paths: list[Path] = typer.Argument(None, readable=False, help="Manifest files or directories."),
    cluster: bool = typer.Option(False, "--cluster", help="Migrate the workloads of a live cluster instead."),
    context: str | None = typer.Option(None, "--context", help="With --cluster: the kubeconfig context."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="With --cluster: this namespace "
                                            "(default: the context's)."),
    all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A", help="With --cluster: every namespace."),
    apply: bool = typer.Option(False, "--apply", help="With --cluster: make the changes (one workload at a "
                               "time, each rollout waited for)."),
    dry_run: str | None = typer.Option(None, "--dry-run", help="With --cluster: `server` sends every request "
                                          "with dryRun=All: validated by the API server, nothing changed."),
    rollback_file: Path | None = typer.Option(None, "--rollback-file", readable=False, help="With --apply: "
                                                 "where the undo record goes (0600, no values; default "
                                                 "migrate-rollback-<time>.json)."),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="With --apply: seconds to wait for each "
                                  "rollout."),
    write: bool = typer.Option(False, "--write", help="Rewrite the files (default: show a diff)."),
    secrets_dir: Path = typer.Option(Path("secretkeeper-secrets"), "--secrets-dir", readable=False,
                                     help="With --write: where each new Secret holding literal values is "
                                     "written (0600 files; keep them out of git: seal them or use --store)."),
    store: str | None = typer.Option(None, "--store", help="Put literal values into this store (from the "
                                        "config's `stores:`) instead of a Secret file; the report shows the "
                                        "managed secret to declare so it syncs into the Secret."),
    config: Path | None = typer.Option(None, "--config", "-c", readable=False, help="Config file (default: "
                                          "secretkeeper.yaml in the working directory)."),
    mount_root: str = typer.Option("/var/run/secrets", "--mount-root", help="Where the secret volumes are "
                                   "mounted: MOUNT-ROOT/<secret-name>/."),
    no_file_env: bool = typer.Option(False, "--no-file-env", help="Remove the env vars instead of "
                                     "replacing them with <NAME>_FILE."),
    fmt: str = typer.Option("diff", "--format", "-f", help="stdout: diff (with a text report on stderr), "
                            "text or json (the report)."),
) -> None:
    from secretkeeper.migrate.request import MigrateRequest
    from secretkeeper.migrate.run import run_env_to_files

    if fmt not in ("diff", "text", "json"):
        raise SecretkeeperError(f"--format {fmt}: expected diff, text or json")
    if dry_run not in (None, "server"):
        raise SecretkeeperError(f"--dry-run={dry_run}: only --dry-run=server is supported")
    if namespace is not None and all_namespaces:
        raise SecretkeeperError("--namespace and --all-namespaces exclude each other")
    if cluster and paths:
        raise SecretkeeperError("give manifest PATHs or --cluster, not both")
    if not cluster:
        if not paths:
            raise SecretkeeperError("give manifest files or directories, or --cluster")
        for flag, given in (("--context", context), ("--namespace", namespace), ("--all-namespaces", all_namespaces),
                            ("--apply", apply), ("--dry-run", dry_run), ("--rollback-file", rollback_file)):
            if given:
                raise SecretkeeperError(f"{flag} needs --cluster")
    elif write:
        raise SecretkeeperError("--write is for files; with --cluster use --apply")
    if not mount_root.startswith("/") or mount_root.rstrip("/") == "":
        raise SecretkeeperError(f"--mount-root {mount_root}: an absolute directory is needed")
    request = MigrateRequest(paths=list(paths or []), cluster=cluster, context=context, namespace=namespace,
                             all_namespaces=all_namespaces, apply=apply, dry_run=dry_run == "server",
                             rollback_file=rollback_file, timeout=timeout, write=write, secrets_dir=secrets_dir,
                             store=store, config=config, mount_root=mount_root.rstrip("/"),
                             file_env=not no_file_env)
    outcome = run_env_to_files(request)
    if fmt == "diff":
        sys.stdout.write(outcome.diff)
        sys.stderr.write(outcome.text)
    else:
        sys.stdout.write(outcome.json if fmt == "json" else outcome.text)
    for line in outcome.messages:
        typer.echo(line, err=True)
    if outcome.failed:
        raise typer.Exit(int(ExitStatus.FINDINGS))


ROLLBACK_HELP = """Undo a `migrate env-to-files --cluster --apply` from its rollback file: each workload
gets its pod template back (literal values read back from the Secrets the migration created), one at a
time, each rollout waited for; then the created Secrets are deleted. A workload changed since the
migration is left alone (say --force to restore it anyway).

\b
Exit codes: 0 undone, 1 a workload was left alone or its rollout did not complete, 2 usage error."""


@app.command("rollback", help=ROLLBACK_HELP)
@handle_errors
def rollback_cmd(
    file: Path = typer.Argument(..., readable=False, help="The rollback file `--apply` wrote."),
    context: str | None = typer.Option(None, "--context", help="The kubeconfig context (default: the one "
                                          "recorded in the file, else the current)."),
    force: bool = typer.Option(False, "--force", help="Restore workloads changed since the migration too."),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="Seconds to wait for each rollout."),
) -> None:
    from secretkeeper.migrate.rollback import rollback

    lines, failed = rollback(file, context=context, force=force, timeout=timeout)
    for line in lines:
        typer.echo(line)
    if failed:
        raise typer.Exit(int(ExitStatus.FINDINGS))
