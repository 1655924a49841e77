"""Credentials in `secretkeeper.yaml`: a credential is named (`from: STORE:PATH#KEY`, `env: NAME`), never
written there. A literal is `FILE:LINE: key: problem` without its value; so is a reference to a store
that is not declared. (Reading a reference at run time: tests/rotation/test_credential_refs.py.)"""

from __future__ import annotations

import pytest

from secretkeeper.config import load_config
from secretkeeper.config.credentials import EnvRef, Revealed, SecretRef, resolve
from secretkeeper.errors import ConfigError

PASTED = "hunter2-Xk29pQ7zLm"  # a synthetic credential pasted where a reference belongs

HEAD = """\
stores:
  local: {type: local, path: .secretkeeper/store}
  admin: {type: local, path: .secretkeeper/admin}
"""

GOOD = HEAD + """\
  vault:
    type: vault
    address: https://vault.internal:8200
    auth: {method: approle, role_id: secretkeeper, secret_id: {from: "admin:vault/approle#secret_id"}}
  vault2: {type: vault, address: https://vault.internal:8200, auth: {method: token, token: {env: OPS_TOKEN}}}
secrets:
  - name: app-mq
    store: local
    path: apps/mq
    keys: [password, uri]
    issuer:
      type: random
      templates: {uri: "amqp://{user}:{password}@mq:5672"}
      inputs: {user: {from: "admin:mq/admin#user"}}
"""


def write(make_tree, text: str):
    return make_tree({"secretkeeper.yaml": text}) / "secretkeeper.yaml"


def test_references_load_as_references_with_their_place(make_tree):
    cfg = load_config(write(make_tree, GOOD))
    ref = cfg.stores["vault"].auth.secret_id
    assert ref == SecretRef("admin", "vault/approle", "secret_id", ("stores", "vault", "auth", "secret_id"))
    assert cfg.stores["vault2"].auth.token == EnvRef("OPS_TOKEN", ("stores", "vault2", "auth", "token"))
    assert cfg.secrets[0].issuer.inputs == {"user": SecretRef("admin", "mq/admin", "user",
                                                              ("secrets", 0, "issuer", "inputs", "user"))}


def test_resolving_reads_each_reference_once_needed_and_never_shows_the_value(make_tree, monkeypatch):
    cfg = load_config(write(make_tree, GOOD))
    monkeypatch.setenv("OPS_TOKEN", PASTED)
    seen = []
    issuer = resolve(cfg.secrets[0].issuer, lambda ref: seen.append(str(ref)) or PASTED)
    assert seen == ["admin:mq/admin#user"]
    value = issuer.inputs["user"]
    assert isinstance(value, Revealed) and value.reveal() == PASTED
    assert PASTED not in repr(issuer) and PASTED not in str(value)
    auth = resolve(cfg.stores["vault2"], lambda ref: pytest.fail("no store read for an env reference")).auth
    assert auth.token.reveal() == PASTED and PASTED not in repr(auth)
    assert isinstance(cfg.secrets[0].issuer.inputs["user"], SecretRef)  # the loaded config is unchanged


