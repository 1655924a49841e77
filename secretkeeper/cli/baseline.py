"""`secretkeeper baseline`: record today's findings (fingerprints, no secrets) for later scans to skip."""

from __future__ import annotations

from pathlib import Path

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.cli.gc_tuning import tuned_gc_for_scan
from secretkeeper.cli.inputs import check_roots

app = typer.Typer()


@app.command("baseline")
@handle_errors
def baseline_cmd(
    paths: list[Path] = typer.Argument(None, readable=False, help="What to scan (default: .)."),
    output: Path = typer.Option(..., "--output", "-o", readable=False,
                                help="Baseline file to write (JSON, no secrets)."),
    config: Path | None = typer.Option(None, "--config", "-c", readable=False, help="Config file."),
    no_history: bool = typer.Option(False, "--no-history", help="Working tree only."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (default: all cores)."),
) -> None:
    """Record today's findings so later scans report only new ones (`scan --baseline FILE`)."""
    from secretkeeper.baseline import write_baseline
    from secretkeeper.config import resolve_config
    from scanners.options import HistoryOptions
    from secretkeeper.pipeline import ScanOptions, run_scan

    roots = [Path(p) for p in (paths or [Path(".")])]
    check_roots(roots)
    cfg = resolve_config(config, roots)
    with tuned_gc_for_scan():
        result = run_scan(ScanOptions(paths=roots, config=cfg, jobs=jobs,
                                      history=HistoryOptions(enabled=not no_history)))
        n = write_baseline(result.findings, output)
    typer.echo(f"secretkeeper: wrote {n} fingerprints to {output}", err=True)
