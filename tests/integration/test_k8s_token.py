"""The `k8s-token` issuer end to end: `secretkeeper rotate` (another process, the real local store, the
real kubernetes client) against the Kubernetes API emulator — TokenRequest bound to a holder Secret,
TokenReview as verify, the holder deleted on retire so the API server rejects the old token at once, a
failed verify rolled back, and the policy renewing a token before it expires."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from providers.stores import open_store  # noqa: F401  (the local store registers through it)
from tests.rotation.conftest import Project, ok

pytestmark = pytest.mark.integration
HOLDER_LABELS = "app.kubernetes.io/managed-by=secretkeeper,secretkeeper.io/role=token-holder"


def config(kube, *, ttl="24h", rotate="{every: 30d}", context=None):
    return f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
secrets:
  - name: reports-token
    store: local
    path: k8s/reports-token
    issuer: {{type: k8s-token, namespace: {kube.namespace}, service_account: reports, audiences: [api],
              ttl: {ttl}, context: {context or kube.context}}}
    rotate: {rotate}
    sync:
      - manifest: {{dir: out/secrets, namespace: {kube.namespace}}}
"""


@pytest.fixture
def account(kube):
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reports"}})
    return "reports"


def review(kube, token: bytes, audiences=("api",)):
    """(authenticated, username) as the API server's TokenReview says."""
    from kubernetes import client

    api = kube.api_client()
    try:
        answer = client.AuthenticationV1Api(api).create_token_review(
            {"spec": {"token": token.decode(), "audiences": list(audiences)}})
    finally:
        api.close()
    return bool(answer.status.authenticated), (answer.status.user.username if answer.status.user else None)


def holders(kube):
    from kubernetes import client

    api = kube.api_client()
    try:
        found = client.CoreV1Api(api).list_namespaced_secret(kube.namespace, label_selector=HOLDER_LABELS)
    finally:
        api.close()
    return sorted(item.metadata.name for item in found.items)


def run(project, kube, *args, code=0):
    return ok(project.run(*args, env={"KUBECONFIG": str(kube.kubeconfig)}), code)


