"""The `secretkeeper` command line: thin — parse options, call the library, map errors to exit codes.

Exit codes are a contract: 0 clean, 1 findings at/above --fail-on, 2 usage or runtime error (one line on
stderr naming the input), 130 interrupted. Tracebacks never show locals (a local may hold a secret);
`--debug` re-raises for developers.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable

import typer

from secretkeeper import __version__
from secretkeeper.errors import ExitStatus, SecretkeeperError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="secretkeeper",
    help="Find leaked and badly-used credentials (files, git history, Kubernetes, images) and rotate "
    "the ones you manage.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="Inspect and test the rule catalog.", no_args_is_help=True,
                        pretty_exceptions_show_locals=False)
app.add_typer(rules_app, name="rules")

_state = {"debug": bool(os.environ.get("SECRETKEEPER_DEBUG"))}


def _fail(message: str, status: int = ExitStatus.ERROR) -> typer.Exit:
    typer.echo(f"secretkeeper: error: {message}", err=True)
    return typer.Exit(int(status))


def handle_errors(fn: F) -> F:
    """Known errors become one line on stderr and exit 2; unknown ones never print their message
    (it could hold data from a scanned file), only their type, unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except SecretkeeperError as exc:
            if _state["debug"]:
                raise
            raise _fail(str(exc), exc.exit_status) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", ExitStatus.INTERRUPTED) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            raise _fail(f"internal error ({type(exc).__name__}); rerun with --debug for details") from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"secretkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """secretkeeper: scan for leaked secrets and secret-hygiene faults; rotate managed secrets."""


# -- scan -----------------------------------------------------------------------------------------------
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
    paths: list[Path] = typer.Argument(None, help="Files or directories to scan (default: .). A git "
                                       "repository is scanned with its full history unless --no-history."),
    fmt: str = typer.Option("text", "--format", "-f", help=FORMAT_HELP),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to FILE (0600) "
                                          "instead of stdout."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Ignore findings recorded in this "
                                            "baseline file (see `secretkeeper baseline`)."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at or above "
                                          "this severity: info, low (default), medium, high, critical."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (default: "
                                          "secretkeeper.yaml or .secretkeeper.yaml at the scanned root)."),
    rules_file: list[Path] = typer.Option([], "--rules", help="Extra rule file (TOML, built-in schema); "
                                          "repeatable."),
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

    # Per invocation: a previous in-process run's --debug must not stick (tests, embedding).
    _state["debug"] = bool(os.environ.get("SECRETKEEPER_DEBUG")) or debug
    _tune_gc_for_scan()
    if fmt not in report.FORMATS:
        raise SecretkeeperError(f"--format: unknown format (choose from {', '.join(report.FORMATS)})")
    # A scan of only images (or only a cluster) does not also sweep the current directory.
    if namespace is not None and all_namespaces:
        raise SecretkeeperError("--namespace and --all-namespaces exclude each other")
    if (context or namespace or all_namespaces) and not (cluster or images_from_cluster):
        raise SecretkeeperError("--context, --namespace and --all-namespaces need --cluster")
    default_roots = [] if (image or cluster or images_from_cluster) else [Path(".")]
    roots = [Path(p) for p in (paths or default_roots)]
    for root in roots:
        if not root.exists():
            raise SecretkeeperError(f"{root}: no such file or directory")
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
    if result.at_or_above(floor):
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


