"""The migration planner and splicer on focused cases: a Secret the pod already mounts is reused,
`$(VAR)` references, root vs non-root pods, the file-env suffix table, and `--store` (literal values into
the local store instead of a Secret file)."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from secretkeeper.kube.yamllines import load_documents
from secretkeeper.migrate.images import file_env_suffix, repository
from tests.conftest import run_cli

PARTIAL = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
      - name: api
        image: registry.example/api:1
        args: ["--secret=$(SIGNING_SECRET)", "$$(SIGNING_SECRET)"]
        env:
        - name: API_TOKEN_FILE
          value: /etc/api/token
        - name: SIGNING_SECRET
          valueFrom: {secretKeyRef: {name: api, key: signing}}
        - name: HEADER
          value: "Bearer $(SIGNING_SECRET)"
        volumeMounts:
        - {name: api-creds, mountPath: /etc/api/, readOnly: true}
      volumes:
      - name: api-creds
        secret:
          secretName: api
          items:
          - {key: token, path: token}
"""


def _migrate(tmp_path, text, *args, name="m.yaml"):
    src = tmp_path / name
    src.write_text(text)
    res = run_cli(["migrate", "env-to-files", str(src), "--write", "--format", "json",
                   "--secrets-dir", str(tmp_path / "out"), *args], cwd=tmp_path)
    assert res.code == 0, res.output
    return load_documents(src.read_text())[0][0].body, json.loads(res.stdout)


def test_a_secret_already_mounted_is_reused(tmp_path):
    body, report = _migrate(tmp_path, PARTIAL)
    spec = body["spec"]["template"]["spec"]
    assert [v["name"] for v in spec["volumes"]] == ["api-creds"]  # no second volume for Secret api
    assert spec["volumes"][0]["secret"]["items"] == [{"key": "token", "path": "token"},
                                                     {"key": "signing", "path": "signing"}]
    assert len(spec["containers"][0]["volumeMounts"]) == 1
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["SIGNING_SECRET_FILE"] == "/etc/api/signing"  # under the existing mount
    container = report["workloads"][0]["containers"][0]
    assert container["var_refs"] == ["SIGNING_SECRET"]  # args and env; `$$(...)` is an escape, not a reference
    assert container["reads_file_env"] is False and "NEEDS" not in container["todo"]


def test_root_pod_gets_0400_and_no_fs_group(tmp_path):
    text = PARTIAL.replace("        volumeMounts:\n        - {name: api-creds, mountPath: /etc/api/, readOnly: true}\n", "")
    body, report = _migrate(tmp_path, text)
    spec = body["spec"]["template"]["spec"]
    assert "securityContext" not in spec
    assert report["workloads"][0]["file_mode"] == "0400" and report["workloads"][0]["fs_group_set"] is None


def test_non_root_container_keeps_an_existing_fs_group(tmp_path):
    text = PARTIAL.replace("      containers:\n", "      securityContext: {fsGroup: 3000}\n      containers:\n") \
        .replace("        image: registry.example/api:1\n",
                 "        image: registry.example/api:1\n        securityContext: {runAsNonRoot: true}\n")
    body, report = _migrate(tmp_path, text)
    assert body["spec"]["template"]["spec"]["securityContext"] == {"fsGroup": 3000}
    assert report["workloads"][0]["file_mode"] == "0440" and report["workloads"][0]["fs_group_set"] is None


@pytest.mark.parametrize("image, suffix", [
    ("postgres", "_FILE"), ("docker.io/library/mysql:8@sha256:" + "a" * 64, "_FILE"),
    ("localhost:5000/mariadb:11", "_FILE"), ("grafana/grafana:10", "__FILE"), ("bitnami/redis:7", "_FILE"),
    ("registry.example/app:1", None), ("", None),
])
def test_file_env_table(image, suffix):
    assert file_env_suffix(image) == suffix


def test_repository_names():
    assert repository("quay.io/org/app:1.2") == "org/app"
    assert repository("postgres:16") == "library/postgres"


