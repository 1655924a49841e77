"""Where a managed secret and its rotation journal live in the KV version 2 mount.

The journal of `prod/payments/db` is `<journal_prefix>/prod/payments/db` (prefix `secretkeeper-rotation`
by default): a subtree of the same mount that mirrors the secret paths, not a sibling such as
`prod/payments/db.secretkeeper-rotation`, because while a rotation runs the journal holds the pending,
unverified value:

- consumers' policies are usually globs over their application's folder (`secret/data/prod/payments/*`);
  a sibling would be readable by every such consumer, the mirrored subtree only by the rotator's policy
  (`secret/data/secretkeeper-rotation/prod/payments/*`), which can still be granted per team;
- External Secrets `dataFrom.find` lists a folder and filters names by regexp: a sibling would be found
  and synced into a Kubernetes Secret; the subtree lies outside every application folder.

A secret path inside the prefix is refused: its journal could be another secret's journal.
"""

from __future__ import annotations

from providers.errors import StoreError


def secret_path(path: str, prefix: str) -> str:
    """`path` without surrounding slashes; a StoreError naming it when Vault would read it differently
    (empty or `.`/`..` segments) or when it lies in the journal subtree."""
    clean = path.strip("/")
    segments = clean.split("/")
    if not clean or any(s in ("", ".", "..") for s in segments):
        raise StoreError(f"vault: secret path {path!r} is not a plain KV path (empty, '.' or '..' segment)")
    if clean == prefix or clean.startswith(prefix + "/"):
        raise StoreError(f"vault: secret path {path!r} lies under {prefix}/, where rotation journals live")
    return clean


def locate(path: str, prefix: str) -> tuple[str, str]:
    """(the secret's KV path, its journal's KV path)."""
    secret = secret_path(path, prefix)
    return secret, f"{prefix}/{secret}"


def journal_prefix(prefix: str) -> str:
    clean = prefix.strip("/")
    if not clean or any(s in ("", ".", "..") for s in clean.split("/")):
        raise StoreError(f"vault: journal_prefix {prefix!r} is not a plain KV path")
    return clean
