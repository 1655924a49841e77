"""The `postgres` issuer against a real PostgreSQL (tests/integration/pg_server.py, log_statement=all),
driven through the `secretkeeper` command as a user runs it: single and alternating rotations change what
the server accepts, the server never sees (or logs) a password, a failed verify rolls back to a password
that still works, and consumers that reconnect with whatever the synced Secret holds never fail while
alternating rotations run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.integration.pg_server import PgServer
from tests.rotation.conftest import Project, manifest_data, ok

pytestmark = pytest.mark.integration


def _config(pg: PgServer, database: str, role: str, strategy: str, grace: str = "") -> str:
    extra = f", grace: {grace}" if grace else ""
    return f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
secrets:
  - name: pg-admin
    store: local
    path: admin/pg
    issuer: {{type: static}}
  - name: orders-db
    store: local
    path: apps/orders/db
    issuer: {{type: postgres, host: 127.0.0.1, port: {pg.port}, database: {database}, role: {role},
             admin: pg-admin, strategy: {strategy}{extra}}}
    rotate: {{every: 30d}}
    sync:
      - manifest: {{dir: out/secrets}}
"""


def _setup(pg: PgServer, tmp_path: Path, strategy: str, *, grace: str = "") -> tuple[Project, str, str]:
    """A database with a table, an app role granted on it, a CREATEROLE admin (not a superuser) stored as
    the `pg-admin` managed secret, and a project whose orders-db is that role."""
    from psycopg import sql

    database = pg.database("orders")
    role, admin = f"app_{database[-8:]}", f"adm_{database[-8:]}"
    admin_password = f"A{time.time_ns()}x"
    with pg.connect(database) as conn:
        verifier = conn.pgconn.encrypt_password(admin_password.encode(), admin.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(sql.Identifier(admin),
                                                                                   sql.Literal(verifier)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(role), sql.Identifier(admin)))
        conn.execute("CREATE TABLE orders (id int)")
        conn.execute("INSERT INTO orders VALUES (1), (2)")
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON orders TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    project = Project(tmp_path / "project", _config(pg, database, role, strategy, grace), kind="local")
    ok(project.run("put", "pg-admin", input=json.dumps({"username": admin, "password": admin_password}).encode()))
    return project, database, role


def _logs_in(pg: PgServer, database: str, user: str, password: str) -> bool:
    import psycopg

    try:
        with pg.connect(database, user, password) as conn:
            conn.execute("SELECT count(*) FROM orders").fetchone()
        return True
    except psycopg.OperationalError:
        return False


def _synced(project: Project) -> dict[str, str]:
    return {k: v.decode() for k, v in manifest_data(project.manifest("orders-db")).items()}


def _assert_never_logged(pg: PgServer, *passwords: str) -> None:
    log = pg.log_text()
    assert "ALTER ROLE" in log and "SCRAM-SHA-256$4096:" in log  # statements are logged: the check is real
    for password in passwords:
        assert password not in log


def test_single_rotation_changes_the_password_the_server_accepts(pg_server: PgServer, tmp_path: Path):
    project, database, role = _setup(pg_server, tmp_path, "single")
    first = ok(project.run("rotate", "--due"))
    one = _synced(project)
    assert (one["username"], one["host"], one["port"], one["database"]) == (role, "127.0.0.1", str(pg_server.port),
                                                                             database)
    assert one["uri"] == f"postgresql://{role}:{one['password']}@127.0.0.1:{pg_server.port}/{database}"
    assert _logs_in(pg_server, database, role, one["password"])
    ok(project.run("rotate", "orders-db", "--force"))
    two = _synced(project)
    assert two["password"] != one["password"] and project.value("orders-db")["password"] == two["password"].encode()
    assert _logs_in(pg_server, database, role, two["password"])
    assert not _logs_in(pg_server, database, role, one["password"])
    _assert_never_logged(pg_server, one["password"], two["password"])
    for out in (first.stdout + first.stderr, project.root.joinpath("out/secrets").as_posix()):
        assert one["password"] not in out


def test_alternating_rotation_keeps_the_previous_role_working_until_grace(pg_server: PgServer, tmp_path: Path):
    project, database, role = _setup(pg_server, tmp_path, "alternating", grace="2s")
    ok(project.run("rotate", "--due"))
    one = _synced(project)
    assert one["username"] == role
    ok(project.run("rotate", "orders-db", "--force"))
    two = _synced(project)
    assert two["username"] == f"{role}_clone"
    # the clone holds the role's privileges, and what it creates is the role's
    with pg_server.connect(database, two["username"], two["password"]) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)
        conn.execute("CREATE TABLE made_by_clone (id int)")
    owner = pg_server.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_clone'", database=database)
    assert owner == [(role,)]
    assert _logs_in(pg_server, database, role, one["password"])  # the previous role works during grace
    time.sleep(2.1)
    finished = ok(project.run("rotate", "--due"))
    assert "orders-db: retired" in finished.stderr
    assert not _logs_in(pg_server, database, role, one["password"])
    assert _logs_in(pg_server, database, two["username"], two["password"])
    ok(project.run("rotate", "orders-db", "--force"))  # back to the first role, with a new password
    three = _synced(project)
    assert three["username"] == role and three["password"] != one["password"]
    assert _logs_in(pg_server, database, role, three["password"])
    _assert_never_logged(pg_server, one["password"], two["password"], three["password"])


