"""What `migrate env-to-files` is asked (`MigrateRequest`) and what it answers (`Outcome`): shared by the
file and the cluster paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from secretkeeper.migrate.report import Entry, json_report, text_report


@dataclass
class MigrateRequest:
    paths: list[Path]
    cluster: bool = False
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    apply: bool = False
    dry_run: bool = False
    rollback_file: Path | None = None
    timeout: float = 300.0
    write: bool = False
    secrets_dir: Path = Path("secretkeeper-secrets")
    store: str | None = None
    config: Path | None = None
    mount_root: str = "/var/run/secrets"
    file_env: bool = True


@dataclass
class Outcome:
    diff: str = ""
    entries: list[Entry] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    failed: bool = False
    changes: bool = False  # whether anything changes (or would, without --write / --apply)

    @property
    def text(self) -> str:
        return text_report(self.entries)

    @property
    def json(self) -> str:
        return json_report(self.entries, self.changes)
