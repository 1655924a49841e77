"""The cluster lock of a rotation (`lock: {kubernetes: ...}`): a coordination.k8s.io/v1 Lease per managed
secret, against the Kubernetes API emulator (or a real cluster when KUBECONFIG is set), read with the real
kubernetes client; rotations run as the `secretkeeper` command in other processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.rotation.conftest import Project, ok

pytestmark = pytest.mark.integration

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
lock:
  kubernetes: {namespace: NAMESPACE, context: CONTEXT, lease_duration: 30s}
secrets:
  - name: app-db
    store: local
    path: apps/db
    keys: [password]
    issuer: {type: random, length: 40}
    rotate: {every: 30d}
"""
LEASE = "secretkeeper-app-db"
OTHER = "rotator@elsewhere pid 4242"


@pytest.fixture
def project(kube, tmp_path):
    config = CONFIG.replace("NAMESPACE", kube.namespace).replace("CONTEXT", kube.context)
    return Project(tmp_path / "project", config, kind="memory")


def run(project, kube, *args, env=None):
    return project.run(*args, env={"KUBECONFIG": str(kube.kubeconfig), **(env or {})})


def leases(kube):
    from kubernetes import client as k8s

    api = kube.api_client()
    return api, k8s.CoordinationV1Api(api)


def read_lease(kube):
    api, coord = leases(kube)
    try:
        return coord.read_namespaced_lease(LEASE, kube.namespace)
    finally:
        api.close()


def seed_lease(kube, renewed: datetime) -> None:
    api, coord = leases(kube)
    try:
        coord.create_namespaced_lease(kube.namespace, {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": OTHER, "leaseDurationSeconds": 60, "acquireTime": renewed,
                     "renewTime": renewed, "leaseTransitions": 3}})
    finally:
        api.close()


def test_a_rotation_holds_its_secrets_lease_and_frees_it(project, kube):
    proc = ok(run(project, kube, "rotate", "app-db", "--force"))
    assert "app-db: rotated" in proc.stderr
    lease = read_lease(kube)
    assert lease.spec.holder_identity is None  # released on finish
    assert lease.spec.lease_duration_seconds == 30 and lease.spec.renew_time is not None
    assert lease.metadata.labels == {"app.kubernetes.io/managed-by": "secretkeeper"}
    ok(run(project, kube, "rotate", "app-db", "--force"))  # a free Lease is taken again at once
    assert project.store.status(["apps/db"])["apps/db"].current == "2"


def test_a_live_holder_makes_the_loser_exit_cleanly_naming_it(project, kube):
    seed_lease(kube, datetime.now(UTC))
    proc = ok(run(project, kube, "rotate", "app-db", "--force"))  # exit 0: nothing failed, nothing done
    assert f"app-db: held: held by {OTHER} (Kubernetes Lease {kube.namespace}/{LEASE}, until " in proc.stderr
    assert project.value("app-db") is None  # the store was never touched
    assert read_lease(kube).spec.holder_identity == OTHER


def test_an_expired_lease_is_taken_over_at_once(project, kube):
    seed_lease(kube, datetime.now(UTC) - timedelta(minutes=5))
    proc = ok(run(project, kube, "rotate", "--due"))  # bootstrap
    assert "app-db: rotated" in proc.stderr
    lease = read_lease(kube)
    assert lease.spec.holder_identity is None and lease.spec.lease_transitions == 4


def test_two_rotators_started_together_one_rotates_the_other_names_the_holder(project, kube):
    ok(run(project, kube, "rotate", "--due"))  # bootstrap: version 1
    env = {"KUBECONFIG": str(kube.kubeconfig), "MEMSTORE_DELAY": "0.2"}  # a rotation takes seconds
    runs = [project.popen("rotate", "app-db", "--force", env=env) for _ in range(2)]
    outputs = [(p.wait(timeout=120), p.stderr.read().decode(), p.pid) for p in runs]
    assert [code for code, _, _ in outputs] == [0, 0], outputs
    winners = [pid for _, err, pid in outputs if "app-db: rotated" in err]
    losers = [err for _, err, _ in outputs if "app-db: rotated" not in err]
    assert len(winners) == 1 and len(losers) == 1, outputs
    assert "app-db: held: held by " in losers[0] and f" pid {winners[0]} (Kubernetes Lease " in losers[0], losers
    assert project.store.status(["apps/db"])["apps/db"].current == "2"  # one rotation, not two
    assert read_lease(kube).spec.holder_identity is None