def test_a_failed_verify_rolls_back_to_the_password_that_works(pg_server: PgServer, tmp_path: Path):
    from psycopg import sql

    project, database, role = _setup(pg_server, tmp_path, "single")
    with pg_server.connect(database) as conn:  # the role's real password, then `put` as the current version
        verifier = conn.pgconn.encrypt_password(b"Kept0ldPassw0rdKept0ld", role.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
    ok(project.run("put", "orders-db", input=json.dumps({
        "username": role, "password": "Kept0ldPassw0rdKept0ld", "host": "127.0.0.1", "port": str(pg_server.port),
        "database": database, "uri": "postgresql://unused"}).encode()))
    pg_server.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))  # the next verify fails
    before = manifest_data(project.manifest("orders-db"))
    failed = project.run("rotate", "orders-db", "--force")
    assert failed.returncode == 1, failed.stderr
    assert "the new credential does not log in" in failed.stderr and "rolled back" in failed.stderr
    assert manifest_data(project.manifest("orders-db")) == before
    assert project.value("orders-db")["password"] == b"Kept0ldPassw0rdKept0ld"
    pg_server.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)))
    assert _logs_in(pg_server, database, role, "Kept0ldPassw0rdKept0ld")  # the old password is back on the role


def test_consumers_reconnecting_through_alternating_rotations_never_fail(pg_server: PgServer, tmp_path: Path):
    import psycopg

    project, _database, role = _setup(pg_server, tmp_path, "alternating", grace="1s")
    ok(project.run("rotate", "--due"))
    attempts, failures, stop = [0], [], threading.Event()
    seen: set[str] = set()

    def consumer() -> None:
        while not stop.is_set():
            creds = _synced(project)  # what a pod with the Secret mounted reads
            seen.add(creds["username"])
            attempts[0] += 1
            try:
                with psycopg.connect(creds["uri"], connect_timeout=5) as conn:
                    conn.execute("SELECT count(*) FROM orders").fetchone()
            except psycopg.Error as exc:
                failures.append(f"{creds['username']}: {str(exc).splitlines()[0]}")
            time.sleep(0.03)

    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    try:
        passwords = []
        for _ in range(3):
            ok(project.run("rotate", "orders-db", "--force"))
            passwords.append(_synced(project)["password"])
            time.sleep(1.1)
            ok(project.run("rotate", "--due"))  # the previous role is retired now
    finally:
        stop.set()
        thread.join(10)
    print(f"consumer: {attempts[0]} connection attempts through 3 alternating rotations, {len(failures)} failed")
    assert failures == [] and attempts[0] > 50, (attempts, failures[:5])
    assert seen == {role, f"{role}_clone"}
    _assert_never_logged(pg_server, *passwords)


def test_dry_run_names_what_the_issuer_needs(pg_server: PgServer, tmp_path: Path):
    project, _database, role = _setup(pg_server, tmp_path, "alternating")
    plan = ok(project.run("rotate", "orders-db", "--dry-run")).stdout
    assert f"ALTER ROLE {role} PASSWORD" in plan and f"role {role}_clone" in plan
    assert "needs:   managed secret pg-admin holding username and password" in plan
    assert "retire:  the previous version, after 1h" not in plan  # bootstrap: nothing to retire yet


def test_a_rotation_killed_after_issue_is_finished_by_the_next_run_and_the_role_in_use_keeps_working(
        pg_server: PgServer, tmp_path: Path):
    project, database, role = _setup(pg_server, tmp_path, "alternating", grace="1h")
    ok(project.run("rotate", "--due"))
    one = _synced(project)
    killed = project.run("rotate", "orders-db", "--force", env={"SECRETKEEPER_CRASH_AT": "after:issued"})
    assert killed.returncode == 137, killed.stderr
    assert _logs_in(pg_server, database, role, one["password"])  # the credential consumers hold still works
    ok(project.run("rotate", "--due"))  # resumes: the dead holder's lock is taken over at once
    two = _synced(project)
    assert two["username"] == f"{role}_clone" and project.value("orders-db")["username"] == two["username"].encode()
    assert _logs_in(pg_server, database, two["username"], two["password"])
    assert _logs_in(pg_server, database, role, one["password"])  # grace: the previous role works on


def test_verify_full_against_a_server_without_tls_is_one_line_saying_how_to_choose(pg_server: PgServer):
    from providers.errors import IssuerError
    from providers.issuers.pglogin import login

    with pytest.raises(IssuerError) as caught, login("orders-db", host=pg_server.host, port=pg_server.port,
                                                     database="postgres", user=pg_server.superuser,
                                                     password=pg_server.password, require_auth="!password",
                                                     sslmode="verify-full", connect_timeout=5):
        pass
    text = str(caught.value)
    assert "issuer.sslmode: prefer or disable" in text and "\n" not in text
    assert pg_server.password not in text
