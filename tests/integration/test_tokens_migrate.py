"""`secretkeeper tokens migrate` against the Kubernetes API emulator, driven by the real kubernetes client:
the read-only report (last-used label, pods that use each legacy token Secret), --invalidate (the API
server rejects the token), --restore (accepted again), and --delete-unused with its grace period."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from providers.stores import open_store
from secretkeeper.config import load_config

pytestmark = pytest.mark.integration
INVALID, LAST_USED = "kubernetes.io/legacy-token-invalid-since", "kubernetes.io/legacy-token-last-used"


def day(days_ago: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def cluster(kube):
    """ServiceAccounts with legacy token Secrets: ci (used from outside), web (used by two pods), and three
    already invalidated: old (long ago, unused since), recent (within the grace period), busy (used after)."""
    if kube.real:
        pytest.skip("needs legacy token Secrets filled at once and dated labels (the emulator)")
    ns = kube.namespace
    labels = {"old": {INVALID: day(60), LAST_USED: day(90)}, "recent": {INVALID: day(5)},
              "busy": {INVALID: day(60), LAST_USED: day(40)}}
    for sa in ("ci", "web", "old", "recent", "busy"):
        kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}},
                   {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                    "metadata": {"name": f"{sa}-token", "labels": labels.get(sa, {}),
                                 "annotations": {"kubernetes.io/service-account.name": sa}}})
    container = {"name": "app", "image": "registry.example/web:1"}
    kube.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                "spec": {"containers": [container],
                         "volumes": [{"name": "api-token", "secret": {"secretName": "web-token"}}]}},
               {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "worker"},
                "spec": {"containers": [{**container, "env": [{"name": "KUBE_TOKEN", "valueFrom": {
                    "secretKeyRef": {"name": "web-token", "key": "token"}}}]}]}})
    assert whoami(kube, token(kube, "ci-token")) == f"system:serviceaccount:{ns}:ci"  # stamps last-used
    return kube


def token(kube, name):
    return base64.b64decode(kube.emulator.get("secrets", name, kube.namespace)["data"]["token"]).decode()


def whoami(kube, bearer):
    """The user the API server takes `bearer` for, or None when it rejects it (401)."""
    from kubernetes import config

    path = kube.emulator.write_kubeconfig(kube.kubeconfig.with_name("as-token"), token=bearer)
    api = config.new_client_from_config(config_file=str(path), context="emulator")
    try:
        return client.AuthenticationV1Api(api).create_self_subject_review({}).status.user_info.username
    except client.exceptions.ApiException as exc:
        assert exc.status == 401
        return None
    finally:
        api.close()


def migrate(run_cli, kube, *args):
    return run_cli(["tokens", "migrate", "-n", kube.namespace, "--context", kube.context, *args],
                   env={"KUBECONFIG": str(kube.kubeconfig)})


def test_the_report_names_last_use_and_the_pods_and_changes_nothing(run_cli, cluster):
    ns = cluster.namespace
    writes_before = [r for r in cluster.emulator.state.requests if r[0] in ("PATCH", "PUT", "DELETE")]
    text = migrate(run_cli, cluster)
    assert text.code == 0, text.output
    assert f"{ns}/ci-token: ServiceAccount ci; last used {day(0)}\n" in text.stdout
    assert "client outside the cluster" in text.stdout and "k8s-token managed secret" in text.stdout
    assert f"  used by Pod/{ns}/web (volume api-token)\n" in text.stdout
    assert f"  used by Pod/{ns}/worker (env KUBE_TOKEN in container app)\n" in text.stdout
    assert "projected serviceAccountToken volume" in text.stdout and "serviceAccountToken: {path: token" in text.stdout
    assert f"{ns}/old-token: ServiceAccount old; last used {day(90)}, invalid since {day(60)}" in text.stdout
    assert "legacy service-account token Secrets: 5 found" in text.stdout
    doc = json.loads(migrate(run_cli, cluster, "--format", "json").stdout)
    assert doc["action"] == "report" and [t["name"] for t in doc["tokens"]] == [
        "busy-token", "ci-token", "old-token", "recent-token", "web-token"]
    web = next(t for t in doc["tokens"] if t["name"] == "web-token")
    assert len(web["mounted_by"]) == 2 and web["last_used"] is None
    for name in ("ci-token", "web-token", "old-token"):
        assert token(cluster, name) not in text.output + json.dumps(doc)
    assert [r for r in cluster.emulator.state.requests if r[0] in ("PATCH", "PUT", "DELETE")] == writes_before


def test_invalidate_makes_the_api_server_reject_the_token_and_restore_undoes_it(run_cli, cluster):
    ns, ci = cluster.namespace, token(cluster, "ci-token")
    done = migrate(run_cli, cluster, "--invalidate", "--secret", f"{ns}/ci-token")
    assert done.code == 0, done.output
    assert f"invalidated: label {INVALID}={day(0)} set" in done.stdout
    assert cluster.emulator.get("secrets", "ci-token", ns)["metadata"]["labels"][INVALID] == day(0)
    assert whoami(cluster, ci) is None

    back = migrate(run_cli, cluster, "--restore", "--secret", f"{ns}/ci-token")
    assert back.code == 0 and "restored:" in back.stdout
    assert INVALID not in cluster.emulator.get("secrets", "ci-token", ns)["metadata"]["labels"]
    assert whoami(cluster, ci) == f"system:serviceaccount:{ns}:ci"


def test_invalidate_refuses_a_token_that_pods_use(run_cli, cluster):
    ns = cluster.namespace
    done = migrate(run_cli, cluster, "--invalidate")
    assert done.code == 1, done.output
    assert f"  skipped: mounted by Pod/{ns}/web (volume api-token)" in done.stdout
    assert INVALID not in (cluster.emulator.get("secrets", "web-token", ns)["metadata"].get("labels") or {})
    assert whoami(cluster, token(cluster, "web-token")) == f"system:serviceaccount:{ns}:web"
    assert cluster.emulator.get("secrets", "ci-token", ns)["metadata"]["labels"][INVALID] == day(0)
    assert f"unchanged: already invalid since {day(60)}" in done.stdout


def test_delete_unused_honours_the_grace_period_and_later_use(run_cli, cluster):
    ns = cluster.namespace
    done = migrate(run_cli, cluster, "--delete-unused", "--grace", "30d", "--format", "json")
    assert done.code == 1, done.output
    outcome = {t["name"]: (t["outcome"], t["note"]) for t in json.loads(done.stdout)["tokens"]}
    assert outcome["old-token"][0] == "deleted"
    assert outcome["recent-token"] == ("skipped", f"invalid only since {day(5)}, grace ends {day(-25)}")
    assert outcome["busy-token"] == ("skipped", f"used {day(40)}, after it was invalidated")
    assert outcome["ci-token"] == ("skipped", "not invalidated: --invalidate first")
    remaining = {s["metadata"]["name"] for s in cluster.emulator.list("secrets", ns)}
    assert "old-token" not in remaining and {"recent-token", "busy-token", "ci-token", "web-token"} <= remaining
    shorter = migrate(run_cli, cluster, "--delete-unused", "--grace", "4d", "--secret", f"{ns}/recent-token")
    assert shorter.code == 0 and "deleted: invalid since" in shorter.stdout


def test_issue_makes_the_bound_token_that_replaces_one_used_from_outside(run_cli, cluster, tmp_path, monkeypatch):
    ns = cluster.namespace
    (tmp_path / "secretkeeper.yaml").write_text(f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
secrets:
  - name: ci-token
    store: local
    path: k8s/ci
    issuer: {{type: k8s-token, namespace: {ns}, service_account: ci, audiences: [ci.example], ttl: 1h,
              context: {cluster.context}}}
""")
    args = ["tokens", "migrate", "-n", ns, "--context", cluster.context, "--issue", "--format", "json"]
    done = run_cli(args, cwd=tmp_path, env={"KUBECONFIG": str(cluster.kubeconfig)})
    assert done.code == 1, done.output  # the other external-use tokens have no managed secret yet
    outcome = {t["name"]: (t["outcome"], t["note"]) for t in json.loads(done.stdout)["tokens"]}
    assert outcome["ci-token"][0] == "issued" and "managed secret ci-token" in outcome["ci-token"][1]
    assert outcome["web-token"][0] == "unchanged"  # pods use it: projected volumes instead
    assert outcome["old-token"][0] == "skipped" and (
        f"add one: {{name: old-token, store: STORE, path: k8s/{ns}/old, issuer: {{type: k8s-token, "
        f"namespace: {ns}, service_account: old") in outcome["old-token"][1]
    monkeypatch.chdir(tmp_path)  # the config's relative store path
    issued = open_store("local", load_config(tmp_path / "secretkeeper.yaml").stores["local"]).read("k8s/ci").data
    api = cluster.api_client()
    try:
        review = client.AuthenticationV1Api(api).create_token_review(
            {"spec": {"token": issued["token"].decode(), "audiences": ["ci.example"]}})
    finally:
        api.close()
    assert review.status.authenticated and review.status.user.username == f"system:serviceaccount:{ns}:ci"
    assert issued["token"].decode() not in done.output
    again = run_cli([*args, "--secret", f"{ns}/ci-token"], cwd=tmp_path, env={"KUBECONFIG": str(cluster.kubeconfig)})
    assert again.code == 0 and json.loads(again.stdout)["tokens"][0]["outcome"] == "issued"  # already current