def test_rotate_issues_a_bound_token_and_retiring_it_revokes_it_at_once(tmp_path, kube, account):
    project = Project(tmp_path / "p", config(kube), "local")
    run(project, kube, "rotate", "--due")
    first = project.value("reports-token")
    assert set(first) == {"token", "expires_at"}
    assert review(kube, first["token"]) == (True, f"system:serviceaccount:{kube.namespace}:reports")
    assert review(kube, first["token"], ("https://kubernetes.default.svc",))[0] is False  # not for the API server
    (holder,) = holders(kube)
    assert holder.startswith("reports-sk-token-")
    held = kube.api_client()
    try:
        from kubernetes import client

        secret = client.CoreV1Api(held).read_namespaced_secret(holder, kube.namespace)
    finally:
        held.close()
    assert not secret.data and secret.metadata.annotations["secretkeeper.io/secret"] == "reports-token"
    expires = datetime.fromisoformat(first["expires_at"].decode().replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(expires.tzinfo) <= timedelta(hours=24)

    # the status notes carry the expiry, and the token is renewed a third of its lifetime ahead
    status = project.store.status(["k8s/reports-token"])["k8s/reports-token"]
    assert datetime.fromisoformat(status.metadata["expires"]) == expires
    next_due = datetime.fromisoformat(status.metadata["next-due"])
    assert abs(next_due - (expires - timedelta(hours=8))) < timedelta(minutes=1)

    out = run(project, kube, "rotate", "reports-token", "--force")
    second = project.value("reports-token")
    assert second["token"] != first["token"], out.stdout
    assert review(kube, second["token"])[0] is True
    assert review(kube, first["token"]) == (False, None)  # its holder is gone: rejected before it expired
    assert holders(kube) != [holder] and len(holders(kube)) == 1
    combined = out.stdout + out.stderr + project.run("status").stdout
    assert first["token"].decode() not in combined and second["token"].decode() not in combined


def test_a_token_is_renewed_before_it_expires(tmp_path, kube, account):
    """ttl 10m, renew_before 10m: due as soon as min_interval allows, so `rotate --due` renews it."""
    project = Project(tmp_path / "p", config(kube, ttl="10m", rotate="{renew_before: 10m, min_interval: 1s}"),
                      "local")
    run(project, kube, "rotate", "--due")
    first = project.value("reports-token")
    time.sleep(1.1)
    out = run(project, kube, "rotate", "--due")
    assert "due: expires in" in out.stderr and "(renew_before 10m)" in out.stderr
    assert project.value("reports-token")["token"] != first["token"]
    assert review(kube, first["token"])[0] is False


def test_a_failed_verify_rolls_back_and_revokes_the_new_token(tmp_path, kube, account):
    """Credentials that may issue tokens but not review them: verify fails, the new token's holder is
    deleted (so that token is dead), and the previous version stays current and working."""
    if kube.real:
        pytest.skip("needs the emulator's static tokens with restricted rules")
    project = Project(tmp_path / "p", config(kube), "local")
    run(project, kube, "rotate", "--due")
    first = project.value("reports-token")
    kube.emulator.add_token("no-review", user="issuer-only", rules={
        ("create", "serviceaccounts/token", kube.namespace), ("create", "secrets", kube.namespace),
        ("delete", "secrets", kube.namespace)})
    kube.emulator.write_kubeconfig(kube.kubeconfig, namespace=kube.namespace,
                                   extra_contexts={"issuer-only": "no-review"})
    project.config.write_text(config(kube, context="issuer-only"))
    before = set(holders(kube))
    out = run(project, kube, "rotate", "reports-token", "--force", code=1)
    assert "TokenReview" in out.stdout + out.stderr and "rolled back" in out.stdout + out.stderr
    assert project.value("reports-token") == first
    assert set(holders(kube)) == before  # the new holder was deleted: its token is revoked
    assert review(kube, first["token"])[0] is True


def test_dry_run_names_what_the_issuer_needs(tmp_path, kube, account):
    project = Project(tmp_path / "p", config(kube), "local")
    out = run(project, kube, "rotate", "reports-token", "--dry-run").stdout
    assert f"TokenRequest token for ServiceAccount {kube.namespace}/reports" in out
    assert "create serviceaccounts/token (resourceNames: [reports])" in out
    assert "create and delete secrets" in out and "create tokenreviews" in out
    assert holders(kube) == []  # a dry run writes nothing


@pytest.mark.parametrize("issuer, message", [
    ("ttl: 5m", "at least 10m"),
    ("ttl: 90s", "at least 10m"),
    ("audiences: []", "audiences"),
    ("namespace: Reports", "Kubernetes name"),
])
def test_bad_issuer_settings_are_config_errors(tmp_path, issuer, message):
    from secretkeeper.config import load_config
    from secretkeeper.errors import ConfigError

    fields = {"namespace": "reports", "service_account": "reports", "audiences": "[api]", "ttl": "24h"}
    key, value = issuer.split(": ", 1)
    fields[key] = value
    section = ", ".join(f"{k}: {v}" for k, v in fields.items())
    (tmp_path / "secretkeeper.yaml").write_text(
        "stores:\n  local: {type: local}\nsecrets:\n  - name: t\n    store: local\n    path: t\n"
        f"    issuer: {{type: k8s-token, {section}}}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "secretkeeper.yaml")


def issuer_for(kube, **settings):
    from providers.issuers import build_issuer
    from secretkeeper.config.secrets import K8sTokenIssuer, SecretConfig

    fields = {"namespace": kube.namespace, "service_account": "reports", "audiences": ["api"],
              "context": kube.context, **settings}
    return build_issuer(SecretConfig(name="reports-token", store="local", path="k8s/reports",
                                     issuer=K8sTokenIssuer(type="k8s-token", **fields)), None)


def test_verify_fails_for_a_revoked_token_another_account_and_another_audience(kube, account, monkeypatch):
    from providers.base import SecretVersion
    from providers.errors import VerifyFailed

    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "other"}})
    issuer = issuer_for(kube)
    data = issuer.issue(None)
    issuer.verify(data)
    other = issuer_for(kube, service_account="other").issue(None)
    with pytest.raises(VerifyFailed, match=f"authenticates as 'system:serviceaccount:{kube.namespace}:other', not "):
        issuer.verify(other)
    elsewhere = issuer_for(kube, audiences=["elsewhere"]).issue(None)
    with pytest.raises(VerifyFailed, match="does not accept the new token for audiences api"):
        issuer.verify(elsewhere)
    issuer.retire(SecretVersion("1", data, datetime.now(UTC)))
    with pytest.raises(VerifyFailed, match="does not accept the new token") as caught:
        issuer.verify(data)
    assert data["token"].decode() not in str(caught.value)
    issuer.retire(SecretVersion("1", data, datetime.now(UTC)))  # twice: the holder is gone already, fine


