"""The `sops` sync target: a Secret manifest the real `sops` encrypts to age recipients, values only (as
Flux decrypts it); `sops -d` with the age identity gives back the exact values; rewritten only when the
version or the recipients changed; no value on a command line or in a temp file."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from providers.base import SecretVersion
from secretkeeper.config.secrets import RandomIssuer, SecretConfig, SopsTarget, SyncTarget
from secretkeeper.kube.sync import SyncError, describe, targets_for
from secretkeeper.kube.sync.sops import sops_binary

VALUE = b"Zq8-planted-Xv41-sops\x00\xff"  # synthetic, not UTF-8 on purpose


def _need(tool: str) -> str:
    found = shutil.which(tool) or (str(Path(sys.executable).parent / tool)
                                   if (Path(sys.executable).parent / tool).is_file() else None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not installed (CI must exercise the sops target)")
        pytest.skip(f"{tool} is not installed")
    return found


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """Two age identities: (identity file, recipient) each."""
    keygen = _need("age-keygen")
    _need("sops")
    out = []
    for i in range(2):
        path = tmp_path_factory.mktemp("age") / f"id{i}.txt"
        subprocess.run([keygen, "-o", str(path)], check=True, capture_output=True)
        recipient = next(line.split(": ")[1] for line in path.read_text().splitlines()
                         if line.startswith("# public key: "))
        out.append((path, recipient))
    return out


def target(tmp_path: Path, recipients: list[str], **options):
    cfg = SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=RandomIssuer("random"),
                       sync=[SyncTarget(sops=SopsTarget(**{"file": "gitops/shop/orders-db.enc.yaml",
                                                           "age": recipients, "namespace": "shop", **options}))])
    (only,) = targets_for(cfg, "local", tmp_path)
    return only


def version(vid: str, value: bytes = VALUE) -> SecretVersion:
    return SecretVersion(vid, {"password": value, "username": b"orders"}, datetime.now(UTC))


def decrypt(path: Path, identity: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    return subprocess.run([sops_binary(), "decrypt", str(path)], capture_output=True, check=False,
                          env={**env, "SOPS_AGE_KEY_FILE": str(identity)})


def test_sops_decrypts_it_with_the_age_identity_to_the_exact_values(tmp_path, identities):
    (id0, r0), (id1, r1) = identities
    t = target(tmp_path, [r0, r1], secret="orders-db-creds")
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    assert t.where == str(path) and describe([t]) == [f"sops {path}"]
    text = path.read_bytes()
    assert VALUE not in text and base64.b64encode(VALUE) not in text and b"content-sha256" not in text
    stored = YAML(typ="safe").load(text)
    assert stored["metadata"]["name"] == "orders-db-creds"  # values only: metadata stays readable
    assert all(v.startswith("ENC[AES256_GCM,") for v in stored["data"].values())
    assert stored["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert {e["recipient"] for e in stored["sops"]["age"]} == {r0, r1}
    for identity in (id0, id1):  # each recipient can read it
        proc = decrypt(path, identity)
        assert proc.returncode == 0, proc.stderr
        doc = YAML(typ="safe").load(proc.stdout)
        assert (doc["kind"], doc["type"], doc["metadata"]["namespace"]) == ("Secret", "Opaque", "shop")
        assert {k: base64.b64decode(v) for k, v in doc["data"].items()} == {"password": VALUE,
                                                                          "username": b"orders"}
        assert doc["metadata"]["annotations"]["secretkeeper.io/version"] == "7"
    assert t.holds() == "7"


def test_the_version_in_clear_is_covered_by_the_sops_mac(tmp_path, identities):
    """The marker that keeps diffs quiet is readable without the identity, and cannot be edited unseen."""
    (id0, r0), _ = identities
    target(tmp_path, [r0]).write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    text = path.read_text()
    assert 'secretkeeper.io/version: "7"' in text
    path.write_text(text.replace('secretkeeper.io/version: "7"', 'secretkeeper.io/version: "8"'))
    proc = decrypt(path, id0)
    assert proc.returncode != 0 and b"MAC mismatch" in proc.stderr


def test_another_identity_cannot_decrypt(tmp_path, identities):
    (_, r0), (id1, _) = identities
    target(tmp_path, [r0]).write(version("1"))
    proc = decrypt(tmp_path / "gitops/shop/orders-db.enc.yaml", id1)
    assert proc.returncode != 0 and VALUE not in proc.stdout


def test_unchanged_stays_byte_identical_and_a_new_version_or_recipient_rewrites(tmp_path, identities):
    (id0, r0), (id1, r1) = identities
    t = target(tmp_path, [r0])
    t.write(version("4"))
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    before = path.read_bytes()
    assert target(tmp_path, [r0]).encrypt(version("4")) is False
    assert path.read_bytes() == before
    assert target(tmp_path, [r0]).encrypt(version("5", b"rotated-Kp2")) is True
    assert b"rotated-Kp2" in base64.b64decode(YAML(typ="safe").load(decrypt(path, id0).stdout)["data"]["password"])
    assert target(tmp_path, [r0, r1]).encrypt(version("5", b"rotated-Kp2")) is True
    assert decrypt(path, id1).returncode == 0


def test_a_sops_yaml_beside_the_file_does_not_change_the_recipients(tmp_path, identities):
    (_, r0), (_, r1) = identities
    (tmp_path / "gitops/shop").mkdir(parents=True)
    (tmp_path / "gitops/shop/.sops.yaml").write_text(f"creation_rules:\n  - age: {r1}\n")
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - age: age1broken\n")
    target(tmp_path, [r0]).write(version("1"))
    stored = YAML(typ="safe").load((tmp_path / "gitops/shop/orders-db.enc.yaml").read_text())
    assert [e["recipient"] for e in stored["sops"]["age"]] == [r0]


def test_no_value_on_a_command_line_and_no_plaintext_file(tmp_path, identities, monkeypatch):
    """A stand-in sops records its argv and the files in its working folder, then runs the real one."""
    (_, r0), _ = identities
    real = sops_binary()
    spy = tmp_path / "bin"
    spy.mkdir()
    log = tmp_path / "argv.log"
    (spy / "sops").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {log}\nexec {real} \"$@\"\n")
    (spy / "sops").chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy}{os.pathsep}{os.environ['PATH']}")
    target(tmp_path, [r0]).write(version("1", b"argv-canary-Qw93"))
    assert "argv-canary" not in log.read_text() and "YXJndi1jYW5hcnkt" not in log.read_text()
    leftovers = [p for p in (tmp_path / "gitops/shop").iterdir() if p.name != "orders-db.enc.yaml"]
    assert leftovers == []


def test_a_file_it_did_not_write_is_not_overwritten_and_a_missing_sops_is_one_line(tmp_path, identities,
                                                                                  monkeypatch):
    (_, r0), _ = identities
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("kind: Secret\nmetadata: {name: orders-db}\ndata: {password: c2VjcmV0}\n")
    with pytest.raises(SyncError, match="not overwriting it"):
        target(tmp_path, [r0]).write(version("1"))
    path.unlink()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(SyncError, match=r"^sops not found \(on PATH or beside the Python"):
        target(tmp_path, [r0]).write(version("1"))


CONFIG = """\
stores:
  local: {type: local, path: store}
