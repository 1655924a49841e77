"""The Kubernetes API emulator, driven by the real `kubernetes` client and by kubectl.

Every test that does not need an emulator-only feature also runs against a real cluster when KUBECONFIG
is set (the `kube` fixture then points there and works in a fresh namespace).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.emulators.kube import field_matcher, label_matcher
from tests.emulators.kube_patch import json_patch, merge_patch, strategic_merge_patch

pytestmark = pytest.mark.integration


def _status(exc) -> dict:
    return json.loads(exc.body)


def _apis(kube):
    from kubernetes import client

    api = kube.api_client()
    return api, client.CoreV1Api(api), client.AppsV1Api(api), client.RbacAuthorizationV1Api(api)


def _deployment(name: str, env: list[dict] | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1",
                                                           "env": env or [{"name": "A", "value": "1"}],
                                                           "ports": [{"containerPort": 8080}]},
                                                          {"name": "sidecar", "image": "registry.invalid/s:1"}]}}}}


# -- the client ---------------------------------------------------------------------------------------
def test_crud_status_objects_and_optimistic_concurrency(kube):
    from kubernetes.client.exceptions import ApiException

    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
        assert cm.metadata.uid and cm.metadata.resource_version and cm.metadata.creation_timestamp
        with pytest.raises(ApiException) as err:
            core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {}})
        body = _status(err.value)
        assert err.value.status == 409 and body["kind"] == "Status" and body["reason"] == "AlreadyExists"
        assert body["details"]["name"] == "settings" and body["details"]["kind"] == "configmaps"

        stale = core.read_namespaced_config_map("settings", ns)
        stale.data = {"a": "2"}
        fresh = core.replace_namespaced_config_map("settings", ns, stale)
        assert int(fresh.metadata.resource_version) > int(cm.metadata.resource_version)
        stale.data = {"a": "3"}  # still carries the old resourceVersion
        with pytest.raises(ApiException) as err:
            core.replace_namespaced_config_map("settings", ns, stale)
        assert err.value.status == 409 and _status(err.value)["reason"] == "Conflict"
        assert "the object has been modified" in _status(err.value)["message"]
        assert core.read_namespaced_config_map("settings", ns).data == {"a": "2"}

        core.delete_namespaced_config_map("settings", ns)
        with pytest.raises(ApiException) as err:
            core.read_namespaced_config_map("settings", ns)
        body = _status(err.value)
        assert err.value.status == 404 and body["reason"] == "NotFound"
        assert body["message"] == 'configmaps "settings" not found'


def test_secrets_fold_string_data_and_list_across_namespaces(kube):
    api, core, _, _ = _apis(kube)
    with api:
        core.create_namespaced_secret(kube.namespace, {"metadata": {"name": "s1"}, "stringData": {"k": "v"}})
        got = core.read_namespaced_secret("s1", kube.namespace)
        assert got.type == "Opaque" and base64.b64decode(got.data["k"]) == b"v" and not got.string_data
        names = {(s.metadata.namespace, s.metadata.name) for s in core.list_secret_for_all_namespaces().items}
        assert (kube.namespace, "s1") in names


def test_pagination_limit_continue_and_remaining_count(kube):
    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        for i in range(7):
            core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i:02d}"}})
        everything = [c.metadata.name for c in core.list_namespaced_config_map(ns).items]
        pages, token = [], None
        while True:
            page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
            pages.append([c.metadata.name for c in page.items])
            token = page.metadata._continue
            if len(pages) == 1:
                assert page.metadata.remaining_item_count == len(everything) - 3
                assert page.metadata.resource_version
            if not token:
                break
        assert all(len(p) <= 3 for p in pages) and len(pages) == -(-len(everything) // 3)
        assert [n for p in pages for n in p] == everything


def test_label_and_field_selectors(kube):
    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
            core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"tier": tier}}})

        def names(**kw):
            return sorted(c.metadata.name for c in core.list_namespaced_config_map(ns, **kw).items)

        assert names(label_selector="tier=web") == ["a", "c"]
        assert names(label_selector="tier!=web,tier") == ["b"]
        assert names(label_selector="tier in (db, other)") == ["b"]
        assert names(field_selector="metadata.name=c") == ["c"]
        across = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}",
                                                         label_selector="tier")
        assert sorted(c.metadata.name for c in across.items) == ["a", "b", "c"]


def test_patches_and_generation(kube):
    api, _, apps, _ = _apis(kube)
    ns = kube.namespace
    with api:
        d = apps.create_namespaced_deployment(ns, _deployment("web"))
        assert d.metadata.generation == 1
        # strategic merge: containers and env merge by name, the sidecar and env A are kept
        d = apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "B", "value": "2"}]}]}}}})
        app = d.spec.template.spec.containers[0]
        assert [c.name for c in d.spec.template.spec.containers] == ["app", "sidecar"]
        assert [(e.name, e.value) for e in app.env] == [("A", "1"), ("B", "2")]
        assert d.metadata.generation == 2
        # a metadata-only change does not bump generation
        d = apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"team": "x"}}})
        assert d.metadata.generation == 2 and d.metadata.labels["team"] == "x"
        # rollout restart is an annotation patch on the template: generation moves
        d = apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}})
        assert d.metadata.generation == 3
        # stale resourceVersion in a patch -> 409
        from kubernetes.client.exceptions import ApiException

        with pytest.raises(ApiException) as err:
            apps.patch_namespaced_deployment("web", ns, {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}})
        assert err.value.status == 409


def test_merge_and_json_patch_content_types(kube):
    """JSON merge patch replaces lists; JSON patch edits by pointer (sent with explicit content types)."""
    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
                                               "data": {"x": "1"}})

        def patch(body, ctype):
            got = core.patch_namespaced_config_map("p", ns, body, _content_type=ctype)
            return api.sanitize_for_serialization(got)

        got = patch({"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"y": "2"}},
                    "application/merge-patch+json")
        assert got["metadata"]["labels"] == {"b": "2", "c": "3"} and got["data"] == {"x": "1", "y": "2"}
        got = patch([{"op": "replace", "path": "/data/x", "value": "9"}, {"op": "remove", "path": "/data/y"}],
                    "application/json-patch+json")
        assert got["data"] == {"x": "9"}
        got = patch([{"op": "test", "path": "/data/x", "value": "9"}], "application/json-patch+json")
        assert got["data"] == {"x": "9"}


def test_token_request_returns_a_working_expiring_token(kube):
    from kubernetes import client

    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        core.create_namespaced_service_account(ns, {"metadata": {"name": "robot"}})
        tr = core.create_namespaced_service_account_token("robot", ns, {"spec": {"expirationSeconds": 3600}})
        token, expires = tr.status.token, tr.status.expiration_timestamp
        assert token.count(".") == 2
        left = (expires - datetime.now(UTC)).total_seconds()
        assert 3000 < left <= 3700
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["sub"] == f"system:serviceaccount:{ns}:robot"
        cfg = client.Configuration()
        cfg.host = api.configuration.host
        cfg.ssl_ca_cert = api.configuration.ssl_ca_cert
        cfg.api_key = {"authorization": f"Bearer {token}"}
        with client.ApiClient(cfg) as as_robot:
            review = client.AuthenticationV1Api(as_robot).create_self_subject_review({})
            assert review.status.user_info.username == f"system:serviceaccount:{ns}:robot"


def test_rbac_for_service_account_tokens(kube):
    """A Role bound to a ServiceAccount allows what it lists; the rest is 403 with a Status object."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api, core, _, rbac = _apis(kube)
    ns = kube.namespace
    with api:
        core.create_namespaced_service_account(ns, {"metadata": {"name": "viewer"}})
        rbac.create_namespaced_role(ns, {"metadata": {"name": "pods-only"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "get"]}]})
        rbac.create_namespaced_role_binding(ns, {"metadata": {"name": "viewer"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods-only"},
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": ns}]})
        token = core.create_namespaced_service_account_token("viewer", ns, {"spec": {}}).status.token
        cfg = client.Configuration()
        cfg.host, cfg.ssl_ca_cert = api.configuration.host, api.configuration.ssl_ca_cert
        cfg.api_key = {"authorization": f"Bearer {token}"}
        with client.ApiClient(cfg) as as_viewer:
            viewer = client.CoreV1Api(as_viewer)
            deadline = time.monotonic() + 10  # a real cluster's RBAC cache may take a moment
            while True:
                try:
                    viewer.list_namespaced_pod(ns)
                    break
                except ApiException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            with pytest.raises(ApiException) as err:
                viewer.list_namespaced_secret(ns)
            body = _status(err.value)
            assert err.value.status == 403 and body["reason"] == "Forbidden"
            assert f'cannot list resource "secrets" in API group "" in the namespace "{ns}"' in body["message"]


def test_watch_streams_changes(kube):
    from kubernetes import watch

    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    seen: list[tuple[str, str]] = []
    with api:
        rv = core.list_namespaced_config_map(ns).metadata.resource_version

        def watcher():
            w = watch.Watch()
            for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10):
                seen.append((ev["type"], ev["object"].metadata.name))
                if ev["type"] == "DELETED":
                    w.stop()

        t = threading.Thread(target=watcher, daemon=True)
        t.start()
        time.sleep(0.5)
        core.create_namespaced_config_map(ns, {"metadata": {"name": "w"}})
        core.patch_namespaced_config_map("w", ns, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("w", ns)
        t.join(15)
    assert [e for e in seen if e[1] == "w"] == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


# -- emulator-only: static tokens with restricted rules -------------------------------------------------
def test_static_token_rules_make_secrets_forbidden(kube, tmp_path):
    if kube.emulator is None:
        pytest.skip("static emulator tokens: emulator only (the RBAC test covers real clusters)")
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    kube.emulator.add_token("no-secrets-token", user="auditor", rules={("list", "pods"), ("get", "*")})
    path = kube.emulator.write_kubeconfig(tmp_path / "restricted", token="no-secrets-token",
                                          namespace=kube.namespace)
    with config.new_client_from_config(config_file=str(path)) as api:
        core = client.CoreV1Api(api)
        assert core.list_namespaced_pod(kube.namespace).items == []
        with pytest.raises(ApiException) as err:
            core.list_secret_for_all_namespaces()
        body = _status(err.value)
        assert err.value.status == 403 and body["kind"] == "Status" and body["details"]["kind"] == "secrets"
        assert body["message"].endswith("at the cluster scope")
    kube.emulator.write_kubeconfig(tmp_path / "bogus", token="not-a-token")
    with config.new_client_from_config(config_file=str(tmp_path / "bogus")) as api:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(api).list_namespaced_pod("default")
        assert err.value.status == 401


# -- kubectl --------------------------------------------------------------------------------------------
def test_kubectl_get_apply_patch_rollout(kube, tmp_path):
    ns = kube.namespace
    manifest = tmp_path / "web.json"
    body = _deployment("web")
    body["metadata"]["namespace"] = ns
    manifest.write_text(json.dumps(body))
    out = kube.kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    assert "deployment.apps/web created" in out
    assert "unchanged" in kube.kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    body["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "B", "value": "2"})
    manifest.write_text(json.dumps(body))
    assert "configured" in kube.kubectl("apply", "--validate=false", "-f", str(manifest)).stdout

    kube.kubectl("patch", "deployment", "web", "-n", ns, "-p",
                 '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"C","value":"3"}]}]}}}}')
    kube.kubectl("patch", "deployment", "web", "-n", ns, "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    kube.kubectl("patch", "deployment", "web", "-n", ns, "--type=json",
                 "-p", '[{"op":"add","path":"/metadata/labels/j","value":"2"}]')
    got = json.loads(kube.kubectl("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    env = [e["name"] for e in got["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert env == ["A", "B", "C"] and got["metadata"]["labels"]["m"] == "1" and got["metadata"]["labels"]["j"] == "2"
    generation = got["metadata"]["generation"]
    kube.kubectl("rollout", "restart", "deployment/web", "-n", ns)
    got = json.loads(kube.kubectl("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    assert got["metadata"]["generation"] == generation + 1
    assert "kubectl.kubernetes.io/restartedAt" in got["spec"]["template"]["metadata"]["annotations"]
    kube.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")


def test_kubectl_get_pods_all_namespaces(kube):
    api, core, _, _ = _apis(kube)
    with api:
        core.create_namespaced_pod(kube.namespace, {"metadata": {"name": "lonely"}, "spec": {"containers": [
            {"name": "c", "image": "registry.invalid/none:1"}]}})
    out = kube.kubectl("get", "pods", "-A").stdout
    line = next(ln for ln in out.splitlines() if "lonely" in ln)
    assert line.split()[0] == kube.namespace
    assert out.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    names = kube.kubectl("get", "sa,cm", "-n", kube.namespace, "-o", "name").stdout.split()
    assert "serviceaccount/default" in names
    assert "yes" in kube.kubectl("auth", "can-i", "list", "pods", "-n", kube.namespace).stdout


# -- patch semantics (pure functions) -------------------------------------------------------------------
def test_strategic_merge_directives():
    cur = {"containers": [{"name": "a", "image": "1", "volumeMounts": [{"name": "v", "mountPath": "/x"}]},
                          {"name": "b", "image": "2"}],
           "volumes": [{"name": "v"}, {"name": "w"}], "tolerations": [{"key": "t"}],
           "metadata": {"finalizers": ["f1"]}}
    got = strategic_merge_patch(cur, {
        "containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "volumeMounts": [
            {"name": "v2", "mountPath": "/y"}]}],
        "volumes": [{"name": "w", "$patch": "delete"}],
        "tolerations": [{"key": "u"}],
        "metadata": {"finalizers": ["f2"]},
        "$setElementOrder/volumes": [{"name": "v"}],
    })
    assert [c["name"] for c in got["containers"]] == ["a"]
    assert [m["mountPath"] for m in got["containers"][0]["volumeMounts"]] == ["/x", "/y"]
    assert got["volumes"] == [{"name": "v"}] and got["tolerations"] == [{"key": "u"}]
    assert got["metadata"]["finalizers"] == ["f1", "f2"]
    assert strategic_merge_patch({"a": {"b": 1}}, {"a": {"$patch": "replace", "c": 2}}) == {"a": {"c": 2}}
    assert merge_patch({"l": [1, 2], "m": {"k": 1}}, {"l": [3], "m": {"k": None}}) == {"l": [3], "m": {}}
    assert json_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3},
                                      {"op": "move", "from": "/a/0", "path": "/b"}]) == {"a": [2, 3], "b": 1}


def test_selector_parsing():
    match = label_matcher("app=web,tier notin (db),!legacy")
    assert match({"app": "web", "tier": "fe"}) and not match({"app": "web", "tier": "db"})
    assert not match({"app": "web", "legacy": "1"})
    assert field_matcher("metadata.name!=x")({"metadata": {"name": "y"}})


def test_keep_alive_survives_rejected_writes(kube):
    """A write refused before its body is needed (403) must not leave the body in the connection."""
    if kube.emulator is None:
        pytest.skip("raw HTTP to the emulator")
    import http.client
    import ssl

    emu = kube.emulator
    emu.add_token("reader-token", user="reader", rules={("get", "*"), ("list", "*")})
    ctx = ssl.create_default_context(cadata=emu.tls.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    try:
        body = json.dumps({"metadata": {"name": "x"}, "data": {"k": "v" * 5000}})
        conn.request("POST", f"/api/v1/namespaces/{kube.namespace}/configmaps", body=body,
                     headers={"Authorization": "Bearer reader-token", "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 403 and json.loads(resp.read())["reason"] == "Forbidden"
        conn.request("GET", f"/api/v1/namespaces/{kube.namespace}/configmaps",
                     headers={"Authorization": "Bearer reader-token"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["kind"] == "ConfigMapList"
    finally:
        conn.close()


def test_server_side_apply_and_immutable_secrets(kube):
    from kubernetes.client.exceptions import ApiException

    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    ssa = "application/apply-patch+yaml"
    with api:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "synced", "namespace": ns},
                "type": "Opaque", "data": {"k": base64.b64encode(b"one").decode()}}
        created = core.patch_namespaced_secret("synced", ns, body, field_manager="secretkeeper", _content_type=ssa)
        assert base64.b64decode(created.data["k"]) == b"one"
        body["data"]["k"] = base64.b64encode(b"two").decode()
        body["metadata"]["labels"] = {"managed-by": "secretkeeper"}
        updated = core.patch_namespaced_secret("synced", ns, body, field_manager="secretkeeper", _content_type=ssa)
        assert base64.b64decode(updated.data["k"]) == b"two" and updated.metadata.labels["managed-by"]
        assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

        core.create_namespaced_secret(ns, {"metadata": {"name": "frozen"}, "immutable": True,
                                           "data": {"k": base64.b64encode(b"v").decode()}})
        with pytest.raises(ApiException) as err:
            core.patch_namespaced_secret("frozen", ns, {"data": {"k": base64.b64encode(b"w").decode()}})
        assert err.value.status == 422 and _status(err.value)["reason"] == "Invalid"
        core.patch_namespaced_secret("frozen", ns, {"metadata": {"labels": {"ok": "yes"}}})  # metadata may change


def test_kubectl_server_side_apply(kube, tmp_path):
    manifest = tmp_path / "cm.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "ssa", "namespace": kube.namespace}, "data": {"a": "1"}}))
    assert "serverside-applied" in kube.kubectl("apply", "--server-side", "--validate=false", "-f", str(manifest)).stdout
    got = json.loads(kube.kubectl("get", "cm", "ssa", "-n", kube.namespace, "-o", "json").stdout)
    assert got["data"] == {"a": "1"}


def test_broken_rollout_fails_kubectl_rollout_status(kube, tmp_path):
    if kube.emulator is None:
        pytest.skip("simulated rollout failure: emulator only")
    api, _, apps, _ = _apis(kube)
    ns = kube.namespace
    with api:
        apps.create_namespaced_deployment(ns, _deployment("flaky"))
        kube.kubectl("rollout", "status", "deployment/flaky", "-n", ns, "--timeout=10s")
        kube.emulator.break_rollout("deployments", ns, "flaky")
        kube.kubectl("rollout", "restart", "deployment/flaky", "-n", ns)
        res = kube.kubectl("rollout", "status", "deployment/flaky", "-n", ns, "--timeout=10s", check=False)
        assert res.returncode != 0 and "exceeded its progress deadline" in res.stderr
        d = apps.read_namespaced_deployment("flaky", ns)
        assert d.status.observed_generation == d.metadata.generation and not d.status.available_replicas


def test_finalizers_hold_deletion(kube):
    from kubernetes.client.exceptions import ApiException

    api, core, _, _ = _apis(kube)
    ns = kube.namespace
    with api:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
        core.delete_namespaced_config_map("held", ns)
        marked = core.read_namespaced_config_map("held", ns)
        assert marked.metadata.deletion_timestamp is not None
        core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}},
                                         _content_type="application/merge-patch+json")
        deadline = time.monotonic() + 10
        while True:
            try:
                core.read_namespaced_config_map("held", ns)
            except ApiException as err:
                assert err.status == 404
                break
            assert time.monotonic() < deadline, "object not deleted after its finalizer was removed"
            time.sleep(0.2)