@pytest.mark.parametrize("body, line, key", [
    # a literal under a credential's name, known field or not
    (HEAD + "  v: {type: vault, auth: {method: approle, role_id: sk, secret_id: " + PASTED + "}}\n",
     4, "stores.v.auth.secret_id"),
    (HEAD + "  v:\n    type: vault\n    auth:\n      method: token\n      token: " + PASTED + "\n",
     8, "stores.v.auth.token"),
    (HEAD + "secrets:\n  - name: db\n    store: local\n    path: db\n    issuer: {type: static}\n"
     "    password: " + PASTED + "\n", 9, "secrets.0.password"),
    (HEAD + "secrets:\n  - name: db\n    store: local\n    path: db\n    issuer:\n      type: random\n"
     "      admin_password: " + PASTED + "\n", 10, "secrets.0.issuer.admin_password"),
    # a literal in a field that takes a credential whatever its key
    (HEAD + "secrets:\n  - name: db\n    store: local\n    path: db\n    issuer:\n      type: random\n"
     "      inputs:\n        user: " + PASTED + "\n", 11, "secrets.0.issuer.inputs.user"),
])
def test_inline_plaintext_is_an_error_naming_the_key_never_the_value(make_tree, body, line, key):
    path = write(make_tree, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: {key}: inline plaintext credential"), message
    assert "from:" in message and "env:" in message
    assert PASTED not in message and PASTED[:6] not in message


@pytest.mark.parametrize("ref, problem", [
    ("nowhere:admin/pg#password", "store 'nowhere' is not declared under stores (declared: admin, local)"),
    ("admin/pg#password", "expected STORE:PATH#KEY"),
    ("admin:admin/pg", "expected STORE:PATH#KEY"),
])
def test_a_bad_reference_is_an_error_at_its_line(make_tree, ref, problem):
    body = HEAD + (f"secrets:\n  - name: db\n    store: local\n    path: db\n    issuer:\n      type: random\n"
                   f"      templates: {{uri: 'x://{{u}}@h'}}\n      inputs:\n        u: {{from: \"{ref}\"}}\n")
    path = write(make_tree, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:12: secrets.0.issuer.inputs.u.from: {problem}"), str(err.value)


def test_a_store_cannot_take_its_credentials_from_itself_or_in_a_cycle(make_tree):
    own = ("stores:\n  v: {type: vault, auth: {method: token, token: {from: 'v:ops/token#value'}}}\n")
    path = write(make_tree, own)
    with pytest.raises(ConfigError, match=r":2: stores\.v\.auth\.token\.from: store 'v' cannot read its own"):
        load_config(path)
    cycle = ("stores:\n  a: {type: vault, auth: {method: token, token: {from: 'b:ops/token#value'}}}\n"
             "  b: {type: vault, auth: {method: token, token: {from: 'a:ops/token#value'}}}\n")
    with pytest.raises(ConfigError, match=r":2: stores\.a: stores need each other's credentials in a cycle: "
                                          r"a -> b -> a"):
        load_config(write(make_tree, cycle))


def test_names_of_where_a_credential_is_are_not_credentials(make_tree):
    body = HEAD + ("  v: {type: vault, auth: {method: approle, role_id: sk, secret_id_file: /run/sid,\n"
                   "      secret_id_env: SID}}\n"
                   "  k: {type: vault, auth: {method: kubernetes, role: sk, token_path: /run/token}}\n"
                   "secrets:\n  - name: db\n    store: local\n    path: db\n    issuer: {type: static}\n"
                   "    sync: [{manifest: {dir: out, secret: db-password}}]\n")
    cfg = load_config(write(make_tree, body))
    assert cfg.stores["v"].auth.secret_id_file == "/run/sid" and cfg.stores["k"].auth.token_path == "/run/token"


def test_the_cli_exits_2_on_inline_plaintext_without_echoing_it(make_tree, run_cli):
    root = make_tree({"secretkeeper.yaml": HEAD + "  v: {type: vault, auth: {method: token, token: " + PASTED
                      + "}}\n"})
    proc = run_cli(["status", "--config", root / "secretkeeper.yaml"], cwd=root)
    assert proc.code == 2
    assert "secretkeeper.yaml:4: stores.v.auth.token: inline plaintext credential" in proc.stderr
    assert PASTED not in proc.stdout + proc.stderr


def test_template_keys_named_like_credentials_are_templates_but_a_written_out_url_password_is_not(make_tree):
    templates = ("secrets:\n  - name: db\n    store: local\n    path: db\n    keys: [password]\n    issuer:\n"
                 "      type: random\n      templates:\n        token: 'Bearer {password}'\n"
                 "        uri: 'postgres://{user}:{password}@db:5432/app'\n"
                 "      inputs: {user: {env: DB_USER}}\n")
    cfg = load_config(write(make_tree, HEAD + templates))
    assert cfg.secrets[0].issuer.templates["token"] == "Bearer {password}"
    path = write(make_tree, HEAD + templates.replace("{user}:{password}@", "{user}:" + PASTED + "@"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:13: secrets.0.issuer.templates.uri: inline plaintext credential "
                                     "in a URL"), str(err.value)
    assert PASTED not in str(err.value)
