"""The Vault store's parts that need no server: values as Vault keeps them, where a secret and its
journal live, which status notes may be written, how each failure reads, which are retried, and how the
client is built (address, TLS, namespace, no token taken from the environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from providers.errors import Conflict, NotFound, StoreError
from providers.stores.vault.annotate import check
from providers.stores.vault.client import address_of, build
from providers.stores.vault.codec import decode, encode
from providers.stores.vault.errors import HTTPFailure, PermissionDenied, retryable, translate
from providers.stores.vault.paths import journal_prefix, locate, secret_path
from secretkeeper.config.stores import VaultStore
from tests.conftest import make_token

ADDR = "https://vault.internal:8200"
ROOT = Path(__file__).resolve().parents[2]


def test_values_are_utf8_strings_in_vault_and_bytes_in_memory():
    assert encode("apps/db", {"user": b"app", "pw": "pässword".encode()}) == {"user": "app", "pw": "pässword"}
    assert decode("apps/db", {"pw": "pässword"}) == {"pw": "pässword".encode()}
    canary = make_token()
    with pytest.raises(StoreError) as err:
        encode("apps/db", {"key": b"\x80" + canary.encode()})
    assert str(err.value) == "vault: apps/db: value of key 'key' is not UTF-8 text (Vault keeps strings)"
    for doc, problem in (({"port": 5432}, "value of key 'port' is not a string"),
                         ([canary], "data is not a JSON object of strings")):
        with pytest.raises(StoreError, match=problem) as err:
            decode("apps/db", doc)
        assert canary not in str(err.value)


@pytest.mark.parametrize("path, secret, journal", [
    ("apps/db", "apps/db", "secretkeeper-rotation/apps/db"),
    ("/apps/db/", "apps/db", "secretkeeper-rotation/apps/db"),
    ("db", "db", "secretkeeper-rotation/db"),
    ("secretkeeper-rotation-old/db", "secretkeeper-rotation-old/db", "secretkeeper-rotation/secretkeeper-rotation-old/db"),
])
def test_a_journal_mirrors_its_secret_path_under_the_prefix(path, secret, journal):
    assert locate(path, "secretkeeper-rotation") == (secret, journal)


@pytest.mark.parametrize("path", ["", "/", "apps//db", "apps/../db", "./db", "secretkeeper-rotation",
                                  "secretkeeper-rotation/apps/db"])
def test_paths_vault_would_read_differently_or_inside_the_journals_are_refused(path):
    with pytest.raises(StoreError) as err:
        secret_path(path, "secretkeeper-rotation")
    assert repr(path) in str(err.value)


def test_the_journal_prefix_is_a_plain_path():
    assert journal_prefix("/team-a/rotation/") == "team-a/rotation"
    for bad in ("", "/", "a/../b"):
        with pytest.raises(StoreError, match="journal_prefix"):
            journal_prefix(bad)


def test_only_the_agreed_status_notes_in_their_shapes_are_written():
    check("apps/db", {"last-rotated": "2026-03-01T12:00:00+00:00", "next-due": "2026-03-31",
                      "rotation-id": "rot-4f2a", "issuer": "random"})
    canary = make_token()
    for notes, message in (({"password": canary}, "status note 'password' is not one of last-rotated"),
                           ({"next-due": canary}, "status note 'next-due' is not an ISO 8601 time"),
                           ({"issuer": f"x {canary}"}, "status note 'issuer' is not an issuer type name"),
                           ({"rotation-id": "a\nb"}, "status note 'rotation-id' is not an id")):
        with pytest.raises(StoreError, match=message) as err:
            check("apps/db", notes)
        assert canary not in str(err.value)


def fail(status: int, *errors: str) -> HTTPFailure:
    return HTTPFailure(status, list(errors))


@pytest.mark.parametrize("exc, kind, message", [
    (fail(403, "permission denied"), PermissionDenied,
     f"vault {ADDR}: permission denied on secret/data/apps/db (NEED)"),
    (fail(400, "invalid role or secret ID"), StoreError, f"vault {ADDR}: secret/data/apps/db refused (400)"),
    (fail(404), NotFound, f"vault {ADDR}: secret/data/apps/db does not exist"),
    (fail(404, 'no handler for route "secret/data/apps/db". route entry not found.'), StoreError,
     f"vault {ADDR}: nothing is mounted for secret/data/apps/db (check the store's mount and namespace)"),
    (fail(400, "check-and-set parameter did not match the current version"), Conflict,
     f"vault {ADDR}: secret/data/apps/db changed since it was read (check-and-set)"),
    (fail(503, "Vault is sealed"), StoreError,
     f"vault {ADDR} is sealed: secret/data/apps/db is not served until an operator unseals it"),
    (fail(501), StoreError, f"vault {ADDR} is not initialized"),
    (fail(429), StoreError, f"vault {ADDR}: secret/data/apps/db rate limited (429) after 4 tries"),
    (fail(502), StoreError, f"vault {ADDR}: secret/data/apps/db failed with 502 after 4 tries"),
    (requests.ReadTimeout("HTTPSConnectionPool(...): Read timed out."), StoreError,
     f"vault {ADDR}: no answer within 30s on secret/data/apps/db"),
    (requests.ConnectionError("[Errno 111] Connection refused"), StoreError,
     f"vault {ADDR} unreachable (connection refused) after 4 tries, on secret/data/apps/db"),
    (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), StoreError,
     f"vault {ADDR}: TLS certificate not trusted (set ca_bundle or VAULT_CACERT to the CA that signed it)"),
])
def test_each_failure_reads_as_one_line_of_its_own_kind(exc, kind, message):
    error = translate(exc, address=ADDR, api_path="secret/data/apps/db", need="NEED", tries=4, timeout=30)
    assert type(error) is kind and str(error) == message


def test_vault_text_never_reaches_the_message():
    canary = make_token()
    for status in (400, 403, 404, 412, 500, 503):
        error = translate(fail(status, f"value was {canary}"), address=ADDR, api_path="p", need="n", tries=1,
                          timeout=1)
        assert canary not in str(error)


@pytest.mark.parametrize("exc, again", [
    (fail(429), True), (fail(500), True), (fail(502), True), (fail(503, "standby"), True), (fail(412), True),
    (fail(400, "Upgrading from non-versioned to versioned data. This backend will be unavailable"), True),
    (requests.ConnectionError("refused"), True),
    (fail(503, "Vault is sealed"), False), (fail(501), False), (fail(403), False), (fail(404), False),
    (fail(400, "check-and-set parameter did not match the current version"), False),
    (requests.ReadTimeout("timed out"), False), (requests.ConnectTimeout("timed out"), False),
    (requests.exceptions.SSLError("bad cert"), False),
])
def test_only_what_may_pass_on_its_own_is_retried(exc, again):
    assert retryable(exc) is again


def test_the_client_takes_address_tls_and_namespace_from_config_or_vault_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", "hvs.from-the-host")  # hvac would send it: the store must not
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = VaultStore(type="vault", address=ADDR, namespace="team-a", ca_bundle=str(ca), timeout=5)
    client = build(config, address_of(config, {}), {})
    assert (client.adapter.base_uri, client.adapter.namespace, client.adapter.token) == (ADDR, "team-a", "")
    assert client.adapter.session.verify == str(ca) and client.adapter._kwargs["timeout"] == (5, 5)
    assert client.adapter.allow_redirects is False

    bare = VaultStore(type="vault")
    env = {"VAULT_ADDR": "http://127.0.0.1:8200/", "VAULT_NAMESPACE": "team-b", "VAULT_CACERT": str(ca)}
    client = build(bare, address_of(bare, env), env)
    assert (client.adapter.base_uri, client.adapter.namespace, client.adapter.session.verify) == \
        ("http://127.0.0.1:8200", "team-b", str(ca))
    assert build(bare, "https://v:8200", {}).adapter.session.verify is True  # the system CAs, never off
    with pytest.raises(StoreError, match="no address: set the store's `address` or VAULT_ADDR"):
        address_of(bare, {})
    with pytest.raises(StoreError, match=r"^vault: VAULT_ADDR is not an http\(s\):// URL$"):
        address_of(bare, {"VAULT_ADDR": "vault.internal:8200"})


def test_the_vault_type_is_registered_and_loads_hvac_only_when_a_store_is_built():
    code = ("import sys; import providers.stores.vault; from providers.base import STORES; "
            "from secretkeeper.config.stores import VaultStore; "
            "loaded = 'hvac' in sys.modules; "
            "store = STORES['vault']('prod-vault', VaultStore(type='vault', address='https://v:8200')); "
            "print(loaded, type(store).__name__, store.name, 'hvac' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.split() == ["False", "VaultKVStore", "prod-vault", "True"]
