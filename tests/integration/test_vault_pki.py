"""The `x509` issuer with `vault_pki:` against a real PKI engine (the OpenBao dev server, or VAULT_ADDR):
certificates issued through `<mount>/issue/<role>` verify against the engine's root, a renewal revokes the
previous certificate, `rotate --dry-run` names the policy paths, and a certificate that fails verification
is rolled back and revoked. Only what Vault itself offers is used."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from providers.issuers import certs
from secretkeeper.config import load_config
from secretkeeper.rotation.audit import Audit
from secretkeeper.rotation.engine import Outcome
from secretkeeper.rotation.plan import plan
from secretkeeper.rotation.run import run_rotations
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring
from tests.integration.vault_kit import make_store
from tests.integration.vault_server import VaultServer

pytestmark = pytest.mark.integration

CONFIG = """\
stores:
  vault: {{type: vault, mount: {kv}}}
secrets:
  - name: api-tls
    store: vault
    path: web/api-tls
    issuer: {{type: x509, common_name: api.example.internal, dns_names: [api.example.internal],
             ip_addresses: [10.0.0.7], ttl: 30d, vault_pki: {{mount: {pki}, role: {role}}}}}
    sync:
      - manifest: {{dir: out/secrets}}
"""


@pytest.fixture
def pki(vault_server: VaultServer) -> Iterator[str]:
    """A PKI mount with a root CA and two roles: `web` (server certificates for example.internal) and
    `clients` (client certificates only)."""
    mount = f"sk-pki-{uuid.uuid4().hex[:10]}"
    vault_server.api("POST", f"sys/mounts/{mount}", {"type": "pki", "config": {"max_lease_ttl": "8760h"}})
    try:
        vault_server.api("POST", f"{mount}/root/generate/internal",
                         {"common_name": "Test Root CA", "ttl": "8760h", "key_type": "ec", "key_bits": 256})
        common = {"allowed_domains": "example.internal", "allow_subdomains": True, "allow_ip_sans": True,
                  "max_ttl": "720h", "key_type": "ec", "key_bits": 256}
        vault_server.api("POST", f"{mount}/roles/web", common)
        vault_server.api("POST", f"{mount}/roles/clients", {**common, "server_flag": False, "client_flag": True})
        yield mount
    finally:
        vault_server.api("DELETE", f"sys/mounts/{mount}")


def wiring_for(tmp_path: Path, vault_server: VaultServer, kv: str, pki: str, role: str) -> Wiring:
    (tmp_path / "secretkeeper.yaml").write_text(CONFIG.format(kv=kv, pki=pki, role=role))
    return Wiring(load_config(tmp_path / "secretkeeper.yaml"), stores={"vault": make_store(vault_server, kv)})


def rotate(wiring: Wiring, *, force: bool = False):
    trail = Trail(Audit(None, stdout=True), progress=sys.stderr)  # both read by a test, for what they tell
    [result] = run_rotations(wiring, trail, wiring.select([]), force=force, now=datetime.now(UTC))
    return result


def serial(data) -> str:
    number = x509.load_pem_x509_certificates(data["tls.crt"])[0].serial_number
    return ":".join(f"{b:02x}" for b in number.to_bytes(20, "big").lstrip(b"\0"))


def revoked(vault_server: VaultServer, pki: str, data) -> bool:
    return vault_server.api("GET", f"{pki}/cert/{serial(data)}")["data"].get("revocation_time", 0) > 0


def test_a_certificate_from_the_pki_engine_verifies_and_a_renewal_revokes_the_previous(
        tmp_path, vault_server, vault_mount, pki, capsys):
    wiring = wiring_for(tmp_path, vault_server, vault_mount, pki, "web")
    lines = plan(wiring, wiring.select([]), force=False, now=datetime.now(UTC))
    assert f'  needs:   Vault policy for the token of store vault: path "{pki}/issue/web" ' \
           '{ capabilities = ["update"] }' in lines

    assert rotate(wiring).outcome is Outcome.ROTATED
    store = wiring.store("vault")
    first = store.read("web/api-tls").data
    root = vault_server.api("GET", f"{pki}/cert/ca")["data"]["certificate"].encode()
    assert x509.load_pem_x509_certificates(first["ca.crt"]) == x509.load_pem_x509_certificates(root)
    leaf = x509.load_pem_x509_certificates(first["tls.crt"])[0]
    certs.verify_chain("t", leaf, [], x509.load_pem_x509_certificates(root), dns_names=["api.example.internal"],
                       ip_addresses=["10.0.0.7"], ext_key_usage=["server_auth"], now=datetime.now(UTC),
                       against="the engine's root")
    certs.check_key_match("t", "tls.crt", leaf, certs.load_key("t", "tls.key", first["tls.key"]))
    status = store.status(["web/api-tls"])["web/api-tls"]
    assert status.metadata["expires"] == leaf.not_valid_after_utc.isoformat(timespec="seconds")

    assert rotate(wiring, force=True).outcome is Outcome.ROTATED
    second = store.read("web/api-tls").data
    assert serial(second) != serial(first) and second["tls.key"] != first["tls.key"]
    assert revoked(vault_server, pki, first) and not revoked(vault_server, pki, second)
    told = "".join(capsys.readouterr())  # progress lines and audit records: never a private key
    assert "api-tls" in told
    for key in (first["tls.key"], second["tls.key"]):
        assert key.splitlines()[1].decode() not in told


def test_a_certificate_that_fails_verification_is_rolled_back_and_revoked(tmp_path, vault_server, vault_mount, pki):
    wiring = wiring_for(tmp_path, vault_server, vault_mount, pki, "web")
    assert rotate(wiring).outcome is Outcome.ROTATED
    good = wiring.store("vault").read("web/api-tls").data

    # The same secret, now issued by a role that makes client certificates only: not a server certificate.
    clients = wiring_for(tmp_path, vault_server, vault_mount, pki, "clients")
    issued = []
    issuer = clients.subject("api-tls").issuer
    real_issue = issuer.issue
    issuer.issue = lambda current: issued.append(real_issue(current)) or issued[-1]
    result = rotate(clients, force=True)
    assert result.outcome is Outcome.ROLLED_BACK and "does not verify against the new ca.crt" in result.message
    assert clients.store("vault").read("web/api-tls").data == good  # the old certificate stays current
    assert revoked(vault_server, pki, issued[0]) and not revoked(vault_server, pki, good)
