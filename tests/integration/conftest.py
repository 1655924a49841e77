"""Fixtures for integration tests that talk to a Kubernetes API.

`kube` yields a KubeTarget: the in-memory API emulator (tests/emulators/kube.py) on 127.0.0.1, or, when
KUBECONFIG is set in the environment, the real cluster it points at. Either way each test gets a fresh,
uniquely named namespace that is deleted afterwards, and a kubeconfig file usable by kubectl and the
Python client. Emulator-only features (static tokens with restricted rules) are on `kube.emulator`,
which is None against a real cluster.

`vault_server` and `vault_mount` (tests/integration/vault_server.py): the OpenBao dev server, or the
Vault that VAULT_ADDR names, and a fresh KV version 2 mount per test. `pg_server`
(tests/integration/pg_server.py): a throwaway PostgreSQL cluster, one per session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.kube import KubeEmulator
from tests.integration.pg_server import pg_server  # noqa: F401  (fixture)

KUBECTL_TIMEOUT = 60


def need(reason: str) -> None:
    """Skip on a user's machine, fail in CI (CI must exercise every integration path)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@dataclass
class KubeTarget:
    kubeconfig: Path
    context: str
    namespace: str
    emulator: KubeEmulator | None  # None against a real cluster

    @property
    def real(self) -> bool:
        return self.emulator is None

    def api_client(self, context: str | None = None) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=context or self.context)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                context: str | None = None) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("kubectl")
        if exe is None:
            need("kubectl is not installed")
        cmd = [exe, "--kubeconfig", str(self.kubeconfig), "--context", context or self.context,
               "--request-timeout=20s", *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT,
                              env={**os.environ, "KUBECONFIG": str(self.kubeconfig)}, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def apply(self, *bodies: dict[str, Any]) -> None:
        """Create objects through the API (namespace defaults to the test namespace)."""
        from kubernetes import utils

        client = self.api_client()
        try:
            for body in bodies:
                meta = body.setdefault("metadata", {})
                if body.get("kind") not in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
                    meta.setdefault("namespace", self.namespace)
                utils.create_from_dict(client, body, namespace=meta.get("namespace"))
        finally:
            client.close()


@pytest.fixture(scope="session")
def kube_emulator() -> Iterator[KubeEmulator | None]:
    if os.environ.get("KUBECONFIG"):
        yield None
        return
    with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def kube(kube_emulator: KubeEmulator | None, tmp_path: Path) -> Iterator[KubeTarget]:
    namespace = f"sk-test-{uuid.uuid4().hex[:8]}"
    if kube_emulator is None:
        kubeconfig = Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=str(kubeconfig))
        target = KubeTarget(kubeconfig, active["name"], namespace, None)
    else:
        kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=namespace)
        target = KubeTarget(kubeconfig, "emulator", namespace, kube_emulator)
    from kubernetes import client as k8s

    api = target.api_client()
    try:
        k8s.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    finally:
        api.close()
    created: list[tuple[str, str]] = []
    target.created_cluster_objects = created  # type: ignore[attr-defined]
    try:
        yield target
    finally:
        api = target.api_client()
        try:
            core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
            core.delete_namespace(namespace)
            for kind, name in created:
                with contextlib.suppress(Exception):  # best-effort cleanup of cluster-scoped objects
                    if kind == "ClusterRole":
                        rbac.delete_cluster_role(name)
                    elif kind == "ClusterRoleBinding":
                        rbac.delete_cluster_role_binding(name)
        finally:
            api.close()
