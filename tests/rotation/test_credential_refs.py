"""A rotation whose issuer reads a credential from another store (`inputs: {user: {from: STORE:PATH#KEY}}`):
read at run time through that store, spliced into the new version, written nowhere else; a reference to a
key that is not there is `FILE:LINE: key: problem`, exit 2. Two real local stores, the real command."""

from __future__ import annotations

import json

from tests.rotation.conftest import manifest_data, ok

USER = "mq-admin-Qz81"  # synthetic

CONFIG = """\
stores:
  local: {type: local, path: .secretkeeper/store}
  shared: {type: local, path: .secretkeeper/shared}
secrets:
  - name: mq-admin
    store: shared
    path: mq/admin
    keys: [user]
    issuer: {type: static}
  - name: app-mq
    store: local
    path: apps/mq
    keys: [password, uri]
    issuer:
      type: random
      length: 24
      templates: {uri: "amqp://{user}:{password}@mq:5672"}
      inputs:
        user: {from: "shared:mq/admin#KEY"}
    sync:
      - manifest: {dir: out/secrets, namespace: shop}
"""


def test_a_rotation_reads_a_reference_across_two_stores(make_project):
    project = make_project(CONFIG.replace("KEY", "user"), kind="local")
    ok(project.run("put", "mq-admin", input=json.dumps({"user": USER}).encode()))
    for _ in range(2):  # bootstrap, then a forced rotation: the reference is read each time
        proc = ok(project.run("rotate", "app-mq", "--force", "--audit-stdout"))
        assert USER not in proc.stdout + proc.stderr
        value = project.value("app-mq")
        assert value is not None and set(value) == {"password", "uri"}  # the input is not a key of its own
        password = value["password"].decode()
        assert value["uri"].decode() == f"amqp://{USER}:{password}@mq:5672"
        assert manifest_data(project.manifest("app-mq")) == value
    written = b"".join(p.read_bytes() for p in (project.root / ".secretkeeper").rglob("*") if p.is_file())
    assert USER.encode() not in written  # both stores encrypt: the reference is in no file in clear


def test_a_reference_to_a_missing_key_or_secret_is_a_config_error(make_project):
    project = make_project(CONFIG.replace("KEY", "username"), kind="local")
    proc = project.run("rotate", "app-mq", "--force")  # mq-admin was never put: no secret there
    assert proc.returncode == 2, proc.stderr
    assert ("secretkeeper.yaml:19: secrets.1.issuer.inputs.user.from: shared:mq/admin#username: no secret at "
            "'mq/admin' in store 'shared'") in proc.stderr
    ok(project.run("put", "mq-admin", input=json.dumps({"user": USER}).encode()))
    proc = project.run("rotate", "app-mq", "--force")
    assert proc.returncode == 2, proc.stderr
    assert ("secretkeeper.yaml:19: secrets.1.issuer.inputs.user.from: shared:mq/admin#username: the secret has "
            "no key 'username' (its keys: user)") in proc.stderr
    assert USER not in proc.stdout + proc.stderr
    assert project.value("app-mq") is None  # nothing was issued
