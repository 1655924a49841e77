"""Issuers, one module or package per type (`random`, `keypair`, `static`, then `x509`, `vault_pki`,
`k8s_token`, `postgres`, `aws_iam_key`...), each implementing `providers.base.Issuer` (issue, verify,
retire) and registered in `providers.base.ISSUERS` under its config `type:` name. A type's module is its
name with `-` as `_` (`aws-iam-key` -> `aws_iam_key`), imported when a config first uses it."""

from __future__ import annotations

import importlib
from typing import Any

from providers.base import ISSUERS, Issuer, ManagedSecrets


def build_issuer(secret: Any, managed: ManagedSecrets) -> Issuer:
    """The issuer of `secret` (a `secrets[i]` entry of the config); raises IssuerError naming a bad
    setting."""
    kind = secret.issuer.type
    if kind not in ISSUERS:
        importlib.import_module(f"providers.issuers.{kind.replace('-', '_')}")
    return ISSUERS[kind](secret, managed)
