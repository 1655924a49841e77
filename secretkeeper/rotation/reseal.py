"""`secretkeeper reseal DIR`: the SealedSecrets of a folder sealed again from the store's current values,
with the configured certificate or a new one, and `--list`: which certificate sealed each file.

No cluster is asked and no controller private key is needed: sealing takes the public certificate only,
and the values come from the store, through the config's `sealed` targets that write into DIR. A file the
config does not write is left as it is and reported (it cannot be resealed without its values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.sync import targets_for
from secretkeeper.kube.sync.sealed import SealedEntry, SealedFile, sealed_in
from secretkeeper.rotation.wiring import Wiring


@dataclass(frozen=True)
class Resealed:
    file: Path
    secret: str | None  # the managed secret, None for a file the config does not write
    outcome: str  # resealed | unchanged | skipped | not managed
    note: str


def sealed_targets(wiring: Wiring | None, folder: Path) -> list[tuple[str, SealedFile]]:
    """(managed secret, target) for each `sealed` target of the config that writes into `folder`."""
    if wiring is None:
        return []
    out = []
    for secret in wiring.config.secrets:
        for target in targets_for(secret, secret.store, wiring.base):
            if isinstance(target, SealedFile) and _same_dir(target.folder, folder):
                out.append((secret.name, target))
    return out


def reseal(wiring: Wiring, folder: Path, cert: Path | None) -> list[Resealed]:
    _check_folder(folder)
    targets = sealed_targets(wiring, folder)
    entries = list(sealed_in(folder))
    if not targets and not entries:
        raise SecretkeeperError(f"{folder}: no SealedSecret here, and no `sealed` target of "
                                f"{wiring.config.path or 'the config'} writes into it")
    for name, target in targets:  # every certificate checked before any file changes
        if cert is not None:
            target.use_cert(cert)
        elif target.cert_file is None:
            raise SecretkeeperError(f"secret {name}: its `sealed` target fetches the certificate from the "
                                    "cluster; reseal never asks the cluster: give the certificate with --cert")
        target.cert()
    statuses = wiring.statuses([wiring.secrets[name] for name, _ in targets])
    out = []
    for name, target in targets:
        status = statuses[name]
        if status.in_progress:
            out.append(Resealed(target.file, name, "skipped", "a rotation is in progress: it writes this file"))
        elif not status.exists:
            out.append(Resealed(target.file, name, "skipped", "absent in the store: nothing to seal yet"))
        else:
            version = wiring.current(name)
            written = target.seal(version)
            fingerprint = target.cert().short
            out.append(Resealed(target.file, name, "resealed" if written else "unchanged",
                                f"version {version.version}, certificate sha256:{fingerprint}…"))
    ours = {os.path.realpath(target.file) for _, target in targets}
    for entry in entries:
        if os.path.realpath(entry.file) not in ours:
            out.append(Resealed(entry.file, None, "not managed",
                                f"{_who(entry)}: no secret of the config writes it; left {_sealed_by(entry)}"))
    return out


def listing(folder: Path, known: dict[str, str]) -> list[tuple[SealedEntry, str]]:
    """Every SealedSecret in `folder` with the certificate that sealed it (named after a known
    certificate file when its fingerprint is one: fingerprint -> file)."""
    _check_folder(folder)
    return [(entry, _sealed_by(entry, known)) for entry in sealed_in(folder)]


def cert_fingerprint(path: Path) -> str:
    from secretkeeper.fileio import read_input
    from secretkeeper.kube.sealing import MAX_CERT_BYTES, load_cert

    try:
        return load_cert(read_input(path, MAX_CERT_BYTES), str(path)).fingerprint
    except OSError as exc:
        raise SecretkeeperError(f"{path}: cannot read the certificate: {exc.strerror or exc}") from None


def _sealed_by(entry: SealedEntry, known: dict[str, str] | None = None) -> str:
    if entry.sealed_by is None:
        return "sealed by an unknown certificate (no secretkeeper.io/sealed-by annotation)"
    fingerprint = entry.sealed_by.removeprefix("sha256:")
    named = (known or {}).get(fingerprint)
    return f"sealed by sha256:{fingerprint[:16]}…" + (f" ({named})" if named else "")


def _who(entry: SealedEntry) -> str:
    return f"{entry.namespace or '(no namespace)'}/{entry.name or '(no name)'}"


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise SecretkeeperError(f"{folder}: not a folder")


def _same_dir(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
