"""The staged protocol of the local store: read, stage, staged, promote, discard.

A staged version is written as its own ciphertext and listed in meta.json as pending; `read()` returns
the current version only, so a staged value stays invisible until `promote` moves `current` to it with a
compare-and-set under the secret's lock. Each call is safe to repeat after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from providers.base import SecretVersion
from providers.errors import Conflict, NotFound, StoreError
import providers.stores.local.crypto as crypto
import providers.stores.local.files as files
from providers.stores.local.lock import locked
from providers.stores.local.meta import Meta, VersionInfo

if TYPE_CHECKING:  # pragma: no cover
    from providers.stores.local.store import LocalStore


def load_meta(store: LocalStore, path: str, directory: Path) -> Meta | None:
    meta_file = directory / "meta.json"
    doc = files.read_json(meta_file)
    if doc is None:
        return None
    try:
        return Meta.from_doc(doc)
    except ValueError as exc:
        raise StoreError(f"{store.where(path)}: {meta_file}: {exc}") from None


def read(store: LocalStore, path: str, version: str | None = None) -> SecretVersion:
    directory = files.secret_dir(store.root, path)
    if not directory.is_dir():
        raise NotFound(f"{store.where(path)}: no such secret")
    with locked(directory, shared=True):
        meta = load_meta(store, path, directory)
        wanted = version or (meta.current if meta else None)
        if meta is None or wanted is None:
            raise NotFound(f"{store.where(path)}: no current version")
        if wanted not in meta.versions:
            raise NotFound(f"{store.where(path)}: no version {wanted}")
        return _open(store, path, directory, meta, wanted)


def stage(store: LocalStore, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
    _check(store, path, data)
    directory = files.secret_dir(store.root, path)
    key, store_id, _ = store.keyring.key(create=True)
    files.make_dirs(directory / "versions")
    with locked(directory):
        meta = load_meta(store, path, directory) or Meta()
        files.tidy(directory, set(meta.versions))
        done = meta.by_token(token)
        if done is not None:
            return _open(store, path, directory, meta, done)
        version, created = str(meta.next), datetime.now(UTC)
        files.write(files.version_file(directory, version),
                    crypto.seal(key, crypto.binding(store_id, path, version), data))
        meta.versions[version] = VersionInfo(created, token)
        meta.next += 1
        files.write_json(directory / "meta.json", meta.to_doc())
        return SecretVersion(version, dict(data), created, meta.stages(version))


def staged(store: LocalStore, path: str, token: str) -> SecretVersion | None:
    """The version `stage(token)` made, whatever it became since (pending, current, previous), or None."""
    directory = files.secret_dir(store.root, path)
    if not directory.is_dir():
        return None
    with locked(directory, shared=True):
        meta = load_meta(store, path, directory)
        version = meta.by_token(token) if meta else None
        return _open(store, path, directory, meta, version) if meta and version else None


def promote(store: LocalStore, path: str, version: str, *, expect_current: str | None) -> None:
    directory = files.secret_dir(store.root, path)
    if not directory.is_dir():
        raise NotFound(f"{store.where(path)}: no such secret")
    with locked(directory):
        meta = load_meta(store, path, directory) or Meta()
        files.tidy(directory, set(meta.versions))  # what a promote killed while pruning left
        if meta.current == version:
            return
        if meta.current != expect_current:
            raise Conflict(f"{store.where(path)}: current version is {meta.current or 'none'}, expected "
                           f"{expect_current or 'none'}: another rotation or a person changed it")
        if version not in meta.versions:
            raise NotFound(f"{store.where(path)}: no version {version} to promote")
        meta.previous, meta.current = meta.current, version
        meta.versions[version].promoted = True
        dropped = meta.prune(store.max_versions)
        files.write_json(directory / "meta.json", meta.to_doc())
        for old in dropped:
            files.remove(files.version_file(directory, old))


def discard(store: LocalStore, path: str, version: str) -> None:
    directory = files.secret_dir(store.root, path)
    if not directory.is_dir():
        return
    with locked(directory):
        meta = load_meta(store, path, directory)
        if meta is None:
            return
        files.tidy(directory, set(meta.versions))
        if version not in meta.versions:
            return
        if version == meta.current:
            raise StoreError(f"{store.where(path)}: version {version} is current: promote another "
                             "version before discarding it")
        del meta.versions[version]
        if meta.previous == version:
            meta.previous = None
        files.write_json(directory / "meta.json", meta.to_doc())
        files.remove(files.version_file(directory, version))


def _open(store: LocalStore, path: str, directory: Path, meta: Meta, version: str) -> SecretVersion:
    loaded = store.keyring.key(create=False)
    if loaded is None:
        raise StoreError(f"{store.where(path)}: {store.root / 'store.json'} is missing: the store's "
                         "files are incomplete")
    key, store_id, source = loaded
    blob = files.read_bytes(files.version_file(directory, version))
    if blob is None:
        raise StoreError(f"{store.where(path)}: version {version} is listed but its file is missing")
    try:
        data = crypto.unseal(key, crypto.binding(store_id, path, version), blob)
    except crypto.Undecryptable:
        raise StoreError(f"{store.where(path)}: version {version} does not decrypt with the key from "
                         f"{source}: its file was altered, or copied from another secret, version or "
                         "store") from None
    return SecretVersion(version, data, meta.versions[version].created, meta.stages(version))


def _check(store: LocalStore, path: str, data: Mapping[str, bytes]) -> None:
    if not data:
        raise StoreError(f"{store.where(path)}: nothing to stage: a version holds at least one key")
    for name, value in data.items():
        if not isinstance(name, str) or not name:
            raise StoreError(f"{store.where(path)}: key names are non-empty strings")
        if not isinstance(value, bytes):
            raise StoreError(f"{store.where(path)}: the value of key {name!r} is not bytes")
