"""How the Vault store authenticates, against the real dev server: a token (VAULT_TOKEN or ~/.vault-token),
AppRole (enabled on the server for the test), Kubernetes (the request shape and a granted login through the
fault shim: OpenBao's kubernetes method needs a TokenReview endpoint, which the Kubernetes API emulator does
not serve), token renewal near expiry and login again when renewal cannot help, namespaces passed through,
and the token's display name for the audit."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from providers.errors import StoreError
from providers.stores.vault.store import VaultKVStore
from secretkeeper.config.stores import VaultAppRoleAuth, VaultKubernetesAuth, VaultStore
from tests.conftest import make_token
from tests.emulators.vault_faults import VaultFaults
from tests.integration.vault_kit import make_store

pytestmark = pytest.mark.integration

PATH = "apps/payments/db"


class Clock:
    """The store's monotonic clock, moved by the test: a TTL runs out without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def policy(vault_server, vault_mount):
    """A policy allowing everything the store does on the test mount."""
    name = f"sk-{uuid.uuid4().hex[:8]}"
    vault_server.api("PUT", f"sys/policies/acl/{name}",
                     {"policy": f'path "{vault_mount}/*" {{ capabilities = ["create", "read", "update", "list"] }}'})
    yield name
    vault_server.api("DELETE", f"sys/policies/acl/{name}")


@pytest.fixture
def approle(vault_server, policy):
    """An AppRole auth mount with a role of `policy`: (mount, role_id, secret_id)."""
    mount = f"approle-{uuid.uuid4().hex[:8]}"
    vault_server.api("POST", f"sys/auth/{mount}", {"type": "approle"})
    role = f"auth/{mount}/role/secretkeeper"
    vault_server.api("POST", role, {"token_policies": [policy], "token_ttl": "60s", "token_max_ttl": "600s"})
    role_id = vault_server.api("GET", f"{role}/role-id")["data"]["role_id"]
    secret_id = vault_server.api("POST", f"{role}/secret-id")["data"]["secret_id"]
    yield mount, role_id, secret_id
    vault_server.api("DELETE", f"sys/auth/{mount}")


def approle_store(server, mount: str, auth: VaultAppRoleAuth, *, address: str | None = None,
                  env: dict[str, str] | None = None, clock: Clock | None = None) -> VaultKVStore:
    environ = {"VAULT_ADDR": address or server.address, "HOME": "/nonexistent", **(env or {})}
    return VaultKVStore(VaultStore(type="vault", mount=mount, auth=auth), environ=environ,
                        clock=clock or Clock())


def round_trip(store: VaultKVStore) -> None:
    staged = store.stage(PATH, {"password": b"v"}, token=f"rot-{uuid.uuid4().hex[:6]}")
    current = store.status([PATH])[PATH].current
    store.promote(PATH, staged.version, expect_current=current)
    assert store.read(PATH).version == staged.version


def test_the_token_comes_from_vault_token_else_the_login_file(vault_server, vault_mount, tmp_path):
    round_trip(make_store(vault_server, vault_mount))
    (tmp_path / ".vault-token").write_text(vault_server.token + "\n")
    from_file = VaultKVStore(VaultStore(type="vault", mount=vault_mount),
                             environ={"VAULT_ADDR": vault_server.address, "HOME": str(tmp_path)})
    round_trip(from_file)
    nothing = VaultKVStore(VaultStore(type="vault", mount=vault_mount),
                           environ={"VAULT_ADDR": vault_server.address, "HOME": "/nonexistent"})
    with pytest.raises(StoreError, match=r"no token \(auth method token\): set VAULT_TOKEN$"):
        nothing.read(PATH)


def test_a_periodic_token_is_renewed_when_a_third_of_its_ttl_is_left(vault_server, vault_mount, policy):
    token = vault_server.api("POST", "auth/token/create", {"policies": [policy], "period": "60s",
                                                           "display_name": "ci-bot"})["auth"]["client_token"]
    clock = Clock()
    with VaultFaults(vault_server.address) as shim:
        store = VaultKVStore(VaultStore(type="vault", mount=vault_mount), clock=clock,
                             environ={"VAULT_ADDR": shim.address, "VAULT_TOKEN": token})
        round_trip(store)
        assert store.identity() == "token-ci-bot"
        clock.now += 30
        store.read(PATH)
        assert shim.count("/v1/auth/token/renew-self") == 0
        clock.now += 15  # 15 s of 60 left
        store.read(PATH)
        assert shim.count("/v1/auth/token/renew-self") == 1
        store.read(PATH)
        assert shim.count("/v1/auth/token/renew-self") == 1  # renewed: a full period again


