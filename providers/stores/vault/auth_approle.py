"""AppRole auth: the role id from the config (it is not secret), the secret id from a file or an
environment variable, read at each login so a rotated secret id is picked up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hvac

from providers.errors import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.config.stores import VaultAppRoleAuth


def secret_id(cfg: VaultAppRoleAuth, environ: Mapping[str, str]) -> str:
    from secretkeeper.config.credentials import reveal

    given = reveal(cfg.secret_id)  # `secret_id: {from: ...}`, read by the run before the store opened
    if given:
        return given.strip()
    if cfg.secret_id_file:
        try:
            value = Path(cfg.secret_id_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise StoreError(f"vault: approle secret_id_file {cfg.secret_id_file}: {why}") from None
        if not value:
            raise StoreError(f"vault: approle secret_id_file {cfg.secret_id_file} is empty")
        return value
    value = environ.get(cfg.secret_id_env, "").strip()
    if not value:
        raise StoreError(f"vault: approle auth has no secret id: set {cfg.secret_id_env} or secret_id_file")
    return value


def login(client: hvac.Client, cfg: VaultAppRoleAuth, environ: Mapping[str, str]) -> Mapping[str, Any]:
    return client.auth.approle.login(role_id=cfg.role_id, secret_id=secret_id(cfg, environ),
                                     mount_point=cfg.mount)["auth"]
