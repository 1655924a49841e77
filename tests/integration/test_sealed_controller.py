"""The `sealed` target without a `cert` file: the certificate comes from the sealed-secrets controller
through the API server's service proxy (as `kubeseal --fetch-cert`), once per process; a rotation run
from the command line seals with it."""

from __future__ import annotations

import base64
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


def test_the_controller_opens_what_a_rotation_sealed_into_the_secret_it_makes(tmp_path, kube):
    """From the local store to a sealed folder to a Secret in the cluster: `rotate` seals to the
    certificate the controller serves, the SealedSecret is applied with the real client, and the
    controller stand-in (the private key, as the controller) makes the Secret with the store's values;
    a file sealed for another name does not open."""
    if kube.real:
        pytest.skip("needs the emulator's sealed-secrets controller stand-in")
    key = make_key()
    kube.emulator.run_sealed_secrets_controller(key, namespace=kube.namespace, name="sealed-secrets")
    sealed_module._FETCHED.clear()
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
      - sealed: {{dir: gitops, namespace: {kube.namespace}, context: {kube.context},
                  controller_name: sealed-secrets, controller_namespace: {kube.namespace}}}
"""
    project = Project(tmp_path / "project", config, "local")
    env = {"KUBECONFIG": str(kube.kubeconfig)}
    ok(project.run("rotate", "--due", env=env))
    kube.kubectl("apply", "--validate=false", "-f", str(project.root / "gitops"))  # the GitOps step, by the real kubectl
    secret = kube.emulator.get("secrets", "app-db", kube.namespace)
    assert secret is not None and secret["type"] == "Opaque"
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == project.value("app-db")
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "secretkeeper"}
    assert secret["metadata"]["annotations"]["secretkeeper.io/version"] == "1"
    applied = kube.emulator.get("sealedsecrets", "app-db", kube.namespace)
    assert applied["status"]["conditions"][0]["status"] == "True"

    ok(project.run("rotate", "app-db", "--force", env=env))  # a new value, the file resealed, applied again
    kube.kubectl("apply", "--validate=false", "-f", str(project.root / "gitops"))
    secret = kube.emulator.get("secrets", "app-db", kube.namespace)
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == project.value("app-db")
    assert secret["metadata"]["annotations"]["secretkeeper.io/version"] == "2"

    # the same sealed value under another name: strict scope, the controller cannot open it
    doc = YAML(typ="safe").load((project.root / "gitops/app-db.yaml").read_text())
    api = kube.api_client()
    try:
        from kubernetes import client as k8s

        k8s.CustomObjectsApi(api).create_namespaced_custom_object(
            "bitnami.com", "v1alpha1", kube.namespace, "sealedsecrets",
            {**doc, "metadata": {**doc["metadata"], "name": "copied"}})
    finally:
        api.close()
    assert kube.emulator.get("secrets", "copied", kube.namespace) is None
    refused = kube.emulator.get("sealedsecrets", "copied", kube.namespace)["status"]["conditions"][0]
    assert (refused["status"], refused["message"]) == ("False", "no key could decrypt secret")
