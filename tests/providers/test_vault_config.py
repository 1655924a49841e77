"""The `vault` store's config keys beyond the issue's contract: where AppRole's secret id and the
Kubernetes token come from, versions kept, the request timeout and the journal prefix."""

from __future__ import annotations

import pytest

from secretkeeper.config import load_config
from secretkeeper.errors import ConfigError


def write(make_tree, text: str):
    return make_tree({"secretkeeper.yaml": text}) / "secretkeeper.yaml"


def test_the_vault_store_keys_load_typed_with_their_defaults(make_tree):
    cfg = load_config(write(make_tree, """\
stores:
  ci: {type: vault, auth: {method: approle, role_id: r-1, secret_id_file: /run/secrets/secret-id},
       max_versions: 20, timeout: 5, journal_prefix: team-a/rotation}
  pod: {type: vault, auth: {method: kubernetes, role: secretkeeper}}
  env: {type: vault, auth: {method: approle, role_id: r-2}}
"""))
    ci, pod, env = cfg.stores["ci"], cfg.stores["pod"], cfg.stores["env"]
    assert (ci.auth.secret_id_file, ci.max_versions, ci.timeout, ci.journal_prefix) == \
        ("/run/secrets/secret-id", 20, 5.0, "team-a/rotation")
    assert pod.auth.token_path == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert (pod.max_versions, pod.timeout, pod.journal_prefix) == (None, 30.0, "secretkeeper-rotation")
    assert (env.auth.secret_id_file, env.auth.secret_id_env) == (None, "VAULT_SECRET_ID")


@pytest.mark.parametrize("body, expected", [
    ("stores:\n  v: {type: vault, max_versions: -1}\n", "2: stores.v.max_versions: Input should be greater than or equal to 0"),
    ("stores:\n  v: {type: vault, timeout: 0}\n", "2: stores.v.timeout: Input should be greater than 0"),
    ("stores:\n  v: {type: vault, auth: {method: approle, role_id: r, secret_id: s}}\n",
     "2: stores.v.auth.secret_id: inline plaintext credential"),  # a literal is refused (config/credentials.py)
    ("stores:\n  v: {type: vault, address: 'https://u:pw@vault.internal'}\n",
     "2: stores.v.address: a URL with user info (user:password@) in it"),
])
def test_a_mistake_is_one_line(make_tree, body, expected):
    path = write(make_tree, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{expected}"), str(err.value)
