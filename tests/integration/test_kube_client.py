"""The Kubernetes API client on its own, against the API emulator (or a real cluster when KUBECONFIG is
set): connection and context, listing page by page, a forbidden resource as a warning, a resource the
server does not serve."""

from __future__ import annotations

import pytest

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube import client
from secretkeeper.kube.client import Resource, connect, list_objects, list_visible

pytestmark = pytest.mark.integration

CONFIGMAPS = Resource("configmaps", "ConfigMap", "v1")
SECRETS = Resource("secrets", "Secret", "v1")


def test_connect_uses_the_context_and_lists_page_by_page(kube, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    monkeypatch.setattr(client, "PAGE_SIZE", 3)
    kube.apply(*({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}
                 for i in range(7)))
    with connect(kube.context) as conn:
        assert conn.context == kube.context and conn.server.startswith("https://")
        listed = list(list_objects(conn, CONFIGMAPS, kube.namespace))
    names = sorted(o["metadata"]["name"] for o in listed)
    assert [n for n in names if n.startswith("cm-")] == [f"cm-{i}" for i in range(7)]
    assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in listed)  # filled in on list items
    if kube.emulator is not None:
        pages = [p for m, p in kube.emulator.state.requests
                 if m == "GET" and f"/namespaces/{kube.namespace}/configmaps" in p]
        assert all("limit=3" in p for p in pages) and sum("continue=" in p for p in pages) >= 2


def test_forbidden_resource_is_invisible_with_one_warning(kube, monkeypatch, tmp_path):
    if kube.emulator is None:
        pytest.skip("needs an emulator token with restricted rules")
    token = kube.emulator.add_token("configmaps-only", rules=[("list", "configmaps")])
    path = kube.emulator.write_kubeconfig(tmp_path / "restricted.kubeconfig", token=token, namespace=kube.namespace)
    monkeypatch.setenv("KUBECONFIG", str(path))
    warnings: list[str] = []
    with connect() as conn:
        assert conn.namespace == kube.namespace  # the context's namespace
        assert list(list_visible(conn, SECRETS, conn.namespace, warnings)) == []
        assert list(list_visible(conn, SECRETS, None, warnings)) == []
        list(list_visible(conn, CONFIGMAPS, conn.namespace, warnings))
        with pytest.raises(client.Forbidden):
            list(list_objects(conn, SECRETS, conn.namespace))
    assert warnings == [f"secrets in namespace {kube.namespace}: not visible with these permissions",
                        "secrets in any namespace: not visible with these permissions"]


def test_a_resource_the_server_does_not_serve(kube, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    widgets = Resource("widgets", "Widget", "example.invalid/v1")
    with connect(kube.context) as conn:
        assert list(list_objects(conn, Resource("widgets", "Widget", "example.invalid/v1", optional=True),
                                 kube.namespace)) == []
        with pytest.raises(SecretkeeperError, match=r"listing widgets failed \(HTTP 404"):
            list(list_objects(conn, widgets, kube.namespace))
