"""`secretkeeper rules list|test`: the rule catalog as users see it, and its examples run through the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from secretkeeper.cli.errors import handle_errors
from secretkeeper.errors import ExitStatus, SecretkeeperError

app = typer.Typer(help="Inspect and test the rule catalog.", no_args_is_help=True)


@app.command("list")
@handle_errors
def rules_list(
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    config: Path | None = typer.Option(None, "--config", "-c", readable=False,
                                       help="Include custom rules from this config."),
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


@app.command("test")
@handle_errors
def rules_test(
    config: Path | None = typer.Option(None, "--config", "-c", readable=False,
                                       help="Also test custom rules in this config."),
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
