"""The `kubernetes` sync target and consumer restarts against the Kubernetes API emulator with simulated
rollouts (pods per template, a rollout that takes time, old pods that terminate), through the real
kubernetes client's connection: create/update, adopt/refuse, conflict retry, Secret types, immutable
Secrets, restart batching, rollout wait, retire after drain, `restart: gitops` and `never`, `sync`."""

from __future__ import annotations

import base64
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secretkeeper.config import load_config
from secretkeeper.kube.sync import SyncError, kubernetes as kube_target
from secretkeeper.rotation.audit import Audit
from secretkeeper.rotation.consumers import rotate_and_restart
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring
from tests.emulators.kube import KubeEmulator
from tests.rotation.memstore import MemoryStore

pytestmark = pytest.mark.integration

ANN = "secretkeeper.io/secrets-sha256"


@pytest.fixture(scope="module")
def emulator():
    with KubeEmulator(tls=True) as emu:
        emu.simulate_rollouts(delay=0.2, grace=0.3)
        yield emu


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    from secretkeeper.kube import restarts
    from secretkeeper.rotation import consumers

    monkeypatch.setattr(restarts, "POLL", 0.05)
    monkeypatch.setattr(consumers, "POLL", 0.05)


@pytest.fixture
def ns(emulator, tmp_path, monkeypatch):
    name = f"sync-{uuid.uuid4().hex[:8]}"
    emulator.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    monkeypatch.setenv("KUBECONFIG", str(emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=name)))
    kube_target._connections.clear()  # one connection per context per run: a new kubeconfig per test
    yield name
    for conn in kube_target._connections.values():
        conn.close()
    kube_target._connections.clear()


