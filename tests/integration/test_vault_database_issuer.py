"""The `vault-database` issuer on the OpenBao dev server's database secrets engine (its built-in
postgresql-database-plugin) managing a static role of the real PostgreSQL: `secretkeeper rotate` makes
Vault change the password, stores and syncs what static-creds then holds, and verifies it by logging in;
a credential that does not log in is rolled back."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from psycopg import sql

from tests.integration.pg_server import PgServer
from tests.integration.vault_server import VaultServer
from tests.rotation.conftest import Project, manifest_data, ok

pytestmark = pytest.mark.integration


def _setup(pg: PgServer, vault: VaultServer, tmp_path: Path) -> tuple[Project, str, str, str]:
    database = pg.database("vdb")
    role, admin, mount = f"app_{database[-8:]}", f"vadm_{database[-8:]}", f"db-{uuid.uuid4().hex[:8]}"
    admin_password = uuid.uuid4().hex
    with pg.connect(database) as conn:
        verifier = conn.pgconn.encrypt_password(admin_password.encode(), admin.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(sql.Identifier(admin),
                                                                                   sql.Literal(verifier)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(role), sql.Identifier(admin)))
    vault.api("POST", f"sys/mounts/{mount}", {"type": "database"})
    vault.api("POST", f"{mount}/config/pg", {
        "plugin_name": "postgresql-database-plugin", "allowed_roles": "*", "username": admin,
        "password": admin_password, "password_authentication": "scram-sha-256",
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{pg.port}/{database}"
                          "?sslmode=disable"})
    vault.api("POST", f"{mount}/static-roles/orders", {"db_name": "pg", "username": role, "rotation_period": "720h"})
    config = f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
  vault: {{type: vault, address: "{vault.address}"}}
secrets:
  - name: orders-db
    store: local
    path: apps/orders/db
    issuer: {{type: vault-database, mount: {mount}, role: orders, store: vault,
             host: 127.0.0.1, port: {pg.port}, database: {database}}}
    sync:
      - manifest: {{dir: out/secrets}}
"""
    return Project(tmp_path / "project", config, kind="local"), database, role, mount


def _logs_in(pg: PgServer, database: str, user: str, password: str) -> bool:
    import psycopg

    try:
        with pg.connect(database, user, password):
            return True
    except psycopg.OperationalError:
        return False


def test_vault_rotates_the_static_role_and_the_new_password_is_synced(pg_server: PgServer,
                                                                       vault_server: VaultServer, tmp_path: Path):
    project, database, role, mount = _setup(pg_server, vault_server, tmp_path)
    env = {"VAULT_TOKEN": vault_server.token}
    plan = ok(project.run("rotate", "orders-db", "--dry-run", env=env)).stdout
    assert (f'needs:   Vault policy for the token of store vault: path "{mount}/rotate-role/orders" '
            '{ capabilities = ["update"] }') in plan
    assert f'needs:   and path "{mount}/static-creds/orders" {{ capabilities = ["read"] }}' in plan
    ok(project.run("rotate", "--due", env=env))
    one = {k: v.decode() for k, v in manifest_data(project.manifest("orders-db")).items()}
    assert one["username"] == role and _logs_in(pg_server, database, role, one["password"])
    assert one["password"] == vault_server.api("GET", f"{mount}/static-creds/orders")["data"]["password"]
    out = ok(project.run("rotate", "orders-db", "--force", env=env))
    two = {k: v.decode() for k, v in manifest_data(project.manifest("orders-db")).items()}
    assert two["password"] != one["password"] and _logs_in(pg_server, database, role, two["password"])
    assert not _logs_in(pg_server, database, role, one["password"])
    assert two["uri"] == f"postgresql://{role}:{two['password']}@127.0.0.1:{pg_server.port}/{database}"
    log = pg_server.log_text()
    assert one["password"] not in log and two["password"] not in log  # Vault sends a SCRAM verifier
    assert two["password"] not in out.stdout + out.stderr


def test_a_credential_that_does_not_log_in_is_rolled_back(pg_server: PgServer, vault_server: VaultServer,
                                                          tmp_path: Path):
    project, _database, role, _mount = _setup(pg_server, vault_server, tmp_path)
    env = {"VAULT_TOKEN": vault_server.token}
    ok(project.run("rotate", "--due", env=env))
    before = project.value("orders-db")
    pg_server.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
    failed = project.run("rotate", "orders-db", "--force", env=env)
    assert failed.returncode == 1, failed.stderr
    assert "the new credential does not log in" in failed.stderr and "rolled back" in failed.stderr
    assert project.value("orders-db") == before
