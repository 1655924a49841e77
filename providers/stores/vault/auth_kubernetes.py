"""Kubernetes auth: the pod's service-account JWT (the projected token file, re-read at each login since
the kubelet rotates it) exchanged for a Vault token of a role."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hvac

from providers.errors import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import VaultKubernetesAuth


def service_account_token(cfg: VaultKubernetesAuth) -> str:
    try:
        jwt = Path(cfg.token_path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise StoreError(f"vault: kubernetes auth: service-account token {cfg.token_path}: {why} "
                         "(is this running in a pod with a mounted token?)") from None
    if not jwt:
        raise StoreError(f"vault: kubernetes auth: service-account token {cfg.token_path} is empty")
    return jwt


def login(client: hvac.Client, cfg: VaultKubernetesAuth) -> Mapping[str, Any]:
    return client.auth.kubernetes.login(role=cfg.role, jwt=service_account_token(cfg),
                                        mount_point=cfg.mount)["auth"]
