"""The `sealed` target without a `cert` file: the certificate comes from the sealed-secrets controller
through the API server's service proxy (as `kubeseal --fetch-cert`), once per process; a rotation run
from the command line seals with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ruamel.yaml import YAML

from providers.base import SecretVersion
from secretkeeper.config.secrets import RandomIssuer, SealedTarget, SecretConfig, SyncTarget
from secretkeeper.kube.sync import SyncError, targets_for
from secretkeeper.kube.sync import sealed as sealed_module
from tests.rotation.conftest import Project, ok
from tests.sealed_kit import cert_pem, fingerprint, make_key, unseal_all

pytestmark = pytest.mark.integration
PROXY = "/api/v1/namespaces/{ns}/services/{name}:http/proxy/v1/cert.pem"


@pytest.fixture
def controller(kube):
    """A sealed-secrets controller stand-in in the test namespace: its Service, and its cert.pem behind
    the service proxy. Returns its private key."""
    if kube.real:
        pytest.skip("serves a controller stand-in through the emulator's service proxy")
    key = make_key()
    kube.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sealer"},
                "spec": {"ports": [{"name": "http", "port": 8080}]}})
    kube.emulator.serve_proxy(kube.namespace, "sealer", "http", "/v1/cert.pem", cert_pem(key))
    sealed_module._FETCHED.clear()
    return key


def target(tmp_path, kube, name="orders-db", **options):
    cfg = SecretConfig(name=name, store="local", path=f"apps/{name}", issuer=RandomIssuer("random"),
                       sync=[SyncTarget(sealed=SealedTarget(**{
                           "dir": "gitops", "namespace": "shop", "context": kube.context,
                           "controller_namespace": kube.namespace, "controller_name": "sealer", **options}))])
    (only,) = targets_for(cfg, "local", tmp_path)
    return only


def test_the_certificate_is_fetched_once_through_the_service_proxy(tmp_path, kube, controller, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    path = PROXY.format(ns=kube.namespace, name="sealer")
    before = sum(1 for _, p in kube.emulator.state.requests if p == path)
    for name in ("orders-db", "billing-db"):
        target(tmp_path, kube, name).write(SecretVersion("1", {"password": name.encode() + b"-Qz7"},
                                                         datetime.now(UTC)))
    assert sum(1 for _, p in kube.emulator.state.requests if p == path) == before + 1
    for name in ("orders-db", "billing-db"):
        doc = YAML(typ="safe").load((tmp_path / "gitops" / f"{name}.yaml").read_text())
        assert unseal_all(controller, doc) == {"password": name.encode() + b"-Qz7"}
        assert doc["metadata"]["annotations"]["secretkeeper.io/sealed-by"].startswith("sha256:")


def test_no_controller_is_one_line_naming_it(tmp_path, kube, controller, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    with pytest.raises(SyncError, match=r"sealed-secrets controller .*/absent did not serve its certificate "
                                        r"\(HTTP 404\)"):
        target(tmp_path, kube, controller_name="absent").write(
            SecretVersion("1", {"password": b"x"}, datetime.now(UTC)))
    kube.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "idle"},
                "spec": {"ports": [{"name": "http", "port": 8080}]}})
    with pytest.raises(SyncError, match=r"HTTP 503"):
        target(tmp_path, kube, controller_name="idle").write(
            SecretVersion("1", {"password": b"x"}, datetime.now(UTC)))
    assert not (tmp_path / "gitops").exists()


def test_a_rotation_seals_with_the_controllers_certificate(tmp_path, kube, controller):
    config = f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
secrets:
  - name: app-db
    store: local
    path: apps/db
    keys: [password]
    issuer: {{type: random, length: 40}}
    rotate: {{every: 30d}}
    sync:
      - sealed: {{dir: gitops/shop, namespace: shop, context: {kube.context},
                  controller_name: sealer, controller_namespace: {kube.namespace}}}
"""
    project = Project(tmp_path / "project", config, "local")
    env = {"KUBECONFIG": str(kube.kubeconfig)}
    ok(project.run("rotate", "--due", env=env))
    doc = YAML(typ="safe").load((project.root / "gitops/shop/app-db.yaml").read_text())
    assert unseal_all(controller, doc) == project.value("app-db")
    fp = doc["metadata"]["annotations"]["secretkeeper.io/sealed-by"]
    status = ok(project.run("status", env=env))
    assert "sync: sealed" in status.stdout and "in sync" in status.stdout
    assert fp == "sha256:" + fingerprint(
        kube.emulator.proxied[(kube.namespace, "sealer", "http", "/v1/cert.pem")][1])