def test_store_receives_the_literals_instead_of_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETKEEPER_LOCAL_KEY", base64.b64encode(b"k" * 32).decode())
    (tmp_path / "secretkeeper.yaml").write_text(f"stores:\n  vaultless: {{type: local, path: {tmp_path}/store}}\n")
    value = "Pz4kLm9QwE2rTy7U"  # secretkeeper:allow (synthetic)
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: c\n"
            f"    image: x\n    env:\n    - name: DB_PASSWORD\n      value: {value}\n")
    _body, report = _migrate(tmp_path, text, "--store", "vaultless",
                             "--config", str(tmp_path / "secretkeeper.yaml"))
    assert not (tmp_path / "out").exists()
    new = report["workloads"][0]["new_secret"]
    assert new["written_to"] == "store vaultless, path shop/p-env-secrets"
    assert any("issuer: {type: static}" in n for n in report["workloads"][0]["notes"])
    from providers.stores import open_store
    from secretkeeper.config import load_config

    cfg = load_config(tmp_path / "secretkeeper.yaml")
    stored = open_store("vaultless", cfg.stores["vaultless"]).read("shop/p-env-secrets")
    assert stored.data == {"DB_PASSWORD": value.encode()}
    assert value not in json.dumps(report)


def test_unknown_store_is_exit_2(tmp_path):
    (tmp_path / "secretkeeper.yaml").write_text("stores:\n  a: {type: local}\n")
    src = tmp_path / "p.yaml"
    src.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
                   "    image: x\n    env:\n    - {name: DB_PASSWORD, value: Pz4kLm9QwE2rTy7U}\n")  # secretkeeper:allow (synthetic)
    res = run_cli(["migrate", "env-to-files", str(src), "--store", "nope", "--config",
                   str(tmp_path / "secretkeeper.yaml")])
    assert res.code == 2 and "--store nope: no such store" in res.stderr


def test_secrets_dir_is_private(tmp_path):
    _migrate(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
             "    image: x\n    env:\n    - {name: DB_PASSWORD, value: Pz4kLm9QwE2rTy7U}\n")  # secretkeeper:allow (synthetic)
    out = tmp_path / "out"
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "default.p-env-secrets.yaml").stat().st_mode) == 0o600
    assert (out / ".gitignore").read_text().splitlines()[-1] == "*"  # git never takes them


def test_optional_references_make_an_optional_volume(tmp_path):
    body, _ = _migrate(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                       "  - name: c\n    image: x\n    env:\n    - name: API_KEY\n      valueFrom:\n"
                       "        secretKeyRef: {name: maybe, key: k, optional: true}\n"
                       "    envFrom:\n    - secretRef: {name: must}\n")
    secrets = {v["secret"]["secretName"]: v["secret"] for v in body["spec"]["volumes"]}
    assert secrets["maybe"]["optional"] is True and "optional" not in secrets["must"]


def test_an_empty_volumes_key_is_filled_not_repeated(tmp_path):
    src = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  containers:\n  - name: c\n"
           "    image: x\n    volumeMounts:\n    env:\n    - name: API_KEY\n      valueFrom:\n"
           "        secretKeyRef: {name: s, key: k}\n")
    body, _ = _migrate(tmp_path, src)
    assert [v["name"] for v in body["spec"]["volumes"]] == ["sk-s"]
    assert body["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] == "/var/run/secrets/s"
    text = (tmp_path / "m.yaml").read_text()
    assert text.count("volumes:") == 1 and text.count("volumeMounts:") == 1


def test_new_secret_names_never_collide(tmp_path):
    pod = ("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: shop}}\nspec:\n  containers:\n  - name: c\n"
           "    image: x\n    env:\n    - {{name: DB_PASSWORD, value: {value}}}\n")
    text = (pod.format(api="v1", kind="Pod", value="Pz4kLm9QwE2rTy7U") + "---\n"  # secretkeeper:allow (synthetic)
            "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-env-secrets}\n")
    src = tmp_path / "a.yaml"
    src.write_text(text)
    res = run_cli(["migrate", "env-to-files", str(src), "--format", "json"])
    names = [w["new_secret"]["name"] for w in json.loads(res.stdout)["workloads"] if w["new_secret"]]
    assert names == ["shop-pod-env-secrets"]  # shop-env-secrets exists beside it
