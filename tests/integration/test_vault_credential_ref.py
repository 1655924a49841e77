"""A Vault store whose AppRole secret id is another store's secret (`secret_id: {from: STORE:PATH#KEY}`):
the rotator logs in with what the local store holds, read at run time, never in the config, an output or
a file in clear. The OpenBao dev server (or Vault with VAULT_ADDR/VAULT_TOKEN), the real command."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.rotation.conftest import Project, ok

pytestmark = pytest.mark.integration

CONFIG = """\
stores:
  admin: {type: local, path: .secretkeeper/admin}
  vault:
    type: vault
    address: ADDRESS
    mount: MOUNT
    auth: {method: approle, mount: AUTH, role_id: ROLE_ID, secret_id: {from: "admin:vault/approle#secret_id"}}
secrets:
  - name: rotator-secret-id
    store: admin
    path: vault/approle
    keys: [secret_id]
    issuer: {type: static}
  - name: app-db
    store: vault
    path: apps/db
    keys: [password]
    issuer: {type: random, length: 32}      # no rotate policy: rotated when asked
"""


@pytest.fixture
def approle(vault_server, vault_mount):
    """An AppRole mount whose role may do everything on the test's KV mount: (mount, role_id, secret_id)."""
    name, mount = f"sk-{uuid.uuid4().hex[:8]}", f"approle-{uuid.uuid4().hex[:8]}"
    vault_server.api("PUT", f"sys/policies/acl/{name}", {"policy": f'path "{vault_mount}/*" {{ capabilities = '
                                                                   '["create", "read", "update", "delete", "list"] }'})
    vault_server.api("POST", f"sys/auth/{mount}", {"type": "approle"})
    role = f"auth/{mount}/role/secretkeeper"
    vault_server.api("POST", role, {"token_policies": [name], "token_ttl": "600s"})
    role_id = vault_server.api("GET", f"{role}/role-id")["data"]["role_id"]
    secret_id = vault_server.api("POST", f"{role}/secret-id")["data"]["secret_id"]
    yield mount, role_id, secret_id
    vault_server.api("DELETE", f"sys/auth/{mount}")
    vault_server.api("DELETE", f"sys/policies/acl/{name}")


def test_the_approle_secret_id_comes_from_another_store(vault_server, vault_mount, approle, tmp_path):
    mount, role_id, secret_id = approle
    config = (CONFIG.replace("ADDRESS", vault_server.address).replace("MOUNT", vault_mount)
              .replace("AUTH", mount).replace("ROLE_ID", role_id))
    project = Project(tmp_path / "project", config, kind="local")
    env = {"HOME": "/nonexistent", "VAULT_TOKEN": "", "VAULT_SECRET_ID": ""}  # only the reference can log in
    refused = project.run("rotate", "app-db", "--force", env=env)
    assert refused.returncode == 2 and "no secret at 'vault/approle' in store 'admin'" in refused.stderr
    ok(project.run("put", "rotator-secret-id", env=env, input=json.dumps({"secret_id": secret_id}).encode()))
    rotated = ok(project.run("rotate", "app-db", "--force", "--audit-stdout", env=env))
    assert "app-db: rotated" in rotated.stderr
    assert secret_id not in rotated.stdout + rotated.stderr
    data = vault_server.api("GET", f"{vault_mount}/data/apps/db")["data"]["data"]
    assert set(data) == {"password"} and len(data["password"]) == 32
    custom = vault_server.api("GET", f"{vault_mount}/metadata/apps/db")["data"]["custom_metadata"]
    assert "last-rotated" in custom and "next-due" not in custom  # no rotate policy: never due, no empty note
    on_disk = b"".join(p.read_bytes() for p in project.root.rglob("*") if p.is_file())
    assert secret_id.encode() not in on_disk
