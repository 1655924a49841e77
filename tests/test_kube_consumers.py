"""Which Secrets a pod template reads, re-pointing it, and the `restart: gitops` splice of a manifest."""

from __future__ import annotations

import pytest

from secretkeeper.kube.consumers import WorkloadRef, references, repoint
from secretkeeper.kube.gitops import find_manifest, write_annotations
from secretkeeper.kube.sync.target import SyncError


def template() -> dict:
    return {"spec": {
        "volumes": [{"name": "a", "secret": {"secretName": "vol"}},
                    {"name": "b", "projected": {"sources": [{"secret": {"name": "proj"}}, {"configMap": {"name": "cm"}}]}},
                    {"name": "c", "configMap": {"name": "not-a-secret"}}],
        "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "init-from"}}]}],
        "containers": [{"name": "app", "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "env", "key": "k"}}},
                                               {"name": "Y", "value": "plain"}],
                        "envFrom": [{"secretRef": {"name": "from"}}, {"configMapRef": {"name": "cm"}}]}]}}


def test_every_way_a_pod_template_reads_a_secret():
    assert references(template()) == {"vol", "proj", "init-from", "env", "from"}
    assert references({}) == set() and references({"spec": {"volumes": None, "containers": [None]}}) == set()


def test_repoint_moves_every_reference_it_matches():
    t = template()
    assert repoint(t, lambda name: name in ("vol", "env"), "db-0123456789")
    assert references(t) == {"db-0123456789", "proj", "init-from", "from"}
    assert not repoint(t, lambda name: name == "absent", "x")


def test_workload_refs_parse_kinds_case_insensitively():
    assert WorkloadRef.parse("deployment/shop/web") == WorkloadRef("Deployment", "shop", "web")
    assert WorkloadRef.parse("StatefulSet/shop/db").path == "/apis/apps/v1/namespaces/shop/statefulsets/db"
    with pytest.raises(ValueError, match="Deployment, StatefulSet, DaemonSet"):
        WorkloadRef.parse("CronJob/shop/nightly")


MANIFEST = """\
# the web frontend
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web   # keep this comment
{annotations}    spec:
      containers:
        - name: app
          image: registry.invalid/app:1
"""


@pytest.mark.parametrize("annotations", ["", "      annotations:\n        team: shop\n",
                                         "      annotations:\n        secretkeeper.io/secrets-sha256: \"old\"\n"])
def test_gitops_splice_changes_only_the_annotation_lines(tmp_path, annotations):
    (tmp_path / "apps").mkdir()
    path = tmp_path / "apps" / "web.yaml"
    before = MANIFEST.replace("{annotations}", annotations)
    path.write_text(before)
    ref = WorkloadRef("Deployment", "shop", "web")
    assert find_manifest(tmp_path, ref) == path
    assert find_manifest(tmp_path, WorkloadRef("Deployment", "other", "web")) is None
    assert write_annotations(path, ref, {"secretkeeper.io/secrets-sha256": "abc"})
    after = path.read_text()
    old, new = before.splitlines(), after.splitlines()
    kept = [line for line in new if line in old]
    assert kept == [line for line in old if "secrets-sha256" not in line]  # every other line as it was
    assert '        secretkeeper.io/secrets-sha256: "abc"' in new
    from ruamel.yaml import YAML

    doc = list(YAML(typ="safe").load_all(after))[1]
    assert doc["spec"]["template"]["metadata"]["annotations"]["secretkeeper.io/secrets-sha256"] == "abc"
    assert doc["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert not write_annotations(path, ref, {"secretkeeper.io/secrets-sha256": "abc"})  # already there


def test_gitops_splice_refuses_flow_style_it_cannot_edit_line_by_line(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                    "spec:\n  template:\n    metadata: {labels: {app: web}}\n")
    with pytest.raises(SyncError, match="flow style"):
        write_annotations(path, WorkloadRef("Deployment", "shop", "web"), {"k": "v"})
