"""The `manifest` sync target: a plain Secret manifest in a folder, `DIR/NAME.yaml`.

For demos and for a pipeline that seals the file itself: the file is written atomically with mode 0600
and opens with a loud NOT ENCRYPTED comment, and every write warns on stderr. Keep the folder out of git
(and out of scans: the project's own .secretkeeper.yaml excludes it by path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from providers.base import SecretVersion
from secretkeeper.config.secrets import ManifestTarget, SecretConfig
from secretkeeper.fileio import write_private
from secretkeeper.kube.sync.files import make_folder, remove_file
from secretkeeper.kube.sync.secret_object import VERSION, only_keys, secret_object, secret_type
from secretkeeper.kube.sync.target import SyncError

BANNER = ("# NOT ENCRYPTED: a plain Kubernetes Secret written by secretkeeper (sync target `manifest`).\n"
          "# Anyone who can read this file has the credential. Do not commit it; seal it first.\n")


class ManifestFile:
    kind = "manifest"
    encrypted = False

    def __init__(self, options: ManifestTarget, *, secret: SecretConfig, store: str, base: Path) -> None:
        self.name = options.secret or secret.name
        self.namespace = options.namespace
        self.store, self.path = store, secret.path
        self.keys = options.keys
        folder = Path(options.dir)
        self.file = folder if folder.is_absolute() else base / folder
        self.file = self.file / f"{self.name}.yaml"
        self.where = str(self.file)

    def write(self, version: SecretVersion) -> None:
        version = only_keys(version, self.keys, self.where)
        try:
            body = secret_object(self.name, self.namespace, self.store, self.path, version, secret_type(version))
        except ValueError as exc:
            raise SyncError(f"{self.where}: {exc}") from None
        make_folder(self.file.parent, 0o700)  # a new folder: ours alone
        write_private(self.file, BANNER + _yaml(body))

    def remove(self) -> None:
        remove_file(self.file, self.where)

    def holds(self) -> str | None:
        """The version annotation of the file on disk (read as text: no YAML library for one line)."""
        try:
            text = self.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        prefix = f"    {VERSION}: "
        for line in text.splitlines():
            if line.startswith(prefix):
                try:
                    return str(json.loads(line[len(prefix):]))
                except ValueError:  # edited by hand: the file does not say
                    return None
        return None


def target(options: ManifestTarget, *, secret: SecretConfig, store: str, base: Path) -> ManifestFile:
    return ManifestFile(options, secret=secret, store=store, base=base)


def _yaml(node: dict[str, Any], indent: str = "") -> str:
    """Block YAML with every scalar as a JSON string (a valid YAML double-quoted scalar): stable bytes,
    nothing YAML would reinterpret (`no`, `1e3`, `*`)."""
    out = []
    for key, value in node.items():
        if isinstance(value, dict):
            out.append(f"{indent}{key}:\n{_yaml(value, indent + '  ')}")
        else:
            out.append(f"{indent}{key}: {json.dumps(value)}\n")
    return "".join(out)