def test_approle_logs_in_with_the_secret_id_from_the_environment_or_a_file(vault_server, vault_mount,
                                                                          approle, tmp_path):
    mount, role_id, secret_id = approle
    by_env = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount),
                           env={"VAULT_SECRET_ID": secret_id})
    round_trip(by_env)
    assert by_env.identity() == mount  # Vault names a login's token after its auth mount
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(secret_id + "\n")
    by_file = approle_store(vault_server, vault_mount, VaultAppRoleAuth(
        "approle", role_id, mount=mount, secret_id_file=str(secret_file), secret_id_env="UNSET_HERE"))
    round_trip(by_file)


def test_approle_refusals_are_one_line_and_never_carry_the_secret_id(vault_server, vault_mount, approle):
    mount, role_id, _ = approle
    wrong = str(uuid.uuid4())
    store = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount),
                          env={"VAULT_SECRET_ID": wrong})
    with pytest.raises(StoreError) as refused:
        store.read(PATH)
    assert str(refused.value) == (f"vault {vault_server.address}: login refused at auth/{mount}/login "
                                  f"(role_id {role_id!r} with its secret id)")
    missing = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount))
    with pytest.raises(StoreError, match="no secret id: set VAULT_SECRET_ID or secret_id_file"):
        missing.read(PATH)


def test_a_login_token_that_cannot_be_renewed_is_replaced_by_a_new_login(vault_server, vault_mount,
                                                                        approle):
    mount, role_id, secret_id = approle
    vault_server.api("POST", f"auth/{mount}/role/secretkeeper", {"token_type": "batch"})  # not renewable
    clock = Clock()
    with VaultFaults(vault_server.address) as shim:
        store = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount),
                              address=shim.address, env={"VAULT_SECRET_ID": secret_id}, clock=clock)
        round_trip(store)
        assert shim.count(f"/v1/auth/{mount}/login") == 1
        clock.now += 45
        round_trip(store)
        assert (shim.count(f"/v1/auth/{mount}/login"), shim.count("/v1/auth/token/renew-self")) == (2, 0)


def test_a_renewal_capped_by_the_max_ttl_is_followed_by_a_new_login(vault_server, vault_mount, approle):
    mount, role_id, secret_id = approle
    clock = Clock()
    with VaultFaults(vault_server.address) as shim:
        store = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount),
                              address=shim.address, env={"VAULT_SECRET_ID": secret_id}, clock=clock)
        round_trip(store)
        clock.now += 45
        store.read(PATH)  # renewed normally: a full TTL again
        assert (shim.count(f"/v1/auth/{mount}/login"), shim.count("/v1/auth/token/renew-self")) == (1, 1)
        clock.now += 45
        shim.answer(200, {"auth": {"client_token": "unused", "lease_duration": 5, "renewable": True}},
                    path="/v1/auth/token/renew-self", times=1)  # what Vault answers near the max TTL
        store.read(PATH)
        assert (shim.count(f"/v1/auth/{mount}/login"), shim.count("/v1/auth/token/renew-self")) == (2, 2)


def test_a_revoked_login_token_is_replaced_once_a_revoked_plain_token_is_reported(vault_server, vault_mount,
                                                                                approle, policy):
    mount, role_id, secret_id = approle
    store = approle_store(vault_server, vault_mount, VaultAppRoleAuth("approle", role_id, mount=mount),
                          env={"VAULT_SECRET_ID": secret_id})
    round_trip(store)
    vault_server.api("POST", "auth/token/revoke", {"token": store.vault.client.token})
    round_trip(store)  # 403, a new login, the same request again

    token = vault_server.api("POST", "auth/token/create", {"policies": [policy]})["auth"]["client_token"]
    plain = make_store(vault_server, vault_mount, env={"VAULT_TOKEN": token})
    round_trip(plain)
    vault_server.api("POST", "auth/token/revoke", {"token": token})
    with pytest.raises(StoreError) as denied:
        plain.read(PATH)
    assert str(denied.value) == (f"vault {vault_server.address}: permission denied on {vault_mount}/data/{PATH}"
                                 " (the token needs 'read' on it, or it expired)")


