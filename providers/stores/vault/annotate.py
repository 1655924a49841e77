"""annotate: status notes in the data path's custom_metadata, which Vault shows to anyone who may read the
secret's metadata, so only the agreed notes in their agreed shapes are written (never a value): a note
that is not one of them is refused with its key, never its text.

Other custom_metadata keys (a team's own) are kept. `max_versions` from the store's config is applied in
the same write, so it takes effect from the first rotation on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime

from providers.errors import NotFound, StoreError
from providers.stores.vault.kv import KV


def _timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _name(value: str) -> bool:  # an id or a type name: one short word
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}", value) is not None


def _sentence(value: str) -> bool:  # "" clears it
    return re.fullmatch(r"[A-Za-z0-9 ,.()'-]{0,128}", value) is not None


def _timestamp_or_none(value: str) -> bool:  # the engine writes "" for a secret with no rotation policy
    return value == "" or _timestamp(value)


NOTES: dict[str, tuple[Callable[[str], bool], str]] = {
    "last-rotated": (_timestamp, "an ISO 8601 time"),
    "next-due": (_timestamp_or_none, "an ISO 8601 time or empty"),
    "rotation-id": (_name, "an id"),
    "issuer": (_name, "an issuer type name"),
    # notes of issuers (secretkeeper.rotation.policy): a certificate's expiry, what a CA hands its leaves
    # and what a leaf was made from (key-id and bundle digests), the next step of a CA's replacement
    "expires": (_timestamp, "an ISO 8601 time"),
    "hands-out": (_name, "an id"),
    "made-from": (_name, "an id"),
    "next-step": (_sentence, "a short sentence"),
}


def check(secret: str, notes: Mapping[str, str]) -> None:
    for key, value in notes.items():
        if key not in NOTES:
            raise StoreError(f"vault: {secret}: status note {key!r} is not one of {', '.join(NOTES)}")
        valid, shape = NOTES[key]
        if not isinstance(value, str) or not valid(value):
            raise StoreError(f"vault: {secret}: status note {key!r} is not {shape}")


def notes_of(custom: Mapping[str, str]) -> dict[str, str]:
    return {key: custom[key] for key in NOTES if key in custom}


def annotate(kv: KV, secret: str, notes: Mapping[str, str], max_versions: int | None) -> None:
    check(secret, notes)
    meta = kv.metadata(secret)
    if meta is None:  # a metadata write would create an empty secret
        raise NotFound(f"vault {kv.vault.address}: {kv.mount}/data/{secret} does not exist")
    custom = {**meta.custom, **notes}
    for key in [key for key, value in notes.items() if value == ""]:  # Vault refuses an empty value: none
        del custom[key]
    kv.set_metadata(secret, custom=custom,
                    max_versions=max_versions if max_versions != meta.max_versions else None)