def test_a_cluster_that_cannot_be_reached_is_one_line_exit_2(tmp_path, kube):
    config = CONFIG.replace("NAMESPACE", kube.namespace).replace("CONTEXT", "no-such-context")
    project = Project(tmp_path / "elsewhere", config, kind="memory")
    proc = run(project, kube, "rotate", "app-db", "--force")
    assert proc.returncode == 2 and "no context named 'no-such-context'" in proc.stderr, proc.stderr
    assert project.value("app-db") is None


def test_the_api_guards_leases_as_the_lock_relies_on(kube):
    """What the Lease lock leans on, through the real client: a second create is 409 AlreadyExists, a
    replace under a stale resourceVersion is 409 Conflict, a non-positive duration is 422."""
    from kubernetes.client.exceptions import ApiException

    seed_lease(kube, datetime.now(UTC))
    api, coord = leases(kube)
    try:
        with pytest.raises(ApiException) as exists:
            coord.create_namespaced_lease(kube.namespace, {"metadata": {"name": LEASE}, "spec": {}})
        assert exists.value.status == 409
        first = coord.read_namespaced_lease(LEASE, kube.namespace)
        first.spec.holder_identity = "winner"
        coord.replace_namespaced_lease(LEASE, kube.namespace, first)
        first.spec.holder_identity = "late"  # still the resourceVersion read before the winner's write
        with pytest.raises(ApiException) as stale:
            coord.replace_namespaced_lease(LEASE, kube.namespace, first)
        assert stale.value.status == 409
        current = coord.read_namespaced_lease(LEASE, kube.namespace)
        assert current.spec.holder_identity == "winner"
        current.spec.lease_duration_seconds = 0
        with pytest.raises(ApiException) as invalid:
            coord.replace_namespaced_lease(LEASE, kube.namespace, current)
        assert invalid.value.status == 422
    finally:
        api.close()


def test_a_held_lease_is_renewed_and_a_lost_one_is_let_go(kube, monkeypatch):
    """In-process: the holder renews every third of the duration; once another rotator took the Lease
    (after it expired), the holder stops renewing and does not clear the new holder's Lease."""
    import time

    from secretkeeper.kube.client import connect
    from secretkeeper.kube.lease import Leases

    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    leases_ = Leases(connect(kube.context), kube.namespace, timedelta(seconds=6))
    with leases_.hold("app-db", "me@here pid 1"):
        first = read_lease(kube).spec.renew_time
        time.sleep(2.6)  # one renewal, at 2 s
        assert read_lease(kube).spec.renew_time > first
        api, coord = leases(kube)
        try:
            lease = coord.read_namespaced_lease(LEASE, kube.namespace)
            lease.spec.holder_identity = OTHER  # as if it had expired and been taken over
            coord.replace_namespaced_lease(LEASE, kube.namespace, lease)
        finally:
            api.close()
        time.sleep(2.2)  # the next renewal meets a 409 and stops
    assert read_lease(kube).spec.holder_identity == OTHER


def test_a_holder_of_this_host_whose_process_is_gone_is_taken_over_at_once(project, kube):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    api, coord = leases(kube)
    try:
        coord.create_namespaced_lease(kube.namespace, {"metadata": {"name": LEASE}, "spec": {
            "holderIdentity": f"someone@{socket.gethostname()} pid {dead}", "leaseDurationSeconds": 3600,
            "renewTime": datetime.now(UTC), "acquireTime": datetime.now(UTC)}})
    finally:
        api.close()
    proc = ok(run(project, kube, "rotate", "app-db", "--force"))
    assert "app-db: rotated" in proc.stderr
    assert read_lease(kube).spec.holder_identity is None
