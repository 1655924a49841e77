"""What a user sees when Vault is sealed, refuses, throttles, hangs, cannot be reached or is not who it
claims (TLS): one line naming the address and the path, no traceback chained to hvac's text, never the
token or a value, and bounded retries only where waiting can help. The fault shim (tests/emulators/
vault_faults.py) stands in front of the real dev server."""

from __future__ import annotations

import time

import pytest

from providers.errors import StoreError
from tests.conftest import make_token
from tests.emulators.kube_tls import make_server_tls
from tests.emulators.vault_faults import VaultFaults
from tests.integration.vault_kit import make_store, write_raw
from tests.integration.vault_server import free_port

pytestmark = pytest.mark.integration

PATH = "apps/payments/db"


@pytest.fixture
def shim(vault_server):
    with VaultFaults(vault_server.address) as shim:
        yield shim


def failure(call, *, server, secrets=()) -> str:
    """The StoreError `call` raises, checked for what every error must (not) carry; its message."""
    with pytest.raises(StoreError) as caught:
        call()
    error = caught.value
    message = str(error)
    assert "\n" not in message and message.strip() == message
    assert server.token not in message
    for secret in secrets:
        assert secret not in message
    # no traceback chained to hvac's exception (whose text can hold a response body)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return message


def test_a_sealed_vault_is_named_and_not_retried(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    shim.answer(503, {"errors": ["Vault is sealed"]}, path=f"/v1/{vault_mount}/")
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert message == f"vault {shim.address} is sealed: {vault_mount}/data/{PATH} is not served until an " \
                      "operator unseals it"
    assert shim.count(f"/v1/{vault_mount}/data/") == 1


def test_permission_denied_names_the_path_and_capability_never_the_body(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    canary = make_token()
    shim.answer(403, {"errors": ["permission denied", f"echo {canary}"]}, path=f"/v1/{vault_mount}/data/")
    message = failure(lambda: store.read(PATH), server=vault_server, secrets=[canary])
    assert message == f"vault {shim.address}: permission denied on {vault_mount}/data/{PATH} " \
                      "(the token needs 'read' on it, or it expired)"
    message = failure(lambda: store.stage(PATH, {"password": canary.encode()}, token="rot-1"),
                      server=vault_server, secrets=[canary])
    assert "permission denied" in message


def test_a_refused_write_never_echoes_the_value_sent(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    canary = make_token()
    shim.answer(400, {"errors": [f"invalid value {canary}"]}, path=f"/v1/{vault_mount}/data/", method="POST")
    message = failure(lambda: store.stage(PATH, {"password": canary.encode()}, token="rot-1"),
                      server=vault_server, secrets=[canary])
    assert message.endswith("refused (400)")


def test_server_errors_and_throttling_are_retried_a_bounded_number_of_times(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    write_raw(vault_server, vault_mount, PATH, {"password": "x"})
    shim.answer(500, {"errors": ["internal error"]}, path=f"/v1/{vault_mount}/data/", times=2)
    assert store.read(PATH).version == "1"
    assert shim.count(f"/v1/{vault_mount}/data/") == 3

    shim.clear()
    shim.answer(429, {"errors": ["rate limit quota exceeded"]}, path=f"/v1/{vault_mount}/data/")
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert message == f"vault {shim.address}: {vault_mount}/data/{PATH} rate limited (429) after 4 tries"
    assert shim.count(f"/v1/{vault_mount}/data/") == 4


def test_a_hanging_vault_times_out_once_without_retrying(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address, timeout=0.5)
    store.status([PATH])  # log in and check the mount before the hang
    shim.delay(5, path=f"/v1/{vault_mount}/data/")
    began = time.monotonic()
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert time.monotonic() - began < 3
    assert message == f"vault {shim.address}: no answer within 0.5s on {vault_mount}/data/{PATH}"


def test_unreachable_and_dropped_connections(vault_server, vault_mount, shim):
    nobody = f"http://127.0.0.1:{free_port()}"
    store = make_store(vault_server, vault_mount, address=nobody)
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert message.startswith(f"vault {nobody} unreachable (connection refused) after 4 tries, on ")

    store = make_store(vault_server, vault_mount, address=shim.address)
    shim.drop(path=f"/v1/{vault_mount}/data/")
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert message == f"vault {shim.address} unreachable (connection closed without an answer) after 4 " \
                      f"tries, on {vault_mount}/data/{PATH}"


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(vault_server, vault_mount, shim):
    with VaultFaults(vault_server.address) as elsewhere:
        store = make_store(vault_server, vault_mount, address=shim.address)
        shim.answer(307, {}, path=f"/v1/{vault_mount}/data/",
                    headers={"Location": f"{elsewhere.address}/v1/{vault_mount}/data/{PATH}"})
        message = failure(lambda: store.read(PATH), server=vault_server)
        assert "redirect (307), not followed" in message
        assert elsewhere.requests == []


def test_a_mount_that_is_not_there_is_named(vault_server, vault_mount):
    store = make_store(vault_server, "no-such-mount")
    message = failure(lambda: store.read(PATH), server=vault_server)
    assert message == f"vault {vault_server.address}: nothing is mounted for no-such-mount/data/{PATH} " \
                      "(check the store's mount and namespace)"


def test_tls_is_verified_by_default_and_a_ca_bundle_makes_it_pass(vault_server, vault_mount, tmp_path):
    tls = make_server_tls()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls.ca_pem)
    write_raw(vault_server, vault_mount, PATH, {"password": "x"})
    with VaultFaults(vault_server.address, tls=tls) as https:
        untrusted = make_store(vault_server, vault_mount, address=https.address)
        message = failure(lambda: untrusted.read(PATH), server=vault_server)
        assert message == f"vault {https.address}: TLS certificate not trusted (set ca_bundle or VAULT_CACERT " \
                          "to the CA that signed it)"
        assert https.count(f"/v1/{vault_mount}/") == 0  # nothing reached the server, token included
        assert make_store(vault_server, vault_mount, address=https.address, ca_bundle=str(ca)).read(PATH)
        by_env = make_store(vault_server, vault_mount, address=https.address, env={"VAULT_CACERT": str(ca)})
        assert by_env.read(PATH).version == "1"
    message = failure(lambda: make_store(vault_server, vault_mount, ca_bundle=str(tmp_path / "nope.pem")),
                      server=vault_server)
    assert message.endswith(f"CA bundle {tmp_path / 'nope.pem'} is not a readable file")


def test_a_kv_mount_still_upgrading_is_waited_for(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    write_raw(vault_server, vault_mount, PATH, {"password": "x"})
    shim.answer(400, {"errors": ["Upgrading from non-versioned to versioned data. This backend will be "
                                 "unavailable for a brief period and will resume service shortly."]},
                path=f"/v1/{vault_mount}/data/", times=2)
    assert store.read(PATH).version == "1"


def test_status_makes_two_requests_per_secret(vault_server, vault_mount, shim):
    store = make_store(vault_server, vault_mount, address=shim.address)
    paths = [f"apps/s{i}" for i in range(5)]
    for path in paths[:3]:
        write_raw(vault_server, vault_mount, path, {"k": "v"})
    store.status(paths[:1])  # the token's lookup and the mount check happen once per process
    shim.clear()
    store.status(paths)
    assert len(shim.requests) == 2 * len(paths)
    assert all(r.method == "GET" and f"/v1/{vault_mount}/metadata/" in r.path for r in shim.requests)
