"""The Kubernetes API emulator's service-account tokens, through the real kubernetes client, as the API
server behaves: TokenRequest with boundObjectRef (refused for an absent object or a stale uid; the token
dies with the object), TokenReview (audiences, RBAC on tokenreviews), and legacy token Secrets
(invalid-since rejects, removing it restores, last-used is stamped on use)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from kubernetes import client

pytestmark = pytest.mark.integration


@pytest.fixture
def core(kube):
    if kube.real:
        pytest.skip("emulator behaviour (a real API server is what it copies)")
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}},
               {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "holder"}})
    api = kube.api_client()
    yield client.CoreV1Api(api), client.AuthenticationV1Api(api)
    api.close()


def request(core_api, kube, ref=None, audiences=("api",)):
    body = {"spec": {"audiences": list(audiences), "expirationSeconds": 600, "boundObjectRef": ref}}
    return core_api.create_namespaced_service_account_token("robot", kube.namespace, body).status.token


def reviewed(auth_api, token, audiences=("api",)):
    status = auth_api.create_token_review({"spec": {"token": token, "audiences": list(audiences)}}).status
    return (status.user.username if status.authenticated else None), status.audiences


def test_a_bound_token_dies_with_its_object(kube, core):
    core_api, auth_api = core
    uid = core_api.read_namespaced_secret("holder", kube.namespace).metadata.uid
    token = request(core_api, kube, {"apiVersion": "v1", "kind": "Secret", "name": "holder", "uid": uid})
    assert reviewed(auth_api, token) == (f"system:serviceaccount:{kube.namespace}:robot", ["api"])
    assert reviewed(auth_api, token, ("other",))[0] is None
    core_api.delete_namespaced_secret("holder", kube.namespace)
    assert reviewed(auth_api, token)[0] is None
    kube.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "holder"}})  # same name, new uid
    assert reviewed(auth_api, token)[0] is None


@pytest.mark.parametrize("ref, status", [
    ({"kind": "Secret", "name": "absent"}, 404),
    ({"kind": "Secret", "name": "holder", "uid": "0000"}, 409),
    ({"kind": "ConfigMap", "name": "holder"}, 422),
])
def test_a_token_request_for_an_object_it_cannot_bind_is_refused(kube, core, ref, status):
    with pytest.raises(client.exceptions.ApiException) as caught:
        request(core[0], kube, {"apiVersion": "v1", **ref})
    assert caught.value.status == status


def test_token_review_needs_create_on_tokenreviews(kube, core):
    token = request(core[0], kube)
    kube.emulator.add_token("lister", rules={("list", "pods")})
    path = kube.emulator.write_kubeconfig(kube.kubeconfig.with_name("lister"), token="lister")
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(path), context="emulator")
    try:
        with pytest.raises(client.exceptions.ApiException) as caught:
            reviewed(client.AuthenticationV1Api(api), token)
    finally:
        api.close()
    assert caught.value.status == 403


def test_a_legacy_token_is_rejected_while_invalid_and_stamped_when_used(kube, core):
    core_api, auth_api = core
    kube.apply({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "robot-token", "annotations": {"kubernetes.io/service-account.name": "robot"}}})
    secret = core_api.read_namespaced_secret("robot-token", kube.namespace)
    token = base64.b64decode(secret.data["token"]).decode()
    assert not (secret.metadata.labels or {})
    who = f"system:serviceaccount:{kube.namespace}:robot"
    assert reviewed(auth_api, token, ("https://kubernetes.default.svc",))[0] == who
    labels = core_api.read_namespaced_secret("robot-token", kube.namespace).metadata.labels
    assert labels == {"kubernetes.io/legacy-token-last-used": datetime.now(UTC).date().isoformat()}
    core_api.patch_namespaced_secret("robot-token", kube.namespace, {"metadata": {"labels": {
        "kubernetes.io/legacy-token-invalid-since": "2026-01-01"}}})
    assert reviewed(auth_api, token, ("https://kubernetes.default.svc",))[0] is None
    core_api.patch_namespaced_secret("robot-token", kube.namespace, {"metadata": {"labels": {
        "kubernetes.io/legacy-token-invalid-since": None}}})
    assert reviewed(auth_api, token, ("https://kubernetes.default.svc",))[0] == who
    core_api.delete_namespaced_secret("robot-token", kube.namespace)
    assert reviewed(auth_api, token, ("https://kubernetes.default.svc",))[0] is None