def deployment(ns: str, name: str, *, env_from: str | None = None, volume: str | None = None,
               grace: int = 0, annotations: dict | None = None) -> dict:
    spec: dict = {"terminationGracePeriodSeconds": grace,
                  "containers": [{"name": "app", "image": "registry.invalid/app:1"}]}
    if env_from:
        spec["containers"][0]["envFrom"] = [{"secretRef": {"name": env_from}}]
    if volume:
        spec["volumes"] = [{"name": "creds", "secret": {"secretName": volume}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def config(tmp_path: Path, ns: str, *secrets: tuple[str, str]) -> Path:
    """secrets: (name, extra kubernetes options as flow YAML)."""
    lines = ["stores:", "  local: {type: local, path: .secretkeeper/store}", "secrets:"]
    for name, extra in secrets:
        lines += [f"  - name: {name}", "    store: local", f"    path: apps/{name}", "    keys: [password]",
                  "    issuer: {type: random, length: 24}", "    sync:",
                  f"      - kubernetes: {{namespace: {ns}{', ' + extra if extra else ''}}}"]
    path = tmp_path / "secretkeeper.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Run:
    """Rotations in this process, on a MemoryStore, the progress lines kept."""

    def __init__(self, path: Path) -> None:
        self.wiring = Wiring(load_config(path), stores={"local": MemoryStore()})
        self.lines: list[str] = []

    def rotate(self, force: bool = False):
        trail = Trail(Audit(None, False), progress=self)
        secrets = self.wiring.select([])
        return rotate_and_restart(self.wiring, trail, secrets, force=force, now=datetime.now(UTC))

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass


def secret_data(emulator, ns, name):
    obj = emulator.get("secrets", name, ns)
    return obj and {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def puts(emulator, ns, plural, name):
    """The writes (update or patch) of one object."""
    return [p for m, p in emulator.state.requests if m in ("PUT", "PATCH") and p.split("?")[0].endswith(f"/{plural}/{name}")
            and f"/namespaces/{ns}/" in p]


# -- the Secret ------------------------------------------------------------------------------------------------
def test_creates_then_updates_an_owned_secret_and_annotates_without_values(emulator, ns, tmp_path):
    run = Run(config(tmp_path, ns, ("app-db", "secret: db-creds")))
    (first,) = run.rotate()
    assert first.outcome.value == "rotated", first.message
    obj = emulator.get("secrets", "db-creds", ns)
    value = secret_data(emulator, ns, "db-creds")["password"]
    assert obj["type"] == "Opaque" and obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "secretkeeper"
    notes = obj["metadata"]["annotations"]
    assert notes["secretkeeper.io/store"] == "local" and notes["secretkeeper.io/path"] == "apps/app-db"
    assert len(notes["secretkeeper.io/content-sha256"]) == 64
    assert value not in json.dumps(notes).encode() and value.decode() not in "\n".join(run.lines)
    (second,) = run.rotate(force=True)
    assert second.outcome.value == "rotated", second.message
    again = emulator.get("secrets", "db-creds", ns)
    assert secret_data(emulator, ns, "db-creds")["password"] != value
    assert again["metadata"]["uid"] == obj["metadata"]["uid"]  # updated in place, not recreated
    assert again["metadata"]["annotations"]["secretkeeper.io/version"] != notes["secretkeeper.io/version"]


def test_refuses_a_secret_it_does_not_own_unless_adopt(emulator, ns, tmp_path):
    emulator.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-db", "namespace": ns},
                   "data": {"password": base64.b64encode(b"hand-made").decode()}})
    run = Run(config(tmp_path, ns, ("app-db", "")))
    (result,) = run.rotate()
    assert result.outcome.value == "rolled_back"
    assert "not managed by secretkeeper" in result.message and "adopt: true" in result.message
    assert secret_data(emulator, ns, "app-db") == {"password": b"hand-made"}
    run = Run(config(tmp_path, ns, ("app-db", "adopt: true")))
    (result,) = run.rotate()
    assert result.outcome.value == "rotated", result.message
    obj = emulator.get("secrets", "app-db", ns)
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "secretkeeper"
    assert secret_data(emulator, ns, "app-db")["password"] != b"hand-made"


def test_a_conflicting_writer_between_read_and_update_is_retried(emulator, ns, tmp_path, monkeypatch):
    run = Run(config(tmp_path, ns, ("app-db", "")))
    run.rotate()
    real_get = kube_target.KubernetesSecret._get
    raced = []

    def racing_get(self, name):
        found = real_get(self, name)
        if found is not None and not raced:  # another writer updates it right after our read
            raced.append(True)
            other = emulator.get("secrets", name, ns)
            other["metadata"].setdefault("labels", {})["team"] = "shop"
            emulator.seed(other)
        return found

    monkeypatch.setattr(kube_target.KubernetesSecret, "_get", racing_get)
    before = len(puts(emulator, ns, "secrets", "app-db"))
    (result,) = run.rotate(force=True)
    assert result.outcome.value == "rotated", result.message
    assert raced and len(puts(emulator, ns, "secrets", "app-db")) - before == 2  # 409, then the retry
    obj = emulator.get("secrets", "app-db", ns)
    assert obj["metadata"]["labels"]["team"] == "shop"  # the other writer's change is kept
    assert obj["metadata"]["annotations"]["secretkeeper.io/version"] == run.wiring.current("app-db").version


def test_tls_and_dockerconfigjson_secrets_get_the_keys_their_type_needs(emulator, ns, tmp_path):
    from providers.base import SecretVersion
    from secretkeeper.config.secrets import KubernetesTarget, RandomIssuer, SecretConfig, SyncTarget
    from secretkeeper.kube.sync import targets_for

    def write(kind, data):
        cfg = SecretConfig(name="reg", store="local", path="apps/reg", issuer=RandomIssuer("random"),
                           sync=[SyncTarget(kubernetes=KubernetesTarget(namespace=ns, secret=kind.split("/")[-1],
                                                                        type=kind))])
        (target,) = targets_for(cfg, "local", tmp_path)
        target.write(SecretVersion("1", data, datetime.now(UTC)))
        return target

    write("kubernetes.io/tls", {"cert": b"CERT", "key": b"KEY"})
    assert secret_data(emulator, ns, "tls") == {"tls.crt": b"CERT", "tls.key": b"KEY"}
    assert emulator.get("secrets", "tls", ns)["type"] == "kubernetes.io/tls"
    planted = b"pw-" + b"Zq8-planted"  # synthetic
    write("kubernetes.io/dockerconfigjson", {"registry": b"registry.example", "username": b"ci",
                                             "password": planted})
    auths = json.loads(secret_data(emulator, ns, "dockerconfigjson")[".dockerconfigjson"])["auths"]
    assert auths["registry.example"]["auth"] == base64.b64encode(b"ci:" + planted).decode()
    with pytest.raises(SyncError, match=r"needs tls\.key") as err:
        write("kubernetes.io/tls", {"cert": b"CERT", "password": planted})
    assert "pw-Zq8" not in str(err.value)



def test_keys_puts_only_those_keys_in_the_live_secret_before_its_type_shapes_them(emulator, ns, tmp_path):
    from providers.base import SecretVersion
    from secretkeeper.config.secrets import KubernetesTarget, RandomIssuer, SecretConfig, SyncTarget
    from secretkeeper.kube.sync import targets_for

    def target(name, **options):
        cfg = SecretConfig(name=name, store="local", path="apps/ca", issuer=RandomIssuer("random"),
                           sync=[SyncTarget(kubernetes=KubernetesTarget(namespace=ns, **options))])
        (only,) = targets_for(cfg, "local", tmp_path)
        return only

    data = {"cert": b"CERT", "key": b"KEY", "ca-bundle.crt": b"BUNDLE"}
    target("trust", keys=["ca-bundle.crt"]).write(SecretVersion("1", data, datetime.now(UTC)))
    assert secret_data(emulator, ns, "trust") == {"ca-bundle.crt": b"BUNDLE"}  # the key stays in the store
    target("serving", keys=["cert", "key"], type="kubernetes.io/tls").write(
        SecretVersion("1", data, datetime.now(UTC)))
    assert secret_data(emulator, ns, "serving") == {"tls.crt": b"CERT", "tls.key": b"KEY"}
    with pytest.raises(SyncError, match=r"keys: version 2 holds no password$"):
        target("trust", keys=["password"]).write(SecretVersion("2", data, datetime.now(UTC)))
    assert secret_data(emulator, ns, "trust") == {"ca-bundle.crt": b"BUNDLE"}

# -- consumers -------------------------------------------------------------------------------------------------
def test_two_secrets_changed_roll_their_consumer_once_and_retire_after_the_old_pods_are_gone(emulator, ns, tmp_path,
                                                                                            monkeypatch):
    emulator.seed(deployment(ns, "web", env_from="app-db", volume="app-api", grace=1))
    emulator.seed(deployment(ns, "other", env_from="unrelated"))
    run = Run(config(tmp_path, ns, ("app-db", ""), ("app-api", "")))
    assert [r.outcome.value for r in run.rotate()] == ["rotated", "rotated"]  # bootstrap: nothing to retire
    assert len(puts(emulator, ns, "deployments", "web")) == 1  # both Secrets created: one roll
    assert not puts(emulator, ns, "deployments", "other")

    retired = []

    def watch_retire(subject):
        real = subject.issuer.retire

        def retire(old):
            pods = [p for p in emulator.list("pods", ns) if p["metadata"]["name"].startswith("web-")]
            template = emulator.get("deployments", "web", ns)["spec"]["template"]["metadata"]["annotations"]
            retired.append((subject.name, {p["metadata"].get("annotations", {}).get(ANN) for p in pods},
                            template[ANN], template["secretkeeper.io/restarted-at"]))
            real(old)

        monkeypatch.setattr(subject.issuer, "retire", retire)

    for name in ("app-db", "app-api"):
        watch_retire(run.wiring.subject(name))
    started = datetime.now(UTC)
    run.lines.clear()
    results = run.rotate(force=True)
    assert [r.outcome.value for r in results] == ["rotated", "rotated"], [r.message for r in results]
    assert len(puts(emulator, ns, "deployments", "web")) == 2  # two secrets changed: one more roll
    assert len([rs for rs in emulator.list("replicasets", ns) if rs["metadata"]["name"].startswith("web-")]) == 3
    assert sorted(name for name, *_ in retired) == ["app-api", "app-db"]
    for _, pod_hashes, want, at in retired:
        assert pod_hashes == {want}  # no pod of the old template left when the old credential went
        assert (datetime.now(UTC) - datetime.fromisoformat(at)).total_seconds() >= 1  # its grace passed
    assert (datetime.now(UTC) - started).total_seconds() >= 1
    rolled = [i for i, line in enumerate(run.lines) if line.endswith(f"restart: Deployment/{ns}/web: rolled "
                                                                     "(rollout complete)")]
    retired = [i for i, line in enumerate(run.lines) if line.split(": ")[1:2] == ["retired"]]
    assert len(rolled) == 2 and len(retired) == 2 and max(rolled) < min(retired), run.lines  # one record per secret
    assert sum(line.endswith(f"restart: {'Deployment/' + ns + '/web'}: rolling") for line in run.lines) == 1


def test_a_failed_rollout_keeps_the_old_credential(emulator, ns, tmp_path):
    emulator.seed(deployment(ns, "web", env_from="app-db"))
    run = Run(config(tmp_path, ns, ("app-db", "")))
    run.rotate()
    emulator.break_rollout("deployments", ns, "web")
    try:
        (result,) = run.rotate(force=True)
    finally:
        emulator.break_rollout("deployments", ns, "web", broken=False)
    assert result.outcome.value == "rotated" and "retired once its consumers moved off it" in result.message
    assert any("rollout failed: progress deadline exceeded" in line for line in run.lines)
    assert not any(": retired" in line for line in run.lines)
    assert run.wiring.store("local").journal("apps/app-db").read() is not None  # parked for the next run


def test_restart_never_leaves_workloads_alone_and_min_interval_holds_a_second_restart(emulator, ns, tmp_path):
    emulator.seed(deployment(ns, "calm", env_from="quiet"))
    emulator.seed(deployment(ns, "busy", env_from="app-db",
                             annotations={"secretkeeper.io/restart-min-interval": "1h"}))
    run = Run(config(tmp_path, ns, ("quiet", "restart: never"), ("app-db", "")))
    run.rotate()
    assert not puts(emulator, ns, "deployments", "calm")
    assert len(puts(emulator, ns, "deployments", "busy")) == 1
    results = run.rotate(force=True)
    assert len(puts(emulator, ns, "deployments", "busy")) == 1  # held: restarted less than 1h ago
    assert any("minimum interval 1h" in line for line in run.lines)
    by_name = {r.secret: r for r in results}
    assert "retired once its consumers moved off it" in by_name["app-db"].message
    assert ": retired" in "\n".join(line for line in run.lines if line.startswith("quiet"))


def test_immutable_secrets_get_versioned_names_and_consumers_are_repointed(emulator, ns, tmp_path):
    emulator.seed(deployment(ns, "web", volume="app-db"))
    run = Run(config(tmp_path, ns, ("app-db", "immutable: true")))
    run.rotate()
    names = lambda: sorted(s["metadata"]["name"] for s in emulator.list("secrets", ns)  # noqa: E731
                           if s["metadata"]["name"].startswith("app-db-"))
    (first,) = names()
    assert emulator.get("secrets", first, ns)["immutable"] is True
    volume = lambda: emulator.get("deployments", "web", ns)["spec"]["template"]["spec"]["volumes"][0]  # noqa: E731
    assert volume()["secret"]["secretName"] == first
    run.rotate(force=True)
    run.rotate(force=True)
    kept = names()
    assert len(kept) == 2 and first not in kept  # the current one and the one before it
    current = emulator.get("deployments", "web", ns)["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"]
    newest = max(kept, key=lambda n: int(emulator.get("secrets", n, ns)["metadata"]["resourceVersion"]))
    assert current == newest


def test_gitops_writes_the_hash_into_the_manifest_and_leaves_the_live_object(emulator, ns, tmp_path):
    emulator.seed(deployment(ns, "web", env_from="app-db"))
    manifests = tmp_path / "gitops"
    manifests.mkdir()
    text = (f"# the shop's web frontend\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
            f"  namespace: {ns}\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n"
            "        app: web  # keep me\n    spec:\n      containers:\n        - name: app\n"
            "          image: registry.invalid/app:1\n")
    (manifests / "web.yaml").write_text(text)
    run = Run(config(tmp_path, ns, ("app-db", "restart: gitops")))
    run.rotate()
    assert not puts(emulator, ns, "deployments", "web")
    written = (manifests / "web.yaml").read_text()
    added = [line for line in written.splitlines() if line not in text.splitlines()]
    assert [line.split(":")[0].strip() for line in added] == ["annotations", ANN, "secretkeeper.io/restarted-at"]
    assert [line for line in written.splitlines() if line not in added] == text.splitlines()
    hash_line = next(line for line in added if ANN in line)
    (parked,) = run.rotate(force=True)  # a new content: the same lines, new values
    again = (manifests / "web.yaml").read_text()
    assert len(again.splitlines()) == len(written.splitlines()) and hash_line not in again
    assert "retired once its consumers moved off it" in parked.message  # the old credential waits for GitOps
    assert len(puts(emulator, ns, "deployments", "web")) == 0
    # The GitOps controller applies the commit; the next scheduled run sees the old pods gone and retires.
    from ruamel.yaml import YAML

    live = emulator.get("deployments", "web", ns)
    applied = YAML(typ="safe").load(again)["spec"]["template"]["metadata"]["annotations"]
    live["spec"]["template"]["metadata"]["annotations"] = applied
    emulator.seed(live)
    (finished,) = run.rotate()
    assert finished.outcome.value == "rotated" and "->" in finished.message, run.lines
    assert any(line.startswith("app-db: retired") for line in run.lines)
    assert run.wiring.store("local").journal("apps/app-db").read() is None


def test_sync_command_pushes_the_current_version_without_rotating(emulator, ns, tmp_path):
    import os
    import subprocess

    emulator.seed(deployment(ns, "web", env_from="app-db"))
    cfg = config(tmp_path, ns, ("app-db", ""))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "tests.rotation.memcli"]
    first = subprocess.run([*cmd, "rotate", "--due", "--config", str(cfg)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    version = emulator.get("secrets", "app-db", ns)["metadata"]["annotations"]["secretkeeper.io/version"]
    value = secret_data(emulator, ns, "app-db")["password"]
    emulator.state.table(emulator_resource("secrets")).pop((ns, "app-db"))  # deleted by hand
    synced = subprocess.run([*cmd, "sync", "--config", str(cfg)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert synced.returncode == 0, synced.stderr
    assert "app-db: synced: version" in synced.stderr and value.decode() not in synced.stderr + synced.stdout
    assert secret_data(emulator, ns, "app-db")["password"] == value  # the same version, not a new one
    assert emulator.get("secrets", "app-db", ns)["metadata"]["annotations"]["secretkeeper.io/version"] == version
    quiet = subprocess.run([*cmd, "sync", "app-db", "--config", str(cfg)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and "restart:" not in quiet.stderr  # nothing changed: nothing rolled
    bad = subprocess.run([*cmd, "sync", "nope", "--config", str(cfg)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no managed secret named 'nope'" in bad.stderr


def emulator_resource(plural):
    from tests.emulators.kube import _resource_by_name

    return _resource_by_name(plural)


def test_the_rendered_rbac_is_enough_for_a_rotation_and_reads_no_other_secret(emulator, ns, tmp_path, monkeypatch):
    from secretkeeper.kube.client import connect
    from secretkeeper.kube.deploy import render

    job_ns = f"{ns}-job"
    path = config(tmp_path, ns, ("app-db", ""))
    path.write_text(path.read_text().replace("    sync:", f"    consumers: [Deployment/{ns}/web]\n    sync:", 1)
                    + f"deploy: {{namespace: {job_ns}}}\n")
    for obj in render(load_config(path)):
        if obj["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            emulator.seed(obj)
    token, _ = emulator.issue_token(job_ns, "secretkeeper")
    monkeypatch.setenv("KUBECONFIG", str(emulator.write_kubeconfig(tmp_path / "job-kubeconfig", token=token,
                                                                  namespace=job_ns)))
    kube_target._connections.clear()
    emulator.seed(deployment(ns, "web", env_from="app-db"))
    emulator.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": ns},
                   "data": {"k": base64.b64encode(b"not-yours").decode()}})
    run = Run(path)
    assert [r.outcome.value for r in run.rotate()] == ["rotated"], run.lines
    (result,) = run.rotate(force=True)
    assert result.outcome.value == "rotated" and "->" in result.message, run.lines
    assert any(": retired" in line for line in run.lines)  # rolled, drained and retired with the job's rights
    assert len(puts(emulator, ns, "deployments", "web")) == 2
    conn = connect()
    try:
        assert conn.get(kube_target.secrets_path(ns, "other"), {})[0] == 403
        assert conn.get(kube_target.secrets_path(ns), {})[0] == 403  # no listing of Secrets
    finally:
        conn.close()


def test_a_closed_maintenance_window_holds_the_restart_and_the_retire(emulator, ns, tmp_path):
    emulator.seed(deployment(ns, "web", env_from="app-db"))
    path = config(tmp_path, ns, ("app-db", ""))
    run = Run(path)
    run.rotate()
    assert len(puts(emulator, ns, "deployments", "web")) == 1
    now = datetime.now(UTC)
    start, end = now.replace(hour=(now.hour + 2) % 24, minute=0), now.replace(hour=(now.hour + 3) % 24, minute=0)
    path.write_text(path.read_text().replace(
        "    sync:", f"    rotate: {{every: 30d, window: {{start: '{start:%H:%M}', end: '{end:%H:%M}', timezone: UTC}}}}\n"
        "    sync:", 1))
    held = Run(path)
    held.wiring._stores["local"] = run.wiring.store("local")
    (result,) = held.rotate(force=True)
    assert result.outcome.value == "rotated" and "retired once its consumers moved off it" in result.message
    assert any("maintenance window of app-db is closed" in line for line in held.lines)
    assert len(puts(emulator, ns, "deployments", "web")) == 1  # not restarted outside the window
    from secretkeeper.rotation.sync import sync_secrets

    emulator.state.table(emulator_resource("secrets")).pop((ns, "app-db"))  # deleted by hand
    results, _ = sync_secrets(held.wiring, Trail(Audit(None, False), progress=held), held.wiring.select([]))
    assert [r.outcome.value for r in results] == ["skipped"] and "in progress" in results[0].message
    assert emulator.get("secrets", "app-db", ns) is None  # a parked rotation is `rotate`'s to finish


def test_statefulsets_and_daemonsets_roll_and_drain_too(emulator, ns, tmp_path):
    sts = deployment(ns, "db", grace=1)
    sts["kind"] = "StatefulSet"
    sts["spec"]["template"]["spec"]["volumes"] = [
        {"name": "creds", "projected": {"sources": [{"secret": {"name": "app-db"}}]}}]
    ds = deployment(ns, "agent")
    ds["kind"] = "DaemonSet"
    ds["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PASSWORD_FILE", "valueFrom": {"secretKeyRef": {"name": "app-db", "key": "password"}}}]
    emulator.seed(sts)
    emulator.seed(ds)
    run = Run(config(tmp_path, ns, ("app-db", "")))
    run.rotate()
    run.lines.clear()
    (result,) = run.rotate(force=True)
    assert result.outcome.value == "rotated" and "->" in result.message, run.lines
    for plural, name in (("statefulsets", "db"), ("daemonsets", "agent")):
        assert len(puts(emulator, ns, plural, name)) == 2  # once per run
        kind = "StatefulSet" if plural == "statefulsets" else "DaemonSet"
        assert f"app-db: restart: {kind}/{ns}/{name}: rolled (rollout complete)" in run.lines
        want = emulator.get(plural, name, ns)["spec"]["template"]["metadata"]["annotations"][ANN]
        pods = [p for p in emulator.list("pods", ns) if p["metadata"]["name"].startswith(f"{name}-")]
        assert pods and {p["metadata"]["annotations"][ANN] for p in pods} == {want}
    assert run.lines[-1].startswith("app-db: done")
