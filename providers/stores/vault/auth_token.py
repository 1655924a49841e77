"""Token auth: the config's `token` (a reference the run read, never a literal), else the token in
VAULT_TOKEN, else in ~/.vault-token (what `vault login` and `bao login` leave)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from providers.errors import StoreError


def token(environ: Mapping[str, str], address: str, given: object = None) -> str:
    from secretkeeper.config.credentials import reveal

    value = (reveal(given) or "").strip() or environ.get("VAULT_TOKEN", "").strip()  # type: ignore[arg-type]
    if value:
        return value
    home = environ.get("HOME") or os.path.expanduser("~")
    try:
        value = (Path(home) / ".vault-token").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        value = ""
    if not value:
        raise StoreError(f"vault {address}: no token (auth method token): set VAULT_TOKEN")
    return value
