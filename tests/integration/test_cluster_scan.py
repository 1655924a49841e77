"""`secretkeeper scan --cluster` end to end against the Kubernetes API emulator (or a real cluster when
KUBECONFIG is set): rule ids, object references, exit codes, pagination, forbidden resources, bad
contexts, and no planted secret in any output."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.conftest import make_token, run_cli

pytestmark = pytest.mark.integration

FORMATS = ("text", "json", "sarif", "junit")


class Planted(dict):
    """The planted names and tokens; its repr never shows a token (pytest prints fixtures on failure)."""

    def __repr__(self) -> str:
        return f"Planted(ns={self['ns']!r}, role={self['role']!r}, tokens=<{len(self['tokens'])} redacted>)"


@pytest.fixture
def planted(kube):
    """A namespace with the usual faults; returns the planted tokens and names."""
    ns = kube.namespace
    tokens = {"env": make_token(), "configmap": make_token(), "secret": make_token(), "shared": make_token(),
              "annotation": make_token()}
    role = f"{ns}-secret-reader"
    kube.created_cluster_objects.append(("ClusterRole", role))
    kube.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque",
         "stringData": {"password": tokens["secret"], "github": tokens["shared"]}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "legacy"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "legacy-token", "annotations": {
            "kubernetes.io/service-account.name": "legacy"}}, "type": "kubernetes.io/service-account-token"},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
         "data": {"GITHUB_TOKEN": tokens["configmap"], "MIRROR_TOKEN": tokens["shared"], "LOG_LEVEL": "debug"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "web", "annotations": {"note": f"deployed with {tokens['annotation']}"}}, "spec": {
            "replicas": 0, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "app", "image": "registry.invalid/web:1",
                "env": [{"name": "API_TOKEN", "value": tokens["env"]},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
            }]}}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]},
    )
    return Planted(tokens=tokens, role=role, ns=ns)


def scan(kube, *args: str, env: dict | None = None):
    return run_cli(["scan", "--cluster", "--no-progress", *args],
                   env={"KUBECONFIG": str(kube.kubeconfig), **(env or {})})


def findings_by(doc: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["location"].get("object", "")) for f in doc["findings"]}


def test_cluster_scan_finds_hygiene_faults_and_leaks(kube, planted):
    ns, tokens = planted["ns"], planted["tokens"]
    res = scan(kube, "--context", kube.context, "--namespace", ns, "-f", "json")
    assert res.code == 1, res.output
    doc = json.loads(res.stdout)
    got = findings_by(doc)
    expected = {
        ("k8s-env-secret-literal", f"Deployment/{ns}/web/app/env API_TOKEN"),
        ("k8s-env-secret-ref", f"Deployment/{ns}/web/app/env DB_PASSWORD"),
        ("github-pat-classic", f"Deployment/{ns}/web/app/env API_TOKEN"),
        ("k8s-legacy-sa-token", f"Secret/{ns}/legacy-token"),
        ("k8s-rbac-secrets-read", f"ClusterRole/-/{planted['role']}"),
        ("k8s-configmap-secret", f"ConfigMap/{ns}/app-config/data GITHUB_TOKEN"),
        ("github-pat-classic", f"ConfigMap/{ns}/app-config/data GITHUB_TOKEN"),
    }
    assert expected <= got, sorted(got)
    assert all(f["location"]["source"] == "cluster" for f in doc["findings"])
    # Secret values are never scanned as leaks (they are where secrets belong) ...
    assert not any(f["kind"] == "leak" and f["location"].get("object", "").startswith(f"Secret/{ns}/db")
                   for f in doc["findings"])
    # ... but a leaked copy of a managed Secret's value names that Secret
    shared = [f for f in doc["findings"] if f["location"].get("object") == f"ConfigMap/{ns}/app-config/data MIRROR_TOKEN"
              and f["kind"] == "leak"]
    assert shared and shared[0]["extra"]["managed_secret"] == f"Secret/{ns}/db key github"
    # any other string is scanned too (here: an annotation), once per secret and object
    assert ("github-pat-classic", f"Deployment/{ns}/web/metadata.annotations.note") in got
    assert sum(1 for f in doc["findings"] if f["kind"] == "leak"
               and f["location"]["object"].startswith(f"Deployment/{ns}/web/")) == 2
    assert doc["summary"]["objects"] >= 6
    for token in tokens.values():
        assert token not in res.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_format(kube, planted, fmt, tmp_path):
    res = scan(kube, "-n", planted["ns"], "-f", fmt)
    assert res.code == 1, res.output
    out = tmp_path / f"report.{fmt}"
    res2 = scan(kube, "-n", planted["ns"], "-f", fmt, "-o", str(out))
    assert res2.code == 1
    text = res.output + res2.output + out.read_text()
    for token in planted["tokens"].values():
        assert token not in text
        assert token[4:20] not in text  # not even a longer-than-preview fragment
    assert "ConfigMap/" in text or fmt == "junit"


def test_secrets_in_live_names_are_redacted(kube):
    """Live names are DNS names: a token in one is in lower case, `-` for `_`. A Secret's key that is a
    token is printed too when a leaked value matches that Secret (`extra.managed_secret`)."""
    tok, key, cm_key, arg = make_token(), make_token(), make_token(), make_token()
    low, arg_low = tok.lower().replace("_", "-"), arg.lower().replace("_", "-")
    kube.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {key: tok}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
         "data": {cm_key: f"api_token = {make_token()}"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"web-{low}"}, "spec": {
            "replicas": 0, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "serviceAccountName": f"sa-{arg_low}",  # a token only its args hold
                "containers": [{"name": f"c-{low}", "image": "registry.invalid/web:1",
                                "args": ["--token", arg], "env": [{"name": "API_TOKEN", "value": tok}]}]}}}},
    )
    for fmt in FORMATS:
        res = scan(kube, "-n", kube.namespace, "-f", fmt)
        assert res.code == 1, res.output
        for secret in (tok, low, key, cm_key, arg, arg_low):
            assert secret not in res.output, fmt
    doc = json.loads(scan(kube, "-n", kube.namespace, "-f", "json").stdout)
    assert f"Deployment/{kube.namespace}/web-ghp-…" in {f["location"].get("object") for f in doc["findings"]}


def test_default_namespace_is_the_contexts(kube, planted):
    """Without --namespace the scan covers the context's namespace (the fixture's kubeconfig sets it)."""
    if kube.real:
        pytest.skip("the real cluster's kubeconfig context has its own namespace")
    res = scan(kube, "-f", "json")
    assert res.code == 1
    assert ("k8s-legacy-sa-token", f"Secret/{planted['ns']}/legacy-token") in findings_by(json.loads(res.stdout))


def test_all_namespaces(kube, planted):
    res = scan(kube, "-A", "-f", "json")
    assert res.code == 1, res.output
    objects = {f["location"].get("object", "") for f in json.loads(res.stdout)["findings"]}
    assert f"Secret/{planted['ns']}/legacy-token" in objects


def test_pagination_over_more_objects_than_a_page(kube, monkeypatch):
    import secretkeeper.kube.client

    monkeypatch.setattr(secretkeeper.kube.client, "PAGE_SIZE", 4)
    ns = kube.namespace
    tokens = [make_token() for _ in range(11)]
    kube.apply(*({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:02d}"},
                  "data": {"TOKEN": t}} for i, t in enumerate(tokens)))
    res = scan(kube, "-n", ns, "-f", "json")
    assert res.code == 1, res.output
    leaks = {f["location"]["object"] for f in json.loads(res.stdout)["findings"] if f["rule_id"] == "github-pat-classic"}
    assert leaks == {f"ConfigMap/{ns}/cm-{i:02d}/data TOKEN" for i in range(11)}
    if kube.emulator is not None:
        pages = [p for m, p in kube.emulator.state.requests
                 if m == "GET" and f"/namespaces/{ns}/configmaps" in p]
        assert all("limit=4" in p for p in pages)
        assert sum("continue=" in p for p in pages) >= 2  # 11+ objects in pages of 4


def _restricted_kubeconfig(kube, tmp_path: Path) -> Path:
    """A kubeconfig whose user (a ServiceAccount token) may list everything here except Secrets."""
    from kubernetes import client

    ns = kube.namespace
    api = kube.api_client()
    with api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        core.create_namespaced_service_account(ns, {"metadata": {"name": "auditor"}})
        rbac.create_namespaced_role(ns, {"metadata": {"name": "no-secrets"}, "rules": [
            {"apiGroups": ["", "apps", "batch", "rbac.authorization.k8s.io"],
             "resources": ["pods", "configmaps", "serviceaccounts", "deployments", "statefulsets", "daemonsets",
                           "replicasets", "jobs", "cronjobs", "roles", "rolebindings"],
             "verbs": ["get", "list"]}]})
        rbac.create_namespaced_role_binding(ns, {"metadata": {"name": "auditor"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "no-secrets"},
            "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": ns}]})
        token = core.create_namespaced_service_account_token("auditor", ns, {"spec": {}}).status.token
        host, ca = api.configuration.host, api.configuration.ssl_ca_cert
    cluster = {"server": host}
    if ca:
        cluster["certificate-authority"] = ca
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "auditor",
           "clusters": [{"name": "c", "cluster": cluster}],
           "users": [{"name": "auditor", "user": {"token": token}}],
           "contexts": [{"name": "auditor", "context": {"cluster": "c", "user": "auditor", "namespace": ns}}]}
    path = tmp_path / "auditor.kubeconfig"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path


def test_forbidden_secrets_are_a_warning_not_an_error(kube, planted, tmp_path):
    path = _restricted_kubeconfig(kube, tmp_path)
    res = run_cli(["scan", "--cluster", "-f", "json"], env={"KUBECONFIG": str(path)})
    assert res.code == 1, res.output  # the rest of the namespace was scanned
    doc = json.loads(res.stdout)
    warnings = doc["summary"]["warnings"]
    assert f"secrets in namespace {planted['ns']}: not visible with these permissions" in warnings
    assert any(w.startswith("clusterroles") and "not visible" in w for w in warnings)
    got = findings_by(doc)
    assert ("k8s-env-secret-literal", f"Deployment/{planted['ns']}/web/app/env API_TOKEN") in got
    assert not any(obj.startswith("Secret/") for _, obj in got)
    text = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert "not visible with these permissions" in text.output and "Traceback" not in text.output


def test_bad_context_is_one_line_exit_2(kube):
    res = scan(kube, "--context", "no-such-context")
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-context" in lines[0] and lines[0].startswith("secretkeeper: error:")


def test_unreachable_server_names_context_and_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "placeholder"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}]}))
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "gone" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(tmp_path / "missing")})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1
    broken = tmp_path / "broken"
    broken.write_text("clusters: [unterminated")
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(broken)})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert f"kubeconfig {broken}: cannot be read" in res.stderr
    dangling = tmp_path / "dangling"
    dangling.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                                    "clusters": [], "users": [], "contexts": [{"name": "c", "context": {"cluster": "nope", "user": "nobody"}}]}))
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(dangling)})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert f"kubeconfig {dangling}" in res.stderr and "nope" in res.stderr  # names the missing cluster


def test_rejected_credentials_exit_2(kube, tmp_path):
    if kube.emulator is None:
        pytest.skip("writes an emulator kubeconfig with an unknown token")
    path = kube.emulator.write_kubeconfig(tmp_path / "bogus", token="not-a-known-token", context="bogus")
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "context bogus" in lines[0] and "401" in lines[0]
    assert "not-a-known-token" not in res.output


def test_tls_verification_is_never_skipped(kube, tmp_path):
    if kube.emulator is None:
        pytest.skip("rewrites the emulator's kubeconfig")
    doc = json.loads(kube.kubeconfig.read_text())
    for cluster in doc["clusters"]:
        del cluster["cluster"]["certificate-authority-data"]
        cluster["cluster"]["insecure-skip-tls-verify"] = True
    path = tmp_path / "insecure"
    path.write_text(json.dumps(doc))
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "TLS verification" in lines[0] and "context emulator" in lines[0]


def test_cluster_options_need_cluster():
    res = run_cli(["scan", "--namespace", "x"])
    assert res.code == 2 and "--cluster" in res.stderr
    res = run_cli(["scan", "--cluster", "-n", "x", "-A"])
    assert res.code == 2


def test_cluster_scan_does_not_sweep_the_current_directory(kube, planted, tmp_path):
    (tmp_path / "leak.txt").write_text(f"token={make_token()}\n")
    res = run_cli(["scan", "--cluster", "-n", planted["ns"], "-f", "json"], cwd=tmp_path,
                  env={"KUBECONFIG": str(kube.kubeconfig)})
    doc = json.loads(res.stdout)
    assert not any(f["location"].get("path") for f in doc["findings"])
    assert doc["summary"]["files"] == 0


# -- --images-from-cluster ------------------------------------------------------------------------------
def _running_pod(name: str, ns: str, image: str, image_id: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"serviceAccountName": "app", "automountServiceAccountToken": False,
                     "containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "image": image, "imageID": image_id, "ready": True, "restartCount": 0}]}}


def test_images_from_cluster_scans_running_images_once_by_digest(kube, tmp_path):
    """Pods report the digest they run; two pods on one image mean one image scan. A real registry
    (Debian's docker-registry) serves the image; pods are seeded with the status a kubelet would set."""
    if kube.emulator is None:
        pytest.skip("seeds pod status (running, imageID), which only the emulator accepts")
    from scanners.images import resolve
    from tests.integration.registry_server import push, registry
    from tests.integration.test_images import ENV_TOKEN, build_layout

    layout = build_layout(tmp_path / "oci")
    ns = kube.namespace
    with registry(tmp_path / "reg") as (host, log):
        push(layout.root, "v1", f"{host}/team/app:v1")
        digest = resolve(f"{host}/team/app:v1", "linux/amd64").digest
        for i in range(2):
            kube.emulator.seed(_running_pod(f"app-{i}", ns, f"{host}/team/app:v1",
                                            f"docker-pullable://{host}/team/app@{digest}"))
        pending = _running_pod("pending", ns, f"{host}/team/other:v1", f"{host}/team/other@sha256:{'0' * 64}")
        pending["status"]["phase"] = "Pending"
        kube.emulator.seed(pending)
        res = scan(kube, "-n", ns, "--images-from-cluster", "-f", "json")
        assert res.code == 1, res.output
        doc = json.loads(res.stdout)
        image_findings = [f for f in doc["findings"] if f["location"]["source"] == "image"]
        assert image_findings and {f["location"]["digest"] for f in image_findings} == {digest}
        assert doc["summary"]["images"] == 1
        assert ENV_TOKEN not in res.output
        manifests = [ln for ln in log.read_text().splitlines() if f"GET /v2/team/app/manifests/{digest}" in ln]
        assert len(manifests) == 1, "the image is fetched once for both pods"
        assert "team/other" not in log.read_text()  # pods that are not running are left alone
        # --images-from-cluster alone: pods are listed, images scanned, nothing else
        before = len(kube.emulator.state.requests)
        res = run_cli(["scan", "--images-from-cluster", "-n", ns, "-f", "json"],
                      env={"KUBECONFIG": str(kube.kubeconfig)})
        assert res.code == 1, res.output
        doc = json.loads(res.stdout)
        assert doc["findings"] and all(f["location"]["source"] == "image" for f in doc["findings"])
        listed = [p for m, p in kube.emulator.state.requests[before:] if m == "GET"]
        assert listed and all("/pods" in p for p in listed)


def test_running_images_and_secret_stripping_units():
    from scanners.cluster import running_images, strip_secret

    digest = "sha256:" + "a" * 64
    pods = [_running_pod("a", "ns", "repo/app:1", f"docker-pullable://repo/app@{digest}"),
            _running_pod("b", "ns", "repo/app:latest", f"repo/app@{digest}"),
            _running_pod("c", "ns", "repo/tool:2", "sha256:" + "b" * 64)]
    assert running_images(pods) == [f"repo/app@{digest}", "repo/tool:2"]
    value = make_token()
    hashes: dict[str, str] = {}
    import base64

    body = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "s", "namespace": "ns", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": {"k": value}}),
                "team": "x"}, "managedFields": [{"manager": "kubectl"}]},
            "data": {"token": base64.b64encode(value.encode()).decode(), "tls.crt": "Y2VydA=="}}
    stripped = strip_secret(body, hashes)
    assert value not in json.dumps(stripped)
    assert stripped["data"] == {"tls.crt": "Y2VydA=="} and stripped["metadata"]["annotations"] == {"team": "x"}
    assert "managedFields" not in stripped["metadata"] and stripped["type"] == "kubernetes.io/tls"
    from secretkeeper.findings import sha256_hex

    assert hashes[sha256_hex(value)] == "Secret/ns/s key token"


def test_in_cluster_config_without_kubeconfig(kube, planted, tmp_path, monkeypatch):
    """Inside a pod: no kubeconfig, the service-account token, CA and namespace files, and the
    KUBERNETES_SERVICE_HOST/PORT environment. The files are placed in a temp dir for the test."""
    if kube.emulator is None:
        pytest.skip("fakes a pod's service-account mount pointing at the emulator")
    import kubernetes.config.incluster_config as incluster

    import secretkeeper.kube.client

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(kube.emulator.admin_token)
    (sa / "ca.crt").write_bytes(kube.emulator.tls.ca_pem)
    (sa / "namespace").write_text(planted["ns"])
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    monkeypatch.setattr(secretkeeper.kube.client, "IN_CLUSTER_NAMESPACE", str(sa / "namespace"))
    res = run_cli(["scan", "--cluster", "-f", "json"], env={
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"), "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(kube.emulator.port)})
    assert res.code == 1, res.output
    assert ("k8s-legacy-sa-token", f"Secret/{planted['ns']}/legacy-token") in findings_by(json.loads(res.stdout))
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(tmp_path / "no-kubeconfig"),
                                              "KUBERNETES_SERVICE_HOST": ""})
    assert res.code == 2 and "no kubeconfig found" in res.stderr
