"""A k8s-token secret given a token by hand (`put`: a legacy token, one made elsewhere): such a token names
no holder Secret, so there is nothing for secretkeeper to revoke. When its `put` is rolled back (here:
no cluster to verify it against), the rollback finishes, and the next run starts clean instead of failing
to roll back forever."""

from __future__ import annotations

import json

from tests.rotation.conftest import ok

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
  - name: reports-token
    store: local
    path: kube/reports
    issuer: {type: k8s-token, namespace: reports, service_account: reports, audiences: [api]}
"""


def test_a_rolled_back_put_of_a_token_without_a_holder_finishes(make_project, tmp_path):
    project = make_project(CONFIG, kind="local")
    env = {"KUBECONFIG": str(tmp_path / "no-kubeconfig"), "KUBERNETES_SERVICE_HOST": ""}
    value = json.dumps({"token": "hand.made.token", "expires_at": "2030-01-01T00:00:00Z"}).encode()
    put = ok(project.run("put", "reports-token", env=env, input=value), 1)
    assert "rolled_back" in put.stderr + put.stdout and "incomplete" not in put.stderr + put.stdout
    status = ok(project.run("status", env=env))
    assert "rotation in progress" not in status.stdout, status.stdout
    assert project.value("reports-token") is None  # nothing was written
