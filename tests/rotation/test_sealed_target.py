"""The `sealed` sync target: SealedSecrets the sealed-secrets controller opens (checked by unsealing with
the private key, as the controller does, and against a vector from an independent implementation), scoped
as configured, rewritten only when the version or the certificate changed."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from ruamel.yaml import YAML

from providers.base import SecretVersion
from secretkeeper.config.secrets import RandomIssuer, SealedTarget, SecretConfig, SyncTarget
from secretkeeper.kube.sealing import load_cert, scope_label, seal
from secretkeeper.kube.sync import SyncError, describe, targets_for
from tests.sealed_kit import DATA, cert_pem, fingerprint, make_key, unseal, unseal_all

VALUE = b"Zq8-planted-Xv41-sealed\x00\xff binary too"  # synthetic, not UTF-8 on purpose


@pytest.fixture(scope="module")
def keys():
    """Two controller keys (the second: after the controller renewed its key) and their certificates."""
    out = []
    for _ in range(2):
        key = make_key()
        out.append((key, cert_pem(key)))
    return out


def target(tmp_path: Path, cert: Path, **options):
    cfg = SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=RandomIssuer("random"),
                       sync=[SyncTarget(sealed=SealedTarget(**{"dir": "gitops/shop", "cert": str(cert),
                                                               "namespace": "shop", **options}))])
    (only,) = targets_for(cfg, "local", tmp_path)
    return only


def version(vid: str, value: bytes = VALUE) -> SecretVersion:
    return SecretVersion(vid, {"password": value, "username": b"orders"}, datetime.now(UTC))


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture
def cert_file(tmp_path, keys):
    path = tmp_path / "sealing-cert.pem"
    path.write_bytes(keys[0][1])
    return path


def test_the_controller_opens_every_value_byte_exact(tmp_path, keys, cert_file):
    t = target(tmp_path, cert_file, secret="orders-db-creds")
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db-creds.yaml"
    assert t.where == str(path) and describe([t]) == [f"sealed {path}"]
    doc = load(path)
    assert (doc["apiVersion"], doc["kind"]) == ("bitnami.com/v1alpha1", "SealedSecret")
    assert (doc["metadata"]["name"], doc["metadata"]["namespace"]) == ("orders-db-creds", "shop")
    assert unseal_all(keys[0][0], doc) == {"password": VALUE, "username": b"orders"}
    text = path.read_bytes()
    assert VALUE not in text and base64.b64encode(VALUE) not in text
    assert b"content-sha256" not in text  # a plain hash of the value would let Git readers test guesses
    notes = doc["metadata"]["annotations"]
    assert notes["secretkeeper.io/sealed-by"] == "sha256:" + fingerprint(keys[0][1])
    assert notes["secretkeeper.io/version"] == "7" and t.holds() == "7"
    assert t.sealed_by() == "sha256:" + fingerprint(keys[0][1])


def test_metadata_goes_into_the_template(tmp_path, cert_file):
    t = target(tmp_path, cert_file)
    t.write(version("3"))
    doc = load(tmp_path / "gitops/shop/orders-db.yaml")
    template = doc["spec"]["template"]
    assert template["type"] == "Opaque"
    assert template["metadata"]["name"] == "orders-db" and template["metadata"]["namespace"] == "shop"
    assert template["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "secretkeeper"}
    assert template["metadata"]["annotations"] == {"secretkeeper.io/store": "local",
                                                   "secretkeeper.io/path": "apps/orders",
                                                   "secretkeeper.io/version": "3"}


@pytest.mark.parametrize("scope, label, annotation", [
    ("strict", b"shop/orders-db", None),
    ("namespace-wide", b"shop", "sealedsecrets.bitnami.com/namespace-wide"),
    ("cluster-wide", b"", "sealedsecrets.bitnami.com/cluster-wide"),
])
def test_each_scope_seals_with_its_label_and_no_other_opens_it(tmp_path, keys, cert_file, scope, label,
                                                               annotation):
    t = target(tmp_path, cert_file, scope=scope)
    t.write(version("1"))
    doc = load(tmp_path / "gitops/shop/orders-db.yaml")
    for meta in (doc["metadata"], doc["spec"]["template"]["metadata"]):
        scoped = {k for k in meta["annotations"] if k.startswith("sealedsecrets.bitnami.com/")}
        assert scoped == ({annotation} if annotation else set())
        if annotation:
            assert meta["annotations"][annotation] == "true"
    sealed = doc["spec"]["encryptedData"]["password"]
    assert unseal(keys[0][0], label, sealed) == VALUE
    for other in {b"shop/orders-db", b"shop", b"", b"other/orders-db", b"shop/other"} - {label}:
        with pytest.raises(ValueError):  # OAEP refuses the wrong label: the controller cannot open it
            unseal(keys[0][0], other, sealed)
    with pytest.raises(ValueError):
        unseal(keys[1][0], label, sealed)  # another controller's key


def test_a_value_tampered_with_does_not_open(keys):
    cert = load_cert(keys[0][1], "test")
    raw = bytearray(base64.b64decode(seal(cert, b"shop/x", b"value")))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        unseal(keys[0][0], b"shop/x", base64.b64encode(bytes(raw)).decode())


def test_each_seal_is_fresh_and_the_format_is_length_prefixed(keys):
    cert = load_cert(keys[0][1], "test")
    one, two = (base64.b64decode(seal(cert, b"", b"same")) for _ in range(2))
    assert one != two  # a fresh session key each time
    assert int.from_bytes(one[:2], "big") == 256  # RSA-2048 ciphertext
    assert len(one) == 2 + 256 + len(b"same") + 16  # + the GCM tag
    assert scope_label("strict", "ns", "n") == b"ns/n" and scope_label("cluster-wide", None, "n") == b""


def test_a_vector_from_an_independent_implementation_opens_with_our_unseal():
    """The vector came from the npm package @linode/kubeseal-encrypt (namespace-wide, label = namespace),
    run once; its throwaway key and certificate sit beside it."""
    vector = json.loads((DATA / "kubeseal-encrypt-vector.json").read_text(encoding="utf-8"))
    key = serialization.load_pem_private_key((DATA / "throwaway-key.pem").read_bytes(), None)
    assert unseal(key, vector["label"].encode(), vector["ciphertext"]) == vector["plaintext"].encode()
    with pytest.raises(ValueError):
        unseal(key, b"shop/app", vector["ciphertext"])
    # and what we seal to the same certificate has the same shape, and opens the same way
    ours = seal(load_cert((DATA / "throwaway-cert.pem").read_bytes(), "vector"), b"shop", b"x")
    assert len(base64.b64decode(ours)) == len(base64.b64decode(vector["ciphertext"])) - \
        len(vector["plaintext"].encode()) + 1
    assert unseal(key, b"shop", ours) == b"x"


def test_a_sync_with_nothing_changed_leaves_the_file_byte_identical(tmp_path, cert_file):
    t = target(tmp_path, cert_file)
    t.write(version("4"))
    path = tmp_path / "gitops/shop/orders-db.yaml"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    again = target(tmp_path, cert_file)  # another run: nothing kept in memory
    again.write(version("4"))
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert again.seal(version("4")) is False


def test_a_new_version_or_a_new_certificate_reseals(tmp_path, keys, cert_file):
    t = target(tmp_path, cert_file)
    t.write(version("4"))
    path = tmp_path / "gitops/shop/orders-db.yaml"
    first = path.read_bytes()
    assert t.seal(version("5", b"rotated-Kp2")) is True
    doc = load(path)
    assert unseal_all(keys[0][0], doc)["password"] == b"rotated-Kp2" and t.holds() == "5"
    cert_file.write_bytes(keys[1][1])  # the controller renewed its key: the file names the new cert
    t2 = target(tmp_path, cert_file)
    assert t2.seal(version("5", b"rotated-Kp2")) is True
    doc = load(path)
    assert unseal_all(keys[1][0], doc)["password"] == b"rotated-Kp2"
    assert doc["metadata"]["annotations"]["secretkeeper.io/sealed-by"] == "sha256:" + fingerprint(keys[1][1])
    assert path.read_bytes() != first


def test_a_file_it_did_not_write_is_never_overwritten_or_removed(tmp_path, cert_file):
    path = tmp_path / "gitops/shop/orders-db.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orders-db}\n")
    t = target(tmp_path, cert_file)
    with pytest.raises(SyncError, match="not overwriting it"):
        t.write(version("1"))
    with pytest.raises(SyncError, match="not overwriting it"):
        t.remove()
    assert path.read_text().startswith("apiVersion: apps/v1") and t.holds() is None


def test_a_new_namespace_or_scope_in_the_config_reseals_the_file(tmp_path, keys, cert_file):
    target(tmp_path, cert_file).write(version("1"))
    moved = target(tmp_path, cert_file, namespace="shop-v2", scope="namespace-wide")
    assert moved.seal(version("1")) is True
    doc = load(tmp_path / "gitops/shop/orders-db.yaml")
    assert doc["metadata"]["namespace"] == "shop-v2"
    assert unseal(keys[0][0], b"shop-v2", doc["spec"]["encryptedData"]["password"]) == VALUE


def test_remove_takes_its_file_away(tmp_path, cert_file):
    t = target(tmp_path, cert_file)
    t.write(version("1"))
    t.remove()
    t.remove()
    assert not (tmp_path / "gitops/shop/orders-db.yaml").exists() and t.holds() is None


def test_a_bad_certificate_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "cert.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(SyncError, match=r"cert.pem: not a PEM certificate"):
        target(tmp_path, bad).write(version("1"))
    with pytest.raises(SyncError, match=r"missing.pem: cannot read the sealing certificate"):
        target(tmp_path, tmp_path / "missing.pem").write(version("1"))
    assert not (tmp_path / "gitops").exists()


def test_a_namespaced_scope_needs_a_namespace():
    with pytest.raises(ValueError, match="give `namespace`"):
        SealedTarget(dir="x", cert="c.pem", scope="strict")
    SealedTarget(dir="x", cert="c.pem", scope="cluster-wide")


def test_a_managed_name_kubernetes_would_refuse_needs_a_secret_name(tmp_path, cert_file):
    cfg = SecretConfig(name="Orders_DB", store="local", path="apps/orders", issuer=RandomIssuer("random"),
                       sync=[SyncTarget(sealed=SealedTarget(dir="gitops", cert=str(cert_file), namespace="shop"))])
    (t,) = targets_for(cfg, "local", tmp_path)
    with pytest.raises(SyncError, match=r"'Orders_DB' is no Secret name \(.*\): give `secret:`"):
        t.write(version("1"))


def test_keys_seals_only_those_keys_and_a_missing_one_is_one_line(tmp_path, keys, cert_file):
    t = target(tmp_path, cert_file, keys=["username"])
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.yaml"
    doc = load(path)
    assert unseal_all(keys[0][0], doc) == {"username": b"orders"}  # the password never left the store
    before = path.read_bytes()
    t.write(version("7"))
    assert path.read_bytes() == before, "unchanged: not resealed"
    t = target(tmp_path, cert_file, keys=["username", "api-key"])
    with pytest.raises(SyncError, match=r"orders-db\.yaml: keys: version 8 holds no api-key$"):
        t.write(version("8"))
    assert path.read_bytes() == before


def test_a_sync_with_nothing_new_still_removes_what_a_killed_writer_left(tmp_path, cert_file):
    t = target(tmp_path, cert_file)
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.yaml"
    before = path.read_bytes()
    dead = 2 ** 22 + 12345  # above the default pid_max: no process has it
    left = path.with_name(f".{path.name}.{dead}.abc.tmp")
    left.write_bytes(before[: len(before) // 2])  # a write killed half-way
    live = path.with_name(f".{path.name}.{os.getpid()}.def.tmp")  # a writer still running keeps its own
    live.write_bytes(b"partial")
    t.write(version("7"))
    assert path.read_bytes() == before and not left.exists() and live.exists()
