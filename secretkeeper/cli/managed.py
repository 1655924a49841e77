"""What the commands on managed secrets (`rotate`, `put`, `status`) share: the config they read, the audit
options, and the one line a run's outcome ends with."""

from __future__ import annotations

from pathlib import Path

import typer

from secretkeeper.config import Config, find_config, load_config
from secretkeeper.errors import ConfigError

CONFIG_HELP = "Config file (default: secretkeeper.yaml in the working directory)."
AUDIT_LOG_HELP = "Append an audit record (JSON line) for every step to FILE (created 0600)."
AUDIT_STDOUT_HELP = "Write the audit records to stdout as JSON lines."

config_option = typer.Option(None, "--config", "-c", help=CONFIG_HELP)
audit_log_option = typer.Option(None, "--audit-log", help=AUDIT_LOG_HELP)
audit_stdout_option = typer.Option(False, "--audit-stdout", help=AUDIT_STDOUT_HELP)


def managed_config(explicit: Path | None) -> Config:
    """The config declaring managed secrets: FILE, or secretkeeper.yaml in the working directory."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        path = explicit
    else:
        found = find_config(Path.cwd())
        if found is None:
            raise ConfigError(f"{Path.cwd()}: no secretkeeper.yaml here (give --config FILE)")
        path = found
    cfg = load_config(path)
    if not cfg.secrets:
        raise ConfigError(f"{path}: declares no managed secrets (a `secrets:` section)")
    return cfg
