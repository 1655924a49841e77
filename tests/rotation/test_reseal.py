"""`secretkeeper reseal DIR`: a rotation seals into a GitOps folder; reseal seals the folder again with a
new certificate from the store's current values, with no cluster and no controller private key; `--list`
says which certificate sealed each file."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.rotation.conftest import ok
from tests.sealed_kit import cert_pem, fingerprint, make_key, unseal_all

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
  - name: app-db
    store: local
    path: apps/db
    keys: [password]
    issuer: {type: random, length: 40}
    rotate: {every: 30d}
    sync:
      - sealed: {cert: sealing-cert.pem, dir: gitops/shop, namespace: shop, secret: app-db, scope: strict}
  - name: api-key
    store: local
    path: apps/api
    keys: [token]
    issuer: {type: random, length: 32}
    rotate: {every: 30d}
    sync:
      - sealed: {cert: sealing-cert.pem, dir: gitops/shop, namespace: shop, scope: namespace-wide}
"""


@pytest.fixture(scope="module")
def controller_keys():
    return [make_key() for _ in range(2)]


@pytest.fixture
def sealed_project(make_project, controller_keys):
    project = make_project(CONFIG, kind="local")
    (project.root / "sealing-cert.pem").write_bytes(cert_pem(controller_keys[0]))
    (project.root / "new-cert.pem").write_bytes(cert_pem(controller_keys[1]))
    return project


def no_cluster(project) -> dict[str, str]:
    """An environment in which any cluster access would fail."""
    return {"KUBECONFIG": str(project.root / "no-such-kubeconfig"), "KUBERNETES_SERVICE_HOST": ""}


def docs(project) -> dict[str, dict]:
    folder = project.root / "gitops/shop"
    return {p.name: YAML(typ="safe").load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}


def test_a_rotation_seals_and_reseal_moves_the_folder_to_a_new_certificate(sealed_project, controller_keys):
    project = sealed_project
    ok(project.run("rotate", "--due", env=no_cluster(project)))
    old, new = controller_keys
    sealed = docs(project)
    assert sorted(sealed) == ["api-key.yaml", "app-db.yaml"]
    assert unseal_all(old, sealed["app-db.yaml"]) == project.value("app-db")
    assert unseal_all(old, sealed["api-key.yaml"]) == project.value("api-key")
    before = {name: (project.root / "gitops/shop" / name).read_bytes() for name in sealed}

    same = ok(project.run("reseal", "gitops/shop", env=no_cluster(project)))
    assert same.stdout.count(": unchanged: ") == 2
    assert {name: (project.root / "gitops/shop" / name).read_bytes() for name in sealed} == before

    res = ok(project.run("reseal", "gitops/shop", "--cert", "new-cert.pem", env=no_cluster(project)))
    assert res.stdout.count(": resealed: ") == 2 and "point the `cert:`" in res.stderr
    resealed = docs(project)
    for name, secret in (("app-db.yaml", "app-db"), ("api-key.yaml", "api-key")):
        assert unseal_all(new, resealed[name]) == project.value(secret)  # the same values, the new key
        assert resealed[name]["metadata"]["annotations"]["secretkeeper.io/sealed-by"] == \
            "sha256:" + fingerprint((project.root / "new-cert.pem").read_bytes())
        with pytest.raises(ValueError):
            unseal_all(old, resealed[name])
    for value in project.value("app-db").values():
        assert value.decode() not in res.stdout + res.stderr

    listed = ok(project.run("reseal", "gitops/shop", "--list", "--cert", "new-cert.pem"))
    short = fingerprint((project.root / "new-cert.pem").read_bytes())[:16]
    assert listed.stdout.count(f"sealed by sha256:{short}… (new-cert.pem)") == 2
    assert "shop/app-db" in listed.stdout and "version 1" in listed.stdout


def test_list_names_the_configured_certificate_and_files_nobody_manages(sealed_project):
    project = sealed_project
    ok(project.run("rotate", "--due"))
    (project.root / "gitops/shop/legacy.yaml").write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: legacy, namespace: shop}\n"
        "spec: {encryptedData: {password: AgBy}}\n---\nkind: ConfigMap\nmetadata: {name: x}\n")
    (project.root / "gitops/shop/deploy.yaml").write_text("kind: Deployment\nmetadata: {name: web}\n")
    listed = ok(project.run("reseal", "gitops/shop", "--list"))
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and sum("(sealing-cert.pem)" in line for line in lines) == 2
    assert "gitops/shop/legacy.yaml: shop/legacy: sealed by an unknown certificate" in listed.stdout
    res = project.run("reseal", "gitops/shop")
    assert res.returncode == 1, res.stderr
    assert "legacy.yaml: not managed: shop/legacy: no secret of the config writes it" in res.stdout
    assert "1 SealedSecret(s) in gitops/shop left as they were" in res.stderr


def test_a_target_that_fetches_its_certificate_needs_cert_to_reseal(make_project, controller_keys):
    project = make_project(CONFIG.replace("cert: sealing-cert.pem, ", ""), kind="local")
    (project.root / "gitops/shop").mkdir(parents=True)
    res = project.run("reseal", "gitops/shop", env=no_cluster(project))
    assert res.returncode == 2
    assert res.stderr == ("secretkeeper: error: secret app-db: its `sealed` target fetches the certificate "
                          "from the cluster; reseal never asks the cluster: give the certificate with --cert\n")


def test_bad_input_is_one_line_and_exit_2(sealed_project):
    project = sealed_project
    (project.root / "bad.pem").write_text("not a certificate\n")
    (project.root / "gitops/shop").mkdir(parents=True)
    for args, message in ((("reseal", "nowhere"), "nowhere: not a folder"),
                          (("reseal", "gitops/shop", "--cert", "bad.pem"), "bad.pem: not a PEM certificate"),
                          (("reseal", "gitops/shop", "--cert", "missing.pem"), "missing.pem: cannot read")):
        res = project.run(*args)
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and message in res.stderr, res.stderr
    assert list((project.root / "gitops/shop").iterdir()) == []