def test_kubernetes_auth_sends_the_service_account_token_and_uses_the_vault_token_granted(
        vault_server, vault_mount, policy, tmp_path):
    granted = vault_server.api("POST", "auth/token/create", {"policies": [policy]})["auth"]["client_token"]
    jwt = f"eyJhbGciOiJSUzI1NiJ9.{make_token()}.sig"
    token_file = tmp_path / "token"
    token_file.write_text(jwt + "\n")
    with VaultFaults(vault_server.address) as shim:
        shim.answer(200, {"auth": {"client_token": granted, "lease_duration": 3600, "renewable": True}},
                    path="/v1/auth/k8s-prod/login", method="POST")
        store = VaultKVStore(VaultStore(type="vault", mount=vault_mount, auth=VaultKubernetesAuth(
            "kubernetes", "secretkeeper", mount="k8s-prod", token_path=str(token_file))),
            environ={"VAULT_ADDR": shim.address})
        round_trip(store)
        login = [r for r in shim.requests if r.path == "/v1/auth/k8s-prod/login"]
        assert len(login) == 1 and json.loads(login[0].body) == {"role": "secretkeeper", "jwt": jwt}
        after = shim.requests[shim.requests.index(login[0]) + 1:]
        assert after and all(r.headers.get("X-Vault-Token") == granted for r in after)

        shim.clear()
        shim.answer(403, {"errors": ["permission denied"]}, path="/v1/auth/k8s-prod/login")
        refused = VaultKVStore(store.config, environ={"VAULT_ADDR": shim.address})
        with pytest.raises(StoreError) as denied:
            refused.read(PATH)
        assert str(denied.value) == (f"vault {shim.address}: permission denied on auth/k8s-prod/login (role "
                                     f"'secretkeeper' with the service-account token in {token_file})")
        assert jwt not in str(denied.value)

    outside = VaultKVStore(VaultStore(type="vault", mount=vault_mount, auth=VaultKubernetesAuth(
        "kubernetes", "secretkeeper", token_path=str(tmp_path / "absent"))), environ={"VAULT_ADDR": "http://x:1"})
    with pytest.raises(StoreError, match=r"service-account token .*absent: No such file or directory"):
        outside.read(PATH)


def test_the_namespace_is_sent_with_every_request(vault_server, vault_mount):
    with VaultFaults(vault_server.address) as shim:
        shim.answer(404, {"errors": []})  # the shim answers alone: only the headers matter here
        for store in (make_store(vault_server, vault_mount, address=shim.address, namespace="team-a/apps"),
                      make_store(vault_server, vault_mount, address=shim.address,
                                 env={"VAULT_NAMESPACE": "team-a/apps"})):
            with pytest.raises(StoreError):
                store.read(PATH)
        assert shim.requests and all(r.headers.get("X-Vault-Namespace") == "team-a/apps" for r in shim.requests)


def test_a_secret_in_a_namespace_rotates_there(vault_server):
    namespace = f"sk-ns-{uuid.uuid4().hex[:8]}"
    try:
        vault_server.api("POST", f"sys/namespaces/{namespace}")
    except AssertionError:
        pytest.skip("this Vault has no namespaces (they are a Vault Enterprise and OpenBao feature)")
    try:
        vault_server.api("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}}, namespace=namespace)
        vault_server.wait_for_kv("kv", namespace=namespace)
        round_trip(make_store(vault_server, "kv", namespace=namespace))
        inside = vault_server.api("GET", f"kv/data/{PATH}", namespace=namespace)["data"]["data"]
        assert inside == {"password": "v"}
        with pytest.raises(AssertionError, match="404"):
            vault_server.api("GET", f"kv/data/{PATH}")  # the root namespace has no such mount
    finally:
        vault_server.api("DELETE", "sys/mounts/kv", namespace=namespace)
        vault_server.api("DELETE", f"sys/namespaces/{namespace}")


def test_identity_is_bounded_and_never_raises(vault_server, vault_mount):
    root = make_store(vault_server, vault_mount).identity()
    assert root and vault_server.token not in root
    with VaultFaults(vault_server.address) as shim:
        shim.delay(10, path="/v1/auth/token/lookup-self")
        began = time.monotonic()
        assert make_store(vault_server, vault_mount, address=shim.address).identity() is None
        assert time.monotonic() - began < 5
    nobody = VaultKVStore(VaultStore(type="vault", mount=vault_mount), environ={"VAULT_ADDR": "http://127.0.0.1:9"})
    assert nobody.identity() is None
