"""What the database and cloud issuers need, as `rotate NAME --dry-run` prints it before anything is touched
(no server is asked: the plan builds issuers, it never connects), and their settings checked when built."""

from __future__ import annotations

from tests.rotation.conftest import ok

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
  vault: {type: vault, address: "https://vault.internal:8200"}
secrets:
  - name: pg-admin
    store: local
    path: admin/pg
    issuer: {type: static}
  - name: orders-db
    store: local
    path: apps/orders/db
    issuer: {type: postgres, host: db.internal, port: 5432, database: orders, role: orders,
             admin: pg-admin, strategy: alternating}
  - name: ci-bot-keys
    store: local
    path: ci/bot
    issuer: {type: aws-iam-key, user: ci-bot, grace: 24h}
  - name: reports-db
    store: local
    path: apps/reports/db
    issuer: {type: vault-database, mount: database, role: reports, store: vault}
"""


def test_dry_run_prints_grants_iam_actions_and_vault_policy_paths(make_project):
    project = make_project(CONFIG)
    plan = ok(project.run("rotate", "orders-db", "ci-bot-keys", "reports-db", "--dry-run")).stdout
    assert ("  issue:   postgres: a new password for whichever of roles orders, orders_clone is not in use, on "
            "db.internal:5432/orders, set as a SCRAM-SHA-256 verifier by admin pg-admin") in plan
    assert ("  needs:   managed secret pg-admin holding username and password: a role with CREATEROLE (and ADMIN "
            "OPTION on orders) or superuser, for ALTER ROLE orders PASSWORD") in plan
    assert "  needs:   grants: the admin creates role orders_clone once (CREATE ROLE ... LOGIN, GRANT orders" in plan
    assert ("  needs:   AWS credentials (boto3's chain) allowed iam:ListAccessKeys, iam:CreateAccessKey, "
            "iam:UpdateAccessKey, iam:DeleteAccessKey, iam:GetUser, iam:ListUserTags, iam:TagUser, "
            "iam:UntagUser on user/ci-bot") in plan
    assert ('  needs:   Vault policy for the token of store vault: path "database/rotate-role/reports" '
            '{ capabilities = ["update"] }') in plan
    assert '  needs:   and path "database/static-creds/reports" { capabilities = ["read"] }' in plan
    assert not (project.root / ".secretkeeper").exists()  # a plan touches nothing


def test_the_admin_secret_is_handled_first_and_its_absence_is_one_line(make_project):
    project = make_project(CONFIG)
    res = project.run("rotate", "--due")
    assert res.returncode == 1, res.stderr
    lines = res.stderr.splitlines()
    assert lines.index(next(line for line in lines if line.startswith("pg-admin:"))) < \
        lines.index(next(line for line in lines if line.startswith("orders-db:")))
    assert "orders-db: admin secret 'pg-admin' has no value yet: set it with `secretkeeper put pg-admin`" in res.stderr


def test_settings_that_cannot_work_are_refused_naming_them(make_project):
    single_grace = CONFIG.replace("strategy: alternating", "strategy: single, grace: 1h")
    res = make_project(single_grace, name="a").run("rotate", "orders-db", "--dry-run")
    assert res.returncode == 2 and "orders-db: issuer.grace: a `single` role has one password" in res.stderr
    half = CONFIG.replace("store: vault}", "store: vault, host: db.internal}")
    res = make_project(half, name="b").run("rotate", "reports-db", "--dry-run")
    assert res.returncode == 2 and "reports-db: issuer: give both host and database" in res.stderr
    project = make_project(CONFIG, name="c")
    project.config.write_text(CONFIG.replace("admin: pg-admin", "admin: pg-root"))
    res = project.run("rotate", "orders-db", "--dry-run")
    assert res.returncode == 2 and "'pg-root' is not the name of a managed secret" in res.stderr


def test_vault_database_through_a_store_that_is_not_vault_is_one_line(make_project):
    project = make_project(CONFIG.replace("role: reports, store: vault}", "role: reports, store: local}"))
    res = project.run("rotate", "reports-db", "--force")
    assert res.returncode == 1, res.stderr
    assert "reports-db: issuer.store: 'local' is not a vault store (name one with issuer.store)" in res.stderr
