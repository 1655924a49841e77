"""The rotation sections of `secretkeeper.yaml` (`stores:`, `secrets:`): what a valid file declares, and
the one-line `FILE:LINE: key: problem` a mistake in one gets."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from secretkeeper.config import load_config
from secretkeeper.errors import ConfigError

ROTATION = """\
scan:
  exclude: [out]
stores:
  local: {type: local}
  aws:   {type: aws-secrets-manager, region: eu-west-1, endpoint_url: http://127.0.0.1:5000}
  vault: {type: vault, address: https://vault.internal:8200, mount: secret,
          auth: {method: kubernetes, role: secretkeeper}}
secrets:
  - name: payments-db
    store: aws
    path: prod/payments/db
    keys: [username, password]
    issuer: {type: random, length: 32}
    rotate: {every: 30d, window: {start: "02:00", end: "05:00", timezone: Europe/Berlin, days: [sat, sun]}}
    sync:
      - manifest: {dir: out/secrets, namespace: shop}
    consumers: [Deployment/shop/payments]
  - name: deploy-key
    store: vault
    path: ci/deploy-key
    issuer: {type: keypair, algorithm: ed25519, format: openssh}
    rotate: {cron: "0 3 * * 1"}
  - name: pg-admin
    store: local
    path: admin/pg
    issuer: {type: static}
    rotate: {max_age: 12w}
deploy: {namespace: secretkeeper}
"""


def write(make_tree, text: str):
    return make_tree({"secretkeeper.yaml": text}) / "secretkeeper.yaml"


def test_a_rotation_config_loads_typed(make_tree):
    cfg = load_config(write(make_tree, ROTATION))
    assert cfg.scan.exclude == ["out"]
    assert {name: store.type for name, store in cfg.stores.items()} == \
        {"local": "local", "aws": "aws-secrets-manager", "vault": "vault"}
    assert cfg.stores["local"].path == ".secretkeeper/store"
    assert cfg.stores["vault"].auth.method == "kubernetes" and cfg.stores["vault"].auth.role == "secretkeeper"
    payments, deploy_key, pg_admin = cfg.secrets
    assert (payments.name, payments.store, payments.path) == ("payments-db", "aws", "prod/payments/db")
    assert payments.issuer.type == "random" and payments.issuer.length == 32
    assert payments.rotate.every == timedelta(days=30) and payments.rotate.window.days == ["sat", "sun"]
    assert payments.sync[0].manifest.dir == "out/secrets" and payments.consumers == ["Deployment/shop/payments"]
    assert deploy_key.issuer.format == "openssh" and deploy_key.rotate.cron == "0 3 * * 1"
    assert pg_admin.issuer.type == "static" and pg_admin.rotate.max_age == timedelta(weeks=12)
    assert cfg.deploy == {"namespace": "secretkeeper"}


def test_store_defaults(make_tree):
    cfg = load_config(write(make_tree, "stores:\n  vault: {type: vault}\n"))
    vault = cfg.stores["vault"]
    assert (vault.address, vault.mount, vault.auth.method) == (None, "secret", "token")
    assert cfg.secrets == []


def test_a_config_without_rotation_loads_as_before_and_never_builds_the_rotation_models(make_tree):
    path = write(make_tree, "scan:\n  fail_on: high\nstores:\nsecrets:\n")
    # The engine is imported first, as in a scan (secretkeeper.rules needs it loaded first).
    code = ("import sys; from pathlib import Path; import secretkeeper.engine; "
            "from secretkeeper.config import load_config; "
            f"cfg = load_config(Path({str(path)!r})); "
            "print(cfg.scan.fail_on.value, cfg.stores, cfg.secrets, cfg.deploy, "
            "sorted(m for m in sys.modules if m.startswith('secretkeeper.config.s')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["high", "{}", "[]", "{}", "['secretkeeper.config.scan']"]


def secret(**changes: str) -> str:
    fields = {"name": "payments-db", "store": "aws", "path": "prod/db", "issuer": "{type: random}", **changes}
    return "  - " + "\n    ".join(f"{k}: {v}" for k, v in fields.items()) + "\n"


STORES = "stores:\n  aws: {type: aws-secrets-manager}\n"


@pytest.mark.parametrize("body, expected", [
    ("stores:\n  aws: {type: aws-secret-manager}\n",
     "2: stores.aws.type: must be one of 'vault', 'aws-secrets-manager', 'local'"),
    ("stores:\n  aws: {region: eu-west-1}\n", "2: stores.aws.type: Field required"),
    (STORES + "secrets:\n" + secret(store="vault"),
     "5: secrets.0.store: store 'vault' is not declared under stores (declared: aws)"),
    (STORES + "secrets:\n" + secret() + secret(path="other"),
     "8: secrets.1.name: 'payments-db' is already the name of secrets[0]"),
    (STORES + "secrets:\n" + secret(rotate="{every: 30x}"),
     "8: secrets.0.rotate.every: not a duration: '30x' (use e.g. 30d, 12h, 90m, 1d12h)"),
    (STORES + "secrets:\n" + secret(rotate="{every: 30}"), "8: secrets.0.rotate.every: not a duration: 30"),
    (STORES + "secrets:\n" + secret(rotate="{every: 1d, cron: '0 3 * * *'}"),
     "8: secrets.0.rotate: give `every` or `cron`, not both"),
    (STORES + "secrets:\n" + secret(rotate="{every: 1d, window: {start: '02:00', end: '03:00'}}"),
     "8: secrets.0.rotate.window.timezone: Field required"),
    (STORES + "secrets:\n" + secret(rotate="{window: {start: '2am', end: '03:00', timezone: UTC}}"),
     "8: secrets.0.rotate.window.start: expected a time of day, HH:MM"),
    (STORES + "secrets:\n" + secret(rotate="{window: {start: '02:00', end: '03:00', timezone: Mars/Base}}"),
     "8: secrets.0.rotate.window.timezone: not an IANA time zone"),
    (STORES + "secrets:\n" + secret(issuer="{type: random, lenght: 40}"),
     "7: secrets.0.issuer.lenght: Unexpected keyword argument"),
    (STORES + "secrets:\n" + secret(issuer="{type: magic}"), "7: secrets.0.issuer.type: must be one of 'random', 'keypair', 'static'"),
    (STORES + "secrets:\n" + secret(sync="[{ftp: {host: shop}}]"),
     "8: secrets.0.sync.0.ftp: Unexpected keyword argument"),
    (STORES + "secrets:\n" + secret(sync="[{kubernetes: {namespace: shop, immutable: true, restart: gitops}}]"),
     "8: secrets.0.sync.0.kubernetes: immutable: true re-points the consumers"),
    (STORES + "secrets:\n" + secret(sync="[{kubernetes: {namespace: shop, restart: sometimes}}]"),
     "8: secrets.0.sync.0.kubernetes.restart: Input should be 'rolling', 'never' or 'gitops'"),
    (STORES + "secrets:\n" + secret(consumers="[web]"),
     "8: secrets.0.consumers.0: expected Kind/namespace/name, e.g. Deployment/shop/web"),
    (STORES + "secrets:\n" + secret(name="'my secret'"), "4: secrets.0.name: a name is letters, digits"),
    ("stores:\n  vault: {type: vault, address: vault.internal:8200}\n",
     "2: stores.vault.address: expected an http(s):// URL"),
    ("stores:\n  vault: {type: vault, auth: {method: userpass}}\n",
     "2: stores.vault.auth.method: must be one of 'token', 'kubernetes', 'approle'"),
    ("stores:\n  vault: {type: vault, auth: {method: kubernetes}}\n",
     "2: stores.vault.auth.role: Field required"),
    ("stores: [local]\n", "1: stores: Input should be a valid dictionary"),
])
def test_a_mistake_is_one_line_naming_file_line_and_key(make_tree, body, expected):
    path = write(make_tree, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{expected}"), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("body", [
    "stores:\n  aws: {type: nosuch}\n",
    STORES + "secrets:\n" + secret(store="gcp"),
    STORES + "secrets:\n" + secret() + secret(),
])
def test_the_cli_exits_2_with_the_one_line(make_tree, run_cli, body):
    root = make_tree({".secretkeeper.yaml": body, "a.txt": "x\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and res.stdout == ""
    assert res.stderr.startswith(f"secretkeeper: error: {root / '.secretkeeper.yaml'}:")
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_a_value_pasted_into_the_wrong_place_is_not_echoed(make_tree):
    pasted = "acme_z9y8x7w6v5u4t3s2r1q0p9o8"
    for body in (f"stores:\n  aws: {{type: {pasted}}}\n", f"stores:\n  aws: {{type: vault, address: {pasted}}}\n"):
        with pytest.raises(ConfigError) as err:
            load_config(write(make_tree, body))
        assert "stores.aws" in str(err.value) and pasted not in str(err.value)


def test_local_is_the_embedded_store_without_being_declared(make_tree):
    body = ("secrets:\n  - {name: db, store: local, path: app/db, issuer: {type: random},\n"
            "     sync: [{manifest: {dir: out}}]}\n")
    cfg = load_config(write(make_tree, body))
    assert cfg.stores["local"].type == "local" and cfg.stores["local"].path == ".secretkeeper/store"
    own = load_config(write(make_tree, "stores:\n  local: {type: local, path: vault-dir}\n" + body[0:]))
    assert own.stores["local"].path == "vault-dir"  # the file's own `local` wins
    # a `from:` reference to it counts as a use; a config that uses no local store gets none
    ref = ("stores:\n  vault: {type: vault, address: 'http://127.0.0.1:8200', auth: {method: token, "
           "token: {from: 'local:ops/vault#token'}}}\n")
    assert set(load_config(write(make_tree, ref)).stores) == {"vault", "local"}
    assert set(load_config(write(make_tree, "stores:\n  vault: {type: vault}\n")).stores) == {"vault"}
