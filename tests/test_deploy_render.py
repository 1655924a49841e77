"""`secretkeeper deploy render`: the CronJob and its least-privilege RBAC and NetworkPolicy, rendered from
the config, scan clean with the project's own scanner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

CONFIG = """\
stores:
  vault: {type: vault, address: "https://10.0.0.5:8200", auth: {method: kubernetes, role: secretkeeper}}
  aws: {type: aws-secrets-manager, region: eu-west-1}
secrets:
  - name: app-db
    store: vault
    path: shop/db
    issuer: {type: random, length: 32}
    rotate: {every: 30d}
    consumers: [Deployment/shop/web, StatefulSet/shop/worker]
    sync:
      - kubernetes: {namespace: shop, secret: app-db, type: Opaque, restart: rolling}
  - name: pay-key
    store: aws
    path: pay/key
    issuer: {type: random}
    sync:
      - kubernetes: {namespace: payments, restart: never}
deploy:
  image: "registry.invalid/secretkeeper@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  api_server: 10.96.0.1
"""


@pytest.fixture
def rendered(tmp_path, run_cli):
    cfg = tmp_path / "secretkeeper.yaml"
    cfg.write_text(CONFIG)
    out = run_cli(["deploy", "render", "--config", cfg])
    assert out.code == 0, out.stderr
    docs = list(YAML(typ="safe").load_all(out.stdout))
    return {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}, out.stdout


def test_the_cronjob_runs_rotate_due_hardened(rendered):
    objects, _ = rendered
    job = objects[("CronJob", "secretkeeper", "secretkeeper")]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][:2] == ["rotate", "--due"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert pod["serviceAccountName"] == "secretkeeper" and pod["automountServiceAccountToken"] is False
    assert objects[("ConfigMap", "secretkeeper", "secretkeeper-config")]["data"]["secretkeeper.yaml"] == CONFIG


def test_roles_grant_only_what_each_namespace_needs(rendered):
    objects, _ = rendered
    shop = objects[("Role", "shop", "secretkeeper")]["rules"]
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "update", "patch", "delete"],
            "resourceNames": ["app-db"]} in shop
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]} in shop
    assert {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"],
            "resourceNames": ["web"]} in shop
    assert {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get", "patch"],
            "resourceNames": ["worker"]} in shop
    payments = objects[("Role", "payments", "secretkeeper")]["rules"]
    assert not any(r["apiGroups"] == ["apps"] for r in payments)  # restart: never: no workload access
    assert not any("list" in r["verbs"] and "secrets" in r["resources"] for r in shop + payments)
    own = objects[("Role", "secretkeeper", "secretkeeper")]["rules"]
    assert all(r["resources"] == ["leases"] for r in own)
    for ns in ("shop", "payments", "secretkeeper"):
        binding = objects[("RoleBinding", ns, "secretkeeper")]
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "secretkeeper", "namespace": "secretkeeper"}]
    assert not any(kind.startswith("Cluster") for kind, _, _ in objects)


def test_egress_reaches_the_api_server_dns_and_the_stores_only(rendered):
    objects, _ = rendered
    policy = objects[("NetworkPolicy", "secretkeeper", "secretkeeper")]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["ingress"] == []
    targets = [((rule.get("to") or [{}])[0].get("ipBlock", {}).get("cidr"), [p["port"] for p in rule["ports"]])
               for rule in policy["egress"]]
    assert (None, [53, 53]) in targets and ("10.96.0.1/32", [443, 6443]) in targets
    assert ("10.0.0.5/32", [8200]) in targets and (None, [443]) in targets  # vault by address, AWS by port
    assert len(targets) == 4


def test_the_rendered_objects_scan_clean(rendered, tmp_path, run_cli):
    _, text = rendered
    out_dir = tmp_path / "rendered"
    cfg = tmp_path / "secretkeeper.yaml"
    written = run_cli(["deploy", "render", "--config", cfg, "-o", out_dir])
    assert written.code == 0 and len(list(out_dir.glob("*.yaml"))) == 11
    (tmp_path / "all.yaml").write_text(text)
    for target in (out_dir, tmp_path / "all.yaml"):
        scan = run_cli(["scan", target, "--no-history", "--format", "json", "--fail-on", "info"])
        assert scan.code == 0, scan.stdout
        report = json.loads(scan.stdout)
        assert report["findings"] == [] and report["summary"]["objects"] == 11, report["summary"]


def test_a_bad_deploy_section_is_one_line_naming_the_key(tmp_path, run_cli):
    cfg = tmp_path / "secretkeeper.yaml"
    cfg.write_text(CONFIG.replace("api_server: 10.96.0.1", "api_servr: 10.96.0.1"))
    out = run_cli(["deploy", "render", "--config", cfg])
    assert out.code == 2 and "deploy.api_servr: unknown key" in out.stderr and out.stderr.count("\n") == 1
    missing = run_cli(["deploy", "render", "--config", Path(tmp_path / "nope.yaml")])
    assert missing.code == 2
