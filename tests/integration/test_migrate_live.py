"""`secretkeeper migrate env-to-files --cluster` and `migrate rollback` against the Kubernetes API emulator
(or a real cluster when KUBECONFIG is set), seeded and read back with the real kubernetes client: the
plan changes nothing, --dry-run=server changes nothing, --apply migrates one workload at a time with its
rollout, the rollback file holds no value and undoes everything, a second run finds nothing."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration

LITERAL = "Hq7vNc2LxW9pRt4KbZ8s"  # secretkeeper:allow (synthetic)


def _deployment(name: str, env: list, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "containers": [{"name": "app", "image": "postgres:16", "env": env}], **spec}}}}


@pytest.fixture
def seeded(kube):
    kube.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-api"}, "stringData": {"token": "t0ken-value-9"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "extra"},
         "stringData": {"SMTP_PASSWORD": "smtp-pass-77", "WEBHOOK_KEY": "hook-key-88"}},
        _deployment("web", [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "value": LITERAL},
                            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-api", "key": "token"}}}],
                    securityContext={"runAsNonRoot": True, "runAsUser": 999}),
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mail"}, "spec": {
            "replicas": 1, "serviceName": "mail", "selector": {"matchLabels": {"app": "mail"}},
            "template": {"metadata": {"labels": {"app": "mail"}}, "spec": {"containers": [{
                "name": "mailer", "image": "registry.example/mailer:1",
                "envFrom": [{"secretRef": {"name": "extra"}}]}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {
            "schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "job", "image": "mysql:8", "env": [
                    {"name": "MYSQL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-api", "key": "token"}}}]}]}}}}}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "grafana/grafana:10", "env": [
                    {"name": "GF_SECURITY_ADMIN_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": "shop-api", "key": "token"}}}]}]}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "oneoff"}, "spec": {"containers": [{
            "name": "c", "image": "busybox", "env": [
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-api", "key": "token"}}}]}]}},
    )
    return kube


def _apps(kube):
    from kubernetes import client

    return client.AppsV1Api(kube.api_client()), client.CoreV1Api(kube.api_client())


def client_batch(kube):
    from kubernetes import client

    return client.BatchV1Api(kube.api_client())


def _migrate(kube, *args):
    return run_cli(["migrate", "env-to-files", "--cluster", "-n", kube.namespace, *args],
                   env={"KUBECONFIG": str(kube.kubeconfig)})


def test_plan_and_server_dry_run_change_nothing(seeded):
    apps, _ = _apps(seeded)
    before = apps.read_namespaced_deployment("web", seeded.namespace).metadata.resource_version
    res = _migrate(seeded)
    assert res.code == 0, res.output
    assert "- name: DB_PASSWORD_FILE" in res.stdout and LITERAL not in res.output
    assert "would migrate (--apply to change)" in res.stderr
    assert "+++ b/cluster/Secret/" in res.stdout and '+  DB_PASSWORD: "<redacted>"' in res.stdout
    assert "Pod/" in res.stderr and "report only" in res.stderr
    res = _migrate(seeded, "--dry-run=server")
    assert res.code == 0, res.output
    assert "validated by the API server (dry run)" in res.stderr and LITERAL not in res.output
    assert apps.read_namespaced_deployment("web", seeded.namespace).metadata.resource_version == before
    _, core = _apps(seeded)
    assert "web-env-secrets" not in [s.metadata.name for s in core.list_namespaced_secret(seeded.namespace).items]
    if seeded.emulator is not None:
        assert any("dryRun=All" in path for method, path in seeded.emulator.state.requests if method == "PUT")


def test_apply_then_rollback_round_trip(seeded, tmp_path):
    apps, core = _apps(seeded)
    ns = seeded.namespace
    original = apps.read_namespaced_deployment("web", ns).spec.template.spec.to_dict()
    original_sts = apps.read_namespaced_stateful_set("mail", ns).spec.template.spec.to_dict()
    rb = tmp_path / "rollback.json"
    res = _migrate(seeded, "--apply", "--rollback-file", str(rb))
    assert res.code == 0, res.output
    assert res.stderr.count("migrated (rollout complete)") == 3 and LITERAL not in res.output
    assert "CronJob/" in res.stderr and "migrated (its next run uses the files)" in res.stderr
    cron = client_batch(seeded).read_namespaced_cron_job("nightly", ns).spec.job_template.spec.template.spec
    assert cron.containers[0].env[0].name == "MYSQL_PASSWORD_FILE"
    agent = apps.read_namespaced_daemon_set("agent", ns).spec.template.spec.containers[0]
    assert agent.env[0].name == "GF_SECURITY_ADMIN_PASSWORD__FILE"
    # the workload reads files now
    spec = apps.read_namespaced_deployment("web", ns).spec.template.spec
    env = {e.name: e.value for e in spec.containers[0].env}
    assert env == {"LOG_LEVEL": "info", "DB_PASSWORD_FILE": "/var/run/secrets/web-env-secrets/DB_PASSWORD",
                   "API_TOKEN_FILE": "/var/run/secrets/shop-api/token"}
    assert spec.security_context.fs_group == 999
    vols = {v.name: v.secret for v in spec.volumes}
    assert vols["sk-web-env-secrets"].default_mode == 0o440
    assert all(m.read_only and not m.sub_path for m in spec.containers[0].volume_mounts)
    created = core.read_namespaced_secret("web-env-secrets", ns)
    assert base64.b64decode(created.data["DB_PASSWORD"]).decode() == LITERAL
    mailer = apps.read_namespaced_stateful_set("mail", ns).spec.template.spec.containers[0]
    assert not mailer.env_from and {e.name for e in mailer.env} == {"SMTP_PASSWORD_FILE", "WEBHOOK_KEY_FILE"}
    # the rollback file: private, no value
    assert stat.S_IMODE(rb.stat().st_mode) == 0o600
    text = rb.read_text()
    assert LITERAL not in text and "t0ken-value-9" not in text
    assert len(json.loads(text)["workloads"]) == 4
    # a live scan finds no env-var secret in the migrated workloads
    scan = run_cli(["scan", "--cluster", "-n", ns, "--format", "json", "--no-progress"],
                   env={"KUBECONFIG": str(seeded.kubeconfig)})
    left = [f["location"]["object"] for f in json.loads(scan.stdout)["findings"]
            if f["rule_id"].startswith("k8s-env-secret-")]
    assert left and all(ref.startswith("Pod/") for ref in left)  # only the Pod, which is report-only
    # a second run has nothing to do
    again = _migrate(seeded, "--apply", "--rollback-file", str(tmp_path / "second.json"))
    assert again.code == 0 and "nothing to migrate" in again.stderr
    assert not (tmp_path / "second.json").exists()
    # rollback restores both workloads, the literal value included, and deletes the created Secret
    undo = run_cli(["migrate", "rollback", str(rb)], env={"KUBECONFIG": str(seeded.kubeconfig)})
    assert undo.code == 0, undo.output
    assert LITERAL not in undo.output
    assert apps.read_namespaced_deployment("web", ns).spec.template.spec.to_dict() == original
    assert apps.read_namespaced_stateful_set("mail", ns).spec.template.spec.to_dict() == original_sts
    cron = client_batch(seeded).read_namespaced_cron_job("nightly", ns).spec.job_template.spec.template.spec
    assert cron.containers[0].env[0].name == "MYSQL_PASSWORD"
    assert "web-env-secrets" not in [s.metadata.name for s in core.list_namespaced_secret(ns).items]
    assert json.loads(rb.read_text())["workloads"] == []


def test_rollback_leaves_a_workload_changed_since_alone(seeded, tmp_path):
    apps, _ = _apps(seeded)
    ns = seeded.namespace
    rb = tmp_path / "rb.json"
    assert _migrate(seeded, "--apply", "--rollback-file", str(rb)).code == 0
    apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "postgres:17"}]}}}})
    undo = run_cli(["migrate", "rollback", str(rb)], env={"KUBECONFIG": str(seeded.kubeconfig)})
    assert undo.code == 1 and "changed since the migration" in undo.stdout
    assert len(json.loads(rb.read_text())["workloads"]) == 1  # what was not undone stays in the file


def test_a_rollout_that_fails_stops_the_run(seeded, tmp_path):
    if seeded.emulator is None:
        pytest.skip("needs the emulator to break a rollout")
    seeded.emulator.break_rollout("deployments", seeded.namespace, "web")
    rb = tmp_path / "rb.json"
    res = _migrate(seeded, "--apply", "--rollback-file", str(rb), "--timeout", "5")
    assert res.code == 1, res.output
    assert "applied, but its rollout failed: stopped here" in res.stderr
    assert "not applied: an earlier rollout failed" in res.stderr
    assert [w["name"] for w in json.loads(rb.read_text())["workloads"]] == ["web"]


def test_store_gets_the_literals_and_the_secret_is_still_created(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETKEEPER_LOCAL_KEY", base64.b64encode(b"k" * 32).decode())
    cfg = tmp_path / "secretkeeper.yaml"
    cfg.write_text(f"stores:\n  local: {{type: local, path: {tmp_path}/store}}\n")
    res = _migrate(seeded, "--apply", "--rollback-file", str(tmp_path / "rb.json"), "--store", "local",
                   "--config", str(cfg), "--format", "json")
    assert res.code == 0, res.output
    web = next(w for w in json.loads(res.stdout)["workloads"] if w["object"].startswith("Deployment/"))
    assert any("issuer: {type: static}" in note for note in web["notes"]) and LITERAL not in res.output
    from providers.stores import open_store
    from secretkeeper.config import load_config

    stored = open_store("local", load_config(cfg).stores["local"]).read(f"{seeded.namespace}/web-env-secrets")
    assert stored.data == {"DB_PASSWORD": LITERAL.encode()}
    _, core = _apps(seeded)
    assert core.read_namespaced_secret("web-env-secrets", seeded.namespace).data  # the rollout needs it now
