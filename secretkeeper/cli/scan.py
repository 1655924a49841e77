"""`secretkeeper scan`: files, git history, images and clusters in; a report and an exit code out."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable

import typer

from secretkeeper.cli.errors import enable_debug, handle_errors
from secretkeeper.cli.gc_tuning import tuned_gc_for_scan
from secretkeeper.cli.inputs import check_roots
from secretkeeper.errors import ExitStatus, SecretkeeperError

app = typer.Typer()

FORMAT_HELP = "Report format: text (human), json (stable schema), sarif (code scanning), junit (CI)."


def _progress_enabled(flag: bool | None, quiet: bool) -> bool:
    if quiet:
        return False
    if flag is not None:
        return flag
    return sys.stderr.isatty() and not os.environ.get("CI")


@app.command()
@handle_errors
def scan(
    paths: list[Path] = typer.Argument(None, readable=False, help="Files or directories to scan (default: .). "
                                       "A git repository is scanned with its full history unless --no-history."),
    fmt: str = typer.Option("text", "--format", "-f", help=FORMAT_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", readable=False, help="Write the report to FILE "
                                          "(0600) instead of stdout."),
    baseline: Path | None = typer.Option(None, "--baseline", readable=False, help="Ignore findings recorded in "
                                            "this baseline file (see `secretkeeper baseline`)."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at or above "
                                          "this severity: info, low (default), medium, high, critical."),
    config: Path | None = typer.Option(None, "--config", "-c", readable=False, help="Config file (default: "
                                          "secretkeeper.yaml or .secretkeeper.yaml at the scanned root)."),
    rules_file: list[Path] = typer.Option([], "--rules", readable=False, help="Extra rule file (TOML, built-in "
                                          "schema); repeatable."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
    no_history: bool = typer.Option(False, "--no-history", help="Scan only the working tree, not git "
                                    "history."),
    since: str | None = typer.Option(None, "--since", help="History: only content reachable from the "
                                        "scanned refs and not from REV (pull requests); no working tree."),
    staged: bool = typer.Option(False, "--staged", help="Scan only what is staged in the index (pre-commit)."),
    branch: list[str] = typer.Option([], "--branch", help="History of this ref only (repeatable) instead "
                                     "of all refs."),
    all_refs: bool = typer.Option(True, "--all-refs", help="History of every branch, tag and "
                                  "remote-tracking ref (default)."),
    stash: bool = typer.Option(False, "--stash", help="Also scan refs/stash."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Show progress on "
                                            "stderr (default: on a terminal, off in CI)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print findings only: no summary, no "
                               "progress."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks (never with local values)."),
    image: list[str] = typer.Option([], "--image", help="Also scan a container image's config (Env, "
                                    "Labels, history): REGISTRY/REPO[:TAG][@DIGEST], oci:DIR[:TAG] or "
                                    "docker-archive:FILE.tar[:REPO:TAG]. Repeatable; no PATH means no files."),
    image_layers: bool = typer.Option(False, "--image-layers", help="With --image: also scan the files in "
                                      "every layer (streamed; whiteouts noted)."),
    platform: str | None = typer.Option(None, "--platform", help="With --image: the platform to pick "
                                           "from a manifest list, OS/ARCH[/VARIANT] (default linux/amd64)."),
    cluster: bool = typer.Option(False, "--cluster", help="Scan a live cluster through the Kubernetes API "
                                 "(kubeconfig or in-cluster config): workloads, Secrets (metadata only), "
                                 "ConfigMaps, ServiceAccounts, RBAC. No PATH means no files."),
    context: str | None = typer.Option(None, "--context", help="With --cluster: the kubeconfig context "
                                          "(default: the current context)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="With --cluster: this namespace "
                                            "(default: the context's namespace)."),
    all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A", help="With --cluster: every "
                                        "namespace."),
    images_from_cluster: bool = typer.Option(False, "--images-from-cluster", help="Also scan the images "
                                             "the cluster's running pods use (deduplicated by digest)."),
) -> None:
    """Scan files (and git history) for leaked credentials; exit 1 on findings at/above --fail-on.

    Examples:

      secretkeeper scan                          # this directory, text report

      secretkeeper scan . -f sarif -o out.sarif  # for code scanning upload

      secretkeeper scan --baseline .secretkeeper-baseline.json --fail-on high
    """
    from secretkeeper import report
    from secretkeeper.baseline import Baseline
    from secretkeeper.config import resolve_config
    from secretkeeper.fileio import write_private
    from secretkeeper.findings import Severity
    from scanners.options import ClusterOptions, HistoryOptions, ImageOptions
    from secretkeeper.pipeline import ScanOptions, run_scan

    if debug:
        enable_debug()
    if fmt not in report.FORMATS:
        raise SecretkeeperError(f"--format: unknown format (choose from {', '.join(report.FORMATS)})")
    # A scan of only images (or only a cluster) does not also sweep the current directory.
    if namespace is not None and all_namespaces:
        raise SecretkeeperError("--namespace and --all-namespaces exclude each other")
    if (context or namespace or all_namespaces) and not (cluster or images_from_cluster):
        raise SecretkeeperError("--context, --namespace and --all-namespaces need --cluster")
    default_roots = [] if (image or cluster or images_from_cluster) else [Path(".")]
    roots = [Path(p) for p in (paths or default_roots)]
    check_roots(roots)
    cfg = resolve_config(config, roots or [Path(".")])
    floor_text = fail_on or (cfg.scan.fail_on.value if cfg.scan.fail_on else "low")
    try:
        floor = Severity.parse(floor_text)
    except ValueError:
        choices = ", ".join(s.value for s in Severity)  # the value is not echoed: it may be anything
        raise SecretkeeperError(f"--fail-on: unknown severity (choose from {choices})") from None
    base = Baseline.load(baseline) if baseline else None
    show_progress = _progress_enabled(progress, quiet)
    history = HistoryOptions(enabled=not no_history, since=since, staged=staged, branches=tuple(branch),
                             stash=stash)
    images = ImageOptions(refs=tuple(image), layers=image_layers, platform=platform)
    in_cluster = ClusterOptions(objects=cluster, images=images if images_from_cluster else None,
                                context=context, namespace=namespace, all_namespaces=all_namespaces)
    options = ScanOptions(paths=roots, config=cfg, jobs=jobs, baseline=base, rule_files=list(rules_file),
                          history=history, images=images, cluster=in_cluster)
    with tuned_gc_for_scan():  # here, after the imports and the config: those stay out of collections
        if show_progress:
            result = _with_progress(options, run_scan)
        else:
            result = run_scan(options)
        if not quiet:  # e.g. "secrets in namespace X: not visible with these permissions"
            for warning in result.stats.warnings:
                typer.echo(f"secretkeeper: warning: {warning}", err=True)
        color = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        if quiet and fmt == "text":  # findings only: no summary line, nothing at all when clean
            text = report.renderer("text")(result, color=color, summary=False) if result.findings else ""
        else:
            text = report.render(result, fmt, color=color)
        if output is not None:
            write_private(output, text)
        elif text:
            _write_stdout(text)
        if output is not None and not quiet:
            typer.echo(f"secretkeeper: wrote {fmt} report to {output} ({len(result.findings)} findings)", err=True)
        if result.any_at_or_above(floor):
            raise typer.Exit(int(ExitStatus.FINDINGS))


def _write_stdout(text: str) -> None:
    """A stdout that cannot encode a character (a latin-1 locale and the preview's `…`) gets a
    replacement character, not a crash after the whole scan."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, "replace").decode(encoding)
    except LookupError:
        pass
    sys.stdout.write(text)
    sys.stdout.flush()


def _with_progress(options: Any, run: Callable[[Any], Any]) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TextColumn("{task.fields[files]} files"), TimeElapsedColumn(),
                  console=_stderr_console(), transient=True) as bar:
        task = bar.add_task("scanning", total=None, files=0)

        def tick(files: int, nbytes: int, total: int | None = None, label: str | None = None) -> None:
            bar.update(task, completed=nbytes, total=total, files=files,
                       **({"description": label} if label else {}))

        options.progress = tick
        return run(options)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
