"""Sync targets: where a managed secret's current value is copied after each rotation, one module per kind
(`manifest` now; `kubernetes`, `sealed`, `sops` beside it).

    target         the Target protocol every kind implements, and SyncError
    secret_object  the Kubernetes Secret a target writes: labels, annotations (store, path, version,
                   content hash; never a value), base64 data
    manifest       a plain Secret YAML file in a folder (0600, atomic, marked NOT ENCRYPTED)
    sealed         a SealedSecret in a folder, sealed to the sealed-secrets controller's certificate
    sops           a Secret manifest encrypted by `sops` to age recipients, values only

Every target writes the whole Secret for one version, idempotently, so a rotation resumed after a crash
or rolled back simply writes again. A config entry is a mapping with the kind as its only key
(`- manifest: {dir: out/secrets}`); `targets_for` builds a secret's targets from its `sync:` list.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from secretkeeper.config.secrets import SecretConfig
from secretkeeper.kube.sync.target import SyncError, Target

__all__ = ["SyncError", "Target", "describe", "targets_for"]


def targets_for(secret: SecretConfig, store: str, base: Path) -> list[Target]:
    """The secret's targets; relative paths are relative to `base` (the config file's folder)."""
    out: list[Target] = []
    for entry in secret.sync:
        for kind in (f.name for f in fields(entry)):
            options = getattr(entry, kind)
            if options is not None:
                module = importlib.import_module(f"secretkeeper.kube.sync.{kind}")
                out.append(module.target(options, secret=secret, store=store, base=base))
    return out


def describe(targets: Sequence[Target]) -> list[str]:
    return [f"{t.kind} {t.where}" + ("" if t.encrypted else " (NOT ENCRYPTED)") for t in targets]
