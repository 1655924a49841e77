"""The `manifest` sync target: a plain Secret a cluster accepts, marked NOT ENCRYPTED, 0600, written
whole or not at all, with annotations that identify the version and never the value."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from providers.base import SecretVersion
from secretkeeper.config.secrets import ManifestTarget, RandomIssuer, SecretConfig, SyncTarget
from secretkeeper.kube.sync import SyncError, describe, targets_for
from secretkeeper.kube.sync.secret_object import content_hash

VALUE = b"Zq8-planted-Xv41-manifest"  # synthetic


def target(tmp_path: Path, **options):
    cfg = SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=RandomIssuer("random"),
                       sync=[SyncTarget(manifest=ManifestTarget(**{"dir": "out/secrets", **options}))])
    (only,) = targets_for(cfg, "local", tmp_path)
    return only


def version(vid: str, value: bytes = VALUE) -> SecretVersion:
    return SecretVersion(vid, {"password": value, "username": b"orders"}, datetime.now(UTC))


def test_the_manifest_is_a_plain_secret_marked_not_encrypted_and_private(tmp_path):
    t = target(tmp_path, namespace="shop", secret="orders-db-creds")
    t.write(version("7"))
    path = tmp_path / "out/secrets/orders-db-creds.yaml"
    assert t.where == str(path) and describe([t]) == [f"manifest {path} (NOT ENCRYPTED)"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# NOT ENCRYPTED")
    doc = YAML(typ="safe").load(text)
    assert (doc["apiVersion"], doc["kind"], doc["type"]) == ("v1", "Secret", "Opaque")
    assert doc["metadata"]["name"] == "orders-db-creds" and doc["metadata"]["namespace"] == "shop"
    assert doc["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "secretkeeper"}
    assert doc["metadata"]["annotations"] == {
        "secretkeeper.io/store": "local", "secretkeeper.io/path": "apps/orders", "secretkeeper.io/version": "7",
        "secretkeeper.io/content-sha256": content_hash("apps/orders", version("7").data)}
    assert {k: base64.b64decode(v) for k, v in doc["data"].items()} == {"password": VALUE, "username": b"orders"}
    assert VALUE not in text.encode()  # only base64 in the file, and no value in any annotation
    assert t.holds() == "7"


def test_the_content_hash_follows_the_content_not_the_version():
    a, b = version("1").data, version("2").data
    assert content_hash("p", a) == content_hash("p", b)
    assert content_hash("p", a) != content_hash("p", {**a, "password": b"other"})
    assert content_hash("p", {"ab": b"c"}) != content_hash("p", {"a": b"bc"})


def test_a_rewrite_replaces_the_file_and_remove_takes_it_away(tmp_path):
    t = target(tmp_path)
    t.write(version("1"))
    t.write(version("2", b"second-value-Kp2"))
    path = tmp_path / "out/secrets/orders-db.yaml"
    assert t.holds() == "2" and sorted(p.name for p in path.parent.iterdir()) == ["orders-db.yaml"]
    t.remove()
    t.remove()  # gone already: nothing to do
    assert not path.exists() and t.holds() is None


def test_a_key_kubernetes_would_refuse_is_an_error_naming_it(tmp_path):
    t = target(tmp_path)
    with pytest.raises(SyncError, match="key 'pass word' is not a valid Secret data key"):
        t.write(SecretVersion("1", {"pass word": VALUE}, datetime.now(UTC)))


def test_our_own_scan_flags_a_manifest_target_and_the_project_config_excludes_the_folder(tmp_path, run_cli, canary):
    repo_config = Path(__file__).resolve().parents[2] / ".secretkeeper.yaml"
    t = target(tmp_path)
    t.write(version("1", canary.encode()))
    flagged = run_cli(["scan", tmp_path, "--no-history", "-f", "json"])
    assert flagged.code == 1 and "k8s-secret-plaintext-manifest" in flagged.stdout
    assert canary not in flagged.output
    (tmp_path / ".secretkeeper.yaml").write_text(repo_config.read_text())
    assert run_cli(["scan", tmp_path, "--no-history"]).code == 0