# -- baseline -------------------------------------------------------------------------------------------
@app.command("baseline")
@handle_errors
def baseline_cmd(
    paths: list[Path] = typer.Argument(None, help="What to scan (default: .)."),
    output: Path = typer.Option(..., "--output", "-o", help="Baseline file to write (JSON, no secrets)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file."),
    no_history: bool = typer.Option(False, "--no-history", help="Working tree only."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
) -> None:
    """Record today's findings so later scans report only new ones (`scan --baseline FILE`)."""
    from secretkeeper.baseline import write_baseline
    from secretkeeper.config import resolve_config
    from scanners.options import HistoryOptions
    from secretkeeper.pipeline import ScanOptions, run_scan

    roots = [Path(p) for p in (paths or [Path(".")])]
    for root in roots:
        if not root.exists():
            raise SecretkeeperError(f"{root}: no such file or directory")
    cfg = resolve_config(config, roots)
    _tune_gc_for_scan()
    result = run_scan(ScanOptions(paths=roots, config=cfg, jobs=jobs,
                                  history=HistoryOptions(enabled=not no_history)))
    n = write_baseline(result.findings, output)
    typer.echo(f"secretkeeper: wrote {n} fingerprints to {output}", err=True)


# -- rules ----------------------------------------------------------------------------------------------
@rules_app.command("list")
@handle_errors
def rules_list(
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    config: Path | None = typer.Option(None, "--config", "-c", help="Include custom rules from this config."),
) -> None:
    """List every rule: id, severity, family, description (leak rules, then Kubernetes hygiene rules)."""
    from secretkeeper.config import Config, load_config
    from secretkeeper.hygiene import HYGIENE_RULES
    from secretkeeper.pipeline import build_rules

    cfg = load_config(config) if config else Config()
    rules = build_rules(cfg)
    if fmt == "json":
        rows = [{"id": r.id, "severity": r.severity.value, "family": r.family, "description": r.description,
                 "keywords": list(r.keywords), "validator": r.validator, "path": r.path,
                 "remediation": r.remediation, "kind": "leak"} for r in rules]
        rows += [{"id": h.id, "severity": h.severity.value, "family": h.family, "description": h.description,
                  "remediation": h.remediation, "kind": "hygiene"} for h in HYGIENE_RULES]
        typer.echo(json.dumps(rows, indent=2))
        return
    if fmt != "text":
        raise SecretkeeperError("--format: unknown format (choose text or json)")
    width = max(len(r.id) for r in [*rules, *HYGIENE_RULES])
    for r in sorted(rules, key=lambda r: (r.family, r.id)):
        typer.echo(f"{r.id:<{width}}  {r.severity.value:<8}  {r.family:<12}  {r.description}")
    for h in HYGIENE_RULES:  # Kubernetes hygiene rules (kind "hygiene"), in catalog order
        typer.echo(f"{h.id:<{width}}  {h.severity.value:<8}  {h.family:<12}  {h.description}")
    typer.echo(f"{len(rules)} rules, {len(HYGIENE_RULES)} hygiene rules")


@rules_app.command("test")
@handle_errors
def rules_test(
    config: Path | None = typer.Option(None, "--config", "-c", help="Also test custom rules in this config."),
) -> None:
    """Run every rule's true and false examples through the engine; exit 1 if any fails."""
    from secretkeeper.config import Config, load_config
    from secretkeeper.rules.examples import check_all
    from secretkeeper.pipeline import build_detector

    from secretkeeper.rules import load_builtin_rules

    cfg = load_config(config) if config else Config()
    detector = build_detector(cfg)
    # Scans load the catalog without its examples; the test needs them.
    shipped = {r.id: r for r in load_builtin_rules(examples=True)}
    rules = [shipped.get(r.id, r) if r.family != "custom" else r for r in detector.rules]
    failures: list[Any] = list(check_all(detector, rules))
    from secretkeeper.hygiene import HYGIENE_RULES
    from secretkeeper.hygiene.examples import check_examples

    failures += check_examples(detector)  # Kubernetes hygiene rules: example manifests
    hygiene_examples = sum(len(h.true) + len(h.false) for h in HYGIENE_RULES)
    typer.echo(f"{len(HYGIENE_RULES)} hygiene rules, {hygiene_examples} example manifests")
    for failure in failures:
        typer.echo(f"FAIL {failure}", err=True)
    n = len(rules)
    examples = sum(len(r.examples.true) + len(r.examples.false) for r in rules)
    typer.echo(f"{n} rules, {examples} examples, {len(failures)} failures")
    if failures:
        raise typer.Exit(int(ExitStatus.FINDINGS))


def _tune_gc_for_scan() -> None:
    """Collect garbage less often during a scan run from the console script. A scan keeps every finding
    and parsed object alive to the end, and the default thresholds (a young collection every 700
    allocations) traverse them again and again: ~6% of a scan of Kubernetes manifests. A scan makes no
    reference cycles in bulk, so its memory is unchanged; the objects alive at start-up (imports) are
    left out of collections altogether. Only for scans: a long rotation job's client libraries do make
    cycles, and an embedding process (tests, `CliRunner`) keeps its own settings."""
    if _state.get("console"):
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status (also used by tests)."""
    _state["console"] = True
    try:
        app(args=argv, prog_name="secretkeeper", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    finally:
        _state["console"] = False
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