def test_an_absent_service_account_deletes_the_holder_it_made(kube, monkeypatch):
    from providers.errors import IssuerError

    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    with pytest.raises(IssuerError, match=r"TokenRequest for ServiceAccount .*/reports failed \(HTTP 404 NotFound\)"):
        issuer_for(kube).issue(None)
    assert holders(kube) == []


def test_issue_sweeps_holders_a_crashed_run_left_once_their_tokens_expired(kube, account, monkeypatch):
    if kube.real:
        pytest.skip("back-dates holders inside the emulator")
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    labels = {"app.kubernetes.io/managed-by": "secretkeeper", "secretkeeper.io/role": "token-holder"}
    for name, owner in (("reports-sk-token-old", "reports-token"), ("reports-sk-token-young", "reports-token"),
                        ("reports-sk-token-theirs", "someone-else")):
        kube.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": name, "labels": labels, "annotations": {"secretkeeper.io/secret": owner}}})
    with kube.emulator.state.lock:  # created two days ago: any 24h token bound to them has expired
        table = kube.emulator.state.objects[("", "secrets")]
        for name in ("reports-sk-token-old", "reports-sk-token-theirs"):
            table[(kube.namespace, name)]["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    issuer_for(kube).issue(None)
    left = holders(kube)
    assert "reports-sk-token-old" not in left
    assert {"reports-sk-token-young", "reports-sk-token-theirs"} <= set(left) and len(left) == 3


def test_the_issue_example_rotates_into_vault_and_renews_on_the_expiry_note(tmp_path, kube, account, vault_server,
                                                                             vault_mount):
    """The issue's own example (store: vault): the expiry note passes Vault's agreed status notes, and
    `status` shows the renewal a third of the ttl ahead."""
    project = Project(tmp_path / "p", f"""\
stores:
  vault: {{type: vault, mount: {vault_mount}}}
secrets:
  - name: reports-token
    store: vault
    path: k8s/reports-token
    issuer: {{type: k8s-token, namespace: {kube.namespace}, service_account: reports, audiences: [api], ttl: 24h,
              context: {kube.context}}}
""", "local")
    env = {"KUBECONFIG": str(kube.kubeconfig), **vault_server.env()}
    ok(project.run("rotate", "--due", env=env))
    (status,) = json.loads(ok(project.run("status", "--format", "json", env=env)).stdout)
    renew_at = datetime.fromisoformat(status["next_due"]) - datetime.fromisoformat(status["last_rotated"])
    assert abs(renew_at - timedelta(hours=16)) < timedelta(minutes=1)  # 24h ttl, renewed with 8h left
    ok(project.run("rotate", "--due", env=env))  # not due again before the renewal point
    from kubernetes import client

    api = kube.api_client()
    try:
        assert len(client.CoreV1Api(api).list_namespaced_secret(kube.namespace, label_selector=HOLDER_LABELS)
                   .items) == 1
    finally:
        api.close()