def test_without_pods_visible_nothing_is_invalidated_and_without_secrets_it_is_an_error(run_cli, cluster):
    ns = cluster.namespace
    cluster.emulator.add_token("secrets-only", rules={("list", "secrets"), ("patch", "secrets")})
    cluster.emulator.add_token("nothing", rules=set())
    cluster.emulator.write_kubeconfig(cluster.kubeconfig, namespace=ns,
                                      extra_contexts={"secrets-only": "secrets-only", "nothing": "nothing"})
    env = {"KUBECONFIG": str(cluster.kubeconfig)}
    blind = run_cli(["tokens", "migrate", "-n", ns, "--context", "secrets-only", "--invalidate",
                     "--secret", f"{ns}/ci-token"], env=env)
    assert blind.code == 1, blind.output
    assert "skipped: pods could not be listed: who mounts it is unknown" in blind.stdout
    assert f"warning: pods in namespace {ns}: not visible with these permissions" in blind.stderr
    assert INVALID not in cluster.emulator.get("secrets", "ci-token", ns)["metadata"]["labels"]
    denied = run_cli(["tokens", "migrate", "-n", ns, "--context", "nothing"], env=env)
    assert denied.code == 2 and denied.stderr.count("\n") == 1
    assert f"these credentials may not list secrets in namespace {ns}" in denied.stderr


@pytest.mark.parametrize("args, message", [
    (["--invalidate", "--restore"], "--invalidate and --restore: choose one action per run"),
    (["--delete-unused", "--grace", "30"], "--grace: not a duration"),
    (["--secret", "ci-token"], "--secret: 'ci-token' is not NAMESPACE/NAME"),
    (["--format", "xml"], "--format: unknown format 'xml'"),
])
def test_bad_flags_are_one_line_and_exit_2(run_cli, args, message):
    res = run_cli(["tokens", "migrate", *args], env={"KUBECONFIG": "/nonexistent"})
    assert res.code == 2 and res.stderr.count("\n") == 1 and message in res.stderr, res.output
