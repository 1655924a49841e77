"""`secretkeeper migrate rollback FILE` with a file that is not what a migration wrote: one line naming
the file and the entry at fault, exit 2, before any cluster is contacted, the file left as it was."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

FORMAT = "secretkeeper-migrate-rollback/v1"
GOOD = {"resource": "deployments", "kind": "Deployment", "group_version": "apps/v1", "namespace": "shop",
        "name": "web", "pod_spec": {"containers": []}, "migrated_digest": "0" * 64, "created_secrets": []}


@pytest.mark.parametrize("workload, problem", [
    (5, "workload 1: not an object"),
    ({k: v for k, v in GOOD.items() if k != "name"}, "workload 1: no 'name'"),
    ({**GOOD, "kind": "Service"}, "workload 1: kind 'Service' is not a workload kind"),
    ({**GOOD, "pod_spec": "x"}, "workload 1: 'pod_spec' is not an object"),
    ({**GOOD, "created_secrets": "web-env-secrets"}, "workload 1: 'created_secrets' is not a list of names"),
])
def test_a_malformed_rollback_file_is_one_line_naming_the_entry(tmp_path, workload, problem):
    path = tmp_path / "rb.json"
    text = json.dumps({"format": FORMAT, "context": "c", "workloads": [workload]})
    path.write_text(text)
    for debug in ([], ["--debug"]):
        res = run_cli([*debug, "migrate", "rollback", str(path)],
                      env={"KUBECONFIG": str(tmp_path / "no-kubeconfig")})
        assert res.code == 2, res.output
        assert res.stderr.strip().splitlines()[-1] == f"secretkeeper: error: {path}: {problem}"
    assert path.read_text() == text