secrets:
  - name: app-db
    store: local
    path: apps/db
    issuer: {type: random}
    sync:
      - %s
"""


@pytest.mark.parametrize("entry, problem", [
    ("sops: {file: a.enc.yaml, age: [age1broken]}", "not an age recipient"),
    ("sops: {file: a.enc.yaml, age: []}", "age"),
    ("sops: {file: a.enc.yaml}", "age"),
    ("sealed: {dir: gitops, cert: c.pem}", "give `namespace`"),
    ("sealed: {dir: gitops, cert: c.pem, namespace: shop, scope: wide}", "scope"),
    ("sealed: {dir: gitops, namespace: Shop_1}", "Kubernetes name"),
    ("sealed: {dir: gitops, namespace: shop, certs: c.pem}", "certs"),
])
def test_target_keys_are_checked_when_the_config_loads(tmp_path, entry, problem):
    from secretkeeper.config import load_config
    from secretkeeper.errors import ConfigError

    (tmp_path / "secretkeeper.yaml").write_text(CONFIG % entry)
    with pytest.raises(ConfigError, match=r"secretkeeper.yaml:\d+: .*" + problem.replace("`", ".")):
        load_config(tmp_path / "secretkeeper.yaml")


def test_target_keys_load_with_their_defaults(tmp_path):
    from secretkeeper.config import load_config

    (tmp_path / "secretkeeper.yaml").write_text(CONFIG % "sealed: {dir: gitops, namespace: shop}")
    (entry,) = load_config(tmp_path / "secretkeeper.yaml").secrets[0].sync
    assert entry.sealed is not None and entry.sealed.scope == "strict" and entry.sealed.cert is None
    assert (entry.sealed.controller_namespace, entry.sealed.controller_name) == ("kube-system",
                                                                                "sealed-secrets-controller")


def test_a_failing_sops_that_echoes_its_input_shows_no_value(tmp_path, monkeypatch):
    """sops names keys and recipients in its errors; should one ever quote its input, the value (as it is,
    and base64 as the manifest holds it) is cut from the line."""
    spy = tmp_path / "bin"
    spy.mkdir()
    (spy / "sops").write_text("#!/bin/sh\n{ printf 'Error: cannot encrypt: '; sed -n '/^data:/,$p' | tr '\\n' ' '; echo; } >&2\nexit 3\n")
    (spy / "sops").chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy}{os.pathsep}{os.environ['PATH']}")
    value = b"echo-canary-Zx81-Pq"
    with pytest.raises(SyncError) as caught:
        target(tmp_path, ["age1xyz"]).write(version("1", value))
    text = str(caught.value)
    assert "sops failed (exit 3): Error: cannot encrypt:" in text and "\n" not in text
    assert value.decode() not in text and base64.b64encode(value).decode() not in text
    assert base64.b64encode(b"orders").decode() not in text  # every value, the username too


def test_keys_encrypts_only_those_keys_and_a_missing_one_is_one_line(tmp_path, identities):
    (id0, r0), _ = identities
    t = target(tmp_path, [r0], keys=["username"])
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    proc = decrypt(path, id0)
    assert proc.returncode == 0, proc.stderr
    doc = YAML(typ="safe").load(proc.stdout)
    assert {k: base64.b64decode(v) for k, v in doc["data"].items()} == {"username": b"orders"}
    t = target(tmp_path, [r0], keys=["api-key"])
    with pytest.raises(SyncError, match=r"orders-db\.enc\.yaml: keys: version 8 holds no api-key$"):
        t.write(version("8"))


def test_a_sync_with_nothing_new_still_removes_what_a_killed_writer_left(tmp_path, identities):
    (_, r0), _ = identities
    t = target(tmp_path, [r0])
    t.write(version("7"))
    path = tmp_path / "gitops/shop/orders-db.enc.yaml"
    before = path.read_bytes()
    left = path.with_name(f".{path.name}.{2 ** 22 + 12345}.abc.tmp")  # no process has that pid
    left.write_bytes(before[:100])
    t.write(version("7"))
    assert path.read_bytes() == before and not left.exists()
