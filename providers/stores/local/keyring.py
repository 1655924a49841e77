"""The key a local store uses, checked against the store's header (store.json: a random store id, which
ciphertexts are bound to, and a key check) before anything is decrypted or written with it."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from providers.errors import StoreError
import providers.stores.local.crypto as crypto
import providers.stores.local.files as files
from providers.stores.local.keys import ENV, load_key


class Keyring:
    def __init__(self, name: str, root: Path, key_file: Path) -> None:
        self.name, self.root, self.key_file = name, root, key_file
        self._loaded: tuple[bytes, str, str] | None = None  # key, store id, where the key came from

    def key(self, *, create: bool) -> tuple[bytes, str, str] | None:
        """(key, store id, the key's source); None for a store that has no header yet and `create` is
        false (nothing was ever encrypted in it). A store's first write creates the key and header."""
        if self._loaded is None:
            self._loaded = self._load(create)
        return self._loaded

    def _load(self, create: bool) -> tuple[bytes, str, str] | None:
        header_file = self.root / "store.json"
        header = files.read_json(header_file)
        key = load_key(self.key_file, create=create and header is None)
        if header is None and not create:
            return None
        if key is None:
            raise StoreError(f"local store {self.name!r} ({self.root}): its key is missing: set {ENV} or "
                             f"restore the key file {self.key_file}")
        if header is None:
            files.make_dirs(self.root)
            store_id = secrets.token_hex(16)
            doc = {"format": 1, "id": store_id, "key_check": crypto.key_check(key.material, store_id)}
            if not files.create(header_file, json.dumps(doc, sort_keys=True).encode()):
                header = files.read_json(header_file)  # another process's first write won
            else:
                header = doc
        try:
            store_id, check = str(header["id"]), str(header["key_check"])
        except (KeyError, TypeError):
            raise StoreError(f"{header_file}: not a local store header: the file is damaged") from None
        if crypto.key_check(key.material, store_id) != check:
            raise StoreError(f"local store {self.name!r} ({self.root}): the key from {key.source} is not "
                             "the key this store was created with")
        return key.material, store_id, key.source
