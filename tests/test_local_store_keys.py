"""The local store's key: from SECRETKEEPER_LOCAL_KEY or a 0600 key file made on first use beside (never
inside) the store; a bad, loose, missing or wrong key is a one-line error that echoes nothing; and a
ciphertext moved to another secret, version or store, or altered, does not decrypt."""

from __future__ import annotations

import base64
import os
import shutil
import stat

import pytest

from providers.errors import StoreError
from secretkeeper.config import load_config
from secretkeeper.errors import ConfigError
from tests.localstore import build

PATH = "prod/payments/db"
ENV = "SECRETKEEPER_LOCAL_KEY"


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def fresh_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def put(store, path, data, token):
    version = store.stage(path, data, token=token)
    store.promote(path, version.version, expect_current=None)
    return version


def test_the_key_file_is_made_on_the_first_write_0600_beside_the_store(tmp_path):
    store = build(tmp_path / "store")
    assert store.status([PATH])[PATH].exists is False
    store.staged(PATH, "t1")
    assert not (tmp_path / "store.key").exists(), "reading an empty store makes no key"
    put(store, PATH, {"password": b"a"}, "t1")
    key_file = tmp_path / "store.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.b64decode(key_file.read_text().strip(), validate=True)) == 32
    assert not list((tmp_path / "store").rglob("*.key"))
    assert build(tmp_path / "store").read(PATH).data == {"password": b"a"}  # a new process finds it


def test_a_configured_key_file_is_used(tmp_path):
    store = build(tmp_path / "store", key_file=str(tmp_path / "keys" / "local.key"))
    put(store, PATH, {"password": b"a"}, "t1")
    assert (tmp_path / "keys" / "local.key").is_file() and not (tmp_path / "store.key").exists()


def test_the_key_from_the_environment_wins_and_no_file_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, fresh_key())
    store = build(tmp_path / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    assert not (tmp_path / "store.key").exists()
    assert build(tmp_path / "store").read(PATH).data == {"password": b"a"}


@pytest.mark.parametrize("value, needle", [
    ("not*base64*at*all", f"{ENV} is not base64"),
    (base64.b64encode(b"q" * 16).decode(), f"{ENV} decodes to 16 bytes, expected 32"),
])
def test_a_malformed_key_in_the_environment_is_named_never_echoed(tmp_path, monkeypatch, value, needle):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(StoreError) as err:
        build(tmp_path / "store").stage(PATH, {"password": b"a"}, token="t1")
    assert needle in str(err.value) and value not in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "store" / "store.json").exists()


def test_a_key_file_open_to_others_is_refused(tmp_path):
    store = build(tmp_path / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    key_file = tmp_path / "store.key"
    os.chmod(key_file, 0o644)
    with pytest.raises(StoreError) as err:
        build(tmp_path / "store").read(PATH)
    assert str(err.value) == (f"{key_file}: key file is open to group or others (mode 0644); "
                              f"run: chmod 600 {key_file}")
    os.chmod(key_file, 0o600)
    assert build(tmp_path / "store").read(PATH).data == {"password": b"a"}


def test_a_wrong_key_is_one_line_naming_the_store_and_writes_nothing(tmp_path, monkeypatch):
    store = build(tmp_path / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    monkeypatch.setenv(ENV, fresh_key())
    before = sorted(p.name for p in (tmp_path / "store").rglob("*"))
    for call in (lambda s: s.read(PATH), lambda s: s.stage(PATH, {"password": b"b"}, token="t2")):
        with pytest.raises(StoreError) as err:
            call(build(tmp_path / "store"))
        assert str(err.value) == (f"local store 'local' ({tmp_path / 'store'}): the key from {ENV} is not "
                                  "the key this store was created with")
    assert sorted(p.name for p in (tmp_path / "store").rglob("*")) == before


def test_a_lost_key_file_is_named_not_replaced(tmp_path):
    store = build(tmp_path / "store")
    put(store, PATH, {"password": b"a"}, "t1")
    (tmp_path / "store.key").unlink()
    for call in (lambda s: s.read(PATH), lambda s: s.stage(PATH, {"password": b"b"}, token="t2")):
        with pytest.raises(StoreError, match=f"its key is missing: set {ENV} or restore the key file"):
            call(build(tmp_path / "store"))
    assert not (tmp_path / "store.key").exists(), "a new key would make the old versions unreadable"


def test_a_ciphertext_moved_to_another_version_secret_or_store_or_altered_does_not_decrypt(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, fresh_key())  # one key for both stores: only the binding tells them apart
    store, other = build(tmp_path / "store"), build(tmp_path / "other")
    first = put(store, PATH, {"password": b"one"}, "t1")
    second = store.stage(PATH, {"password": b"two"}, token="t2")
    put(store, "prod/other", {"password": b"three"}, "t3")
    put(other, PATH, {"password": b"four"}, "t4")

    def enc(root, path, version):
        return next((root / "secrets").glob(path.replace("/", "%2F"))) / "versions" / f"{version}.enc"

    moves = [
        (enc(tmp_path / "store", PATH, second.version), enc(tmp_path / "store", PATH, first.version)),
        (enc(tmp_path / "store", "prod/other", "1"), enc(tmp_path / "store", PATH, first.version)),
        (enc(tmp_path / "other", PATH, "1"), enc(tmp_path / "store", PATH, first.version)),
    ]
    original = enc(tmp_path / "store", PATH, first.version).read_bytes()
    for source, target in moves:
        shutil.copyfile(source, target)
        with pytest.raises(StoreError) as err:
            store.read(PATH)
        assert str(err.value) == (f"local store 'local': {PATH}: version {first.version} does not decrypt "
                                  f"with the key from {ENV}: its file was altered, or copied from another "
                                  "secret, version or store")
    flipped = bytearray(original)
    flipped[-1] ^= 1
    enc(tmp_path / "store", PATH, first.version).write_bytes(bytes(flipped))
    with pytest.raises(StoreError, match="does not decrypt"):
        store.read(PATH)
    enc(tmp_path / "store", PATH, first.version).write_bytes(original)
    assert store.read(PATH).data == {"password": b"one"}


def test_a_key_file_inside_the_store_directory_is_a_config_error(make_tree):
    root = make_tree({"secretkeeper.yaml": "stores:\n  local: {type: local, path: st, key_file: st/k.key}\n"})
    with pytest.raises(ConfigError) as err:
        load_config(root / "secretkeeper.yaml")
    assert str(err.value) == (f"{root / 'secretkeeper.yaml'}:2: stores.local: key_file must not be inside "
                              "the store directory: a copy of the folder would carry its own key")


def test_local_store_config_defaults_and_bounds(make_tree):
    root = make_tree({"secretkeeper.yaml": "stores:\n  local: {type: local}\n  tiny: {type: local, max_versions: 1}\n"})
    with pytest.raises(ConfigError, match=r":3: stores.tiny.max_versions: Input should be greater than or equal to 2"):
        load_config(root / "secretkeeper.yaml")
    (root / "secretkeeper.yaml").write_text("stores:\n  local: {type: local}\n")
    local = load_config(root / "secretkeeper.yaml").stores["local"]
    assert (local.path, local.key_path, local.max_versions) == (".secretkeeper/store", ".secretkeeper/store.key", 10)
