"""`secretkeeper migrate env-to-files` on manifest files: golden outputs on a varied set (every kind with a
pod template, multi-document, `kind: List`, comments, flow style, CRLF, JSON), what the splice leaves
byte-identical, Helm and Kustomize handling, the Secret file, idempotency, and no value in any output.

Regenerate the golden files with UPDATE_GOLDEN=1 (then read the diff: it is the contract)."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from secretkeeper.kube.yamllines import load_documents
from tests.conftest import make_token, run_cli

DATA = Path(__file__).parent / "data" / "migrate"
INPUTS = DATA / "in"
GOLDEN = DATA / "golden"
REWRITTEN = ["cronjob.yaml", "daemonset-crlf.yaml", "deployment.yaml", "list.yaml", "multi.yaml", "pod.json",
             "statefulset.yaml"]
LITERALS = {"deployment.yaml": "Xk9mQ2vLp7RtZ4wB", "multi.yaml": "Zq8wTr4nMbVc7Lp2Hs5K"}  # secretkeeper:allow (synthetic)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """The input set copied and migrated once with --write; (tree, secrets dir, result)."""
    root = tmp_path_factory.mktemp("migrate")
    tree = root / "in"
    shutil.copytree(INPUTS, tree)
    secrets_dir = root / "secrets"
    res = run_cli(["migrate", "env-to-files", str(tree), "--write", "--secrets-dir", str(secrets_dir)], cwd=root)
    assert res.code == 0, res.output
    return tree, secrets_dir, res


@pytest.mark.parametrize("name", REWRITTEN)
def test_golden(migrated, name):
    tree, _, _ = migrated
    out = (tree / name).read_bytes()
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(out)
    assert out == golden.read_bytes()


@pytest.mark.parametrize("name", REWRITTEN)
def test_every_line_outside_the_edits_is_byte_identical(migrated, name):
    """Removed lines are only those of the moved env entries; every other original line is in the output,
    byte for byte, in order (comments, quoting, flow style, separators, CRLF)."""
    before = (INPUTS / name).read_bytes().splitlines(keepends=True)
    after = (migrated[0] / name).read_bytes().splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            for line in before[i1:i2]:
                text = line.decode()
                assert any(word in text for word in ("name:", "value", "secretKeyRef", "key:", "envFrom",
                                                     "secretRef", "prefix:", "securityContext", "]", "\"env\"")), text
    if b"\r\n" in (INPUTS / name).read_bytes():
        assert all(line.endswith(b"\r\n") for line in after)
    for line in before:
        if line.lstrip().startswith(b"#"):
            assert line in after  # every comment line survives


@pytest.mark.parametrize("name", REWRITTEN)
def test_splice_and_structured_edit_agree(migrated, name):
    """The spliced text reads back as exactly the planned object (ops applied to the parsed body)."""
    from secretkeeper.config import Config
    from secretkeeper.hygiene.base import Recogniser
    from secretkeeper.migrate.files import _objects
    from secretkeeper.migrate.ops import apply_ops
    from secretkeeper.migrate.plan import Options, plan_workload
    from secretkeeper.migrate.files import secret_keys
    from secretkeeper.pipeline import build_detector

    recognise = Recogniser(build_detector(Config()))
    src = INPUTS / name
    located = _objects(src.read_text(), src)
    options = Options(secret_keys=secret_keys([loc.obj for loc in located]))
    expected = []
    for loc in located:
        plan = plan_workload(loc.obj, recognise, options)
        expected.append(apply_ops(loc.obj.body, plan.ops) if plan else loc.obj.body)
    got = [loc.obj.body for loc in _objects((migrated[0] / name).read_text(), migrated[0] / name)]
    assert got == expected


def test_diff_by_default_changes_nothing_and_redacts(tmp_path):
    tree = tmp_path / "in"
    shutil.copytree(INPUTS, tree)
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    res = run_cli(["migrate", "env-to-files", str(tree)], cwd=tmp_path)
    assert res.code == 0, res.output
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    assert "+        - name: \"DB_PASSWORD_FILE\"" in res.stdout
    assert "DB_PASSWORD: \"<redacted>\"" in res.stdout and "/dev/null" in res.stdout
    for value in LITERALS.values():
        assert value not in res.output
    assert not (tmp_path / "secretkeeper-secrets").exists()


def test_secret_files_hold_the_values_0600(migrated):
    _, secrets_dir, res = migrated
    shop = secrets_dir / "prod.shop-env-secrets.yaml"
    assert stat.S_IMODE(shop.stat().st_mode) == 0o600
    doc = load_documents(shop.read_text())[0][0].body
    assert doc["stringData"] == {"DB_PASSWORD": LITERALS["deployment.yaml"]}
    assert doc["metadata"]["namespace"] == "prod"
    job = load_documents((secrets_dir / "default.fix-orders-env-secrets.yaml").read_text())[0][0].body
    assert job["stringData"] == {"STRIPE_API_KEY": LITERALS["multi.yaml"]}
    for value in LITERALS.values():
        assert value not in res.output
        for name in REWRITTEN:
            assert value not in (migrated[0] / name).read_text()


def test_volumes_mounts_and_modes(migrated):
    docs, _ = load_documents((migrated[0] / "deployment.yaml").read_text())
    spec = docs[0].body["spec"]["template"]["spec"]
    assert spec["securityContext"]["fsGroup"] == 10001  # non-root: 0440 + the fsGroup it lacked
    volumes = {v["name"]: v["secret"] for v in spec["volumes"] if "secret" in v}
    assert volumes["sk-shop-api"] == {"secretName": "shop-api", "defaultMode": 0o440,
                                      "items": [{"key": "token", "path": "token"}]}
    assert [i["key"] for i in volumes["sk-shop-extra"]["items"]] == ["SMTP_PASSWORD", "WEBHOOK_KEY"]
    web = spec["containers"][0]
    assert all(m["readOnly"] is True and "subPath" not in m for m in web["volumeMounts"][1:])
    env = {e["name"]: e for e in web["env"]}
    assert env["API_TOKEN_FILE"] == {"name": "API_TOKEN_FILE", "value": "/var/run/secrets/shop-api/token"}
    assert env["EXTRA_WEBHOOK_KEY_FILE"]["value"] == "/var/run/secrets/shop-extra/WEBHOOK_KEY"
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"} and "TIMEOUT" in env  # untouched
    assert web["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]
    cron = load_documents((migrated[0] / "cronjob.yaml").read_text())[0][0].body
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "securityContext" not in pod  # root: 0400, no fsGroup
    assert {v["secret"]["defaultMode"] for v in pod["volumes"]} == {0o400}
    assert [m["name"] for m in pod["initContainers"][0]["volumeMounts"]] == ["sk-backup-db"]  # only what it needs
    assert [m["name"] for m in pod["containers"][0]["volumeMounts"]] == ["sk-backup-db", "sk-backup-s3"]


def test_report_says_what_the_application_must_do(migrated):
    text = migrated[2].stderr
    assert "container dump (mysql:8.4): reads *_FILE: $(MYSQL_PASSWORD) in command/args/env no longer expand" in text
    assert "container exporter (quay.io/prometheuscommunity/postgres-exporter:v0.15.0): NEEDS A PERSON" in text
    assert "set the pod's fsGroup to 10001 (it had none)" in text
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE=/var/run/secrets/grafana-admin/password" in text  # grafana's spelling


def test_helm_template_is_reported_not_rewritten(migrated):
    tree, _, res = migrated
    assert (tree / "helm/templates/deployment.yaml").read_bytes() == (INPUTS / "helm/templates/deployment.yaml").read_bytes()
    assert "report only: a Helm template is not rewritten" in res.stderr
    assert "DB_PASSWORD (Secret {{ .Release.Name }}-db key password)" in res.stderr


def test_kustomize_base_gets_a_patch_file(migrated):
    tree, _, _ = migrated
    base = tree / "kustomize/base"
    assert (base / "deployment.yaml").read_bytes() == (INPUTS / "kustomize/base/deployment.yaml").read_bytes()
    patch = load_documents((base / "deployment.env-to-files.patch.yaml").read_text())[0][0].body
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "BILLING_API_KEY", "$patch": "delete"},
                                {"name": "BILLING_API_KEY_FILE", "value": "/var/run/secrets/billing/api-key"}]


def test_second_run_finds_nothing_to_migrate(migrated):
    tree, secrets_dir, _ = migrated
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    res = run_cli(["migrate", "env-to-files", str(tree), "--write", "--secrets-dir", str(secrets_dir)])
    assert res.code == 0, res.output
    assert "nothing to migrate: no file would change" in res.stderr and "wrote" not in res.stderr
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    res = run_cli(["migrate", "env-to-files", str(tree), "--format", "json"])
    assert json.loads(res.stdout)["nothing_to_migrate"] is True


def test_scan_finds_no_env_secrets_after_migration(migrated):
    tree, _, _ = migrated
    files = [str(tree / name) for name in REWRITTEN]
    res = run_cli(["scan", "--no-history", "--format", "json", "--no-progress", *files])
    findings = json.loads(res.stdout)["findings"]
    assert not [f for f in findings if f["rule_id"].startswith("k8s-env-secret-")]
    before = run_cli(["scan", "--no-history", "--format", "json", "--no-progress",
                      *[str(INPUTS / name) for name in REWRITTEN]])
    assert [f for f in json.loads(before.stdout)["findings"] if f["rule_id"].startswith("k8s-env-secret-")]


def test_no_file_env_removes_the_vars(tmp_path):
    src = tmp_path / "d.yaml"
    shutil.copy(INPUTS / "cronjob.yaml", src)
    res = run_cli(["migrate", "env-to-files", str(src), "--write", "--no-file-env", "--mount-root", "/etc/creds"])
    assert res.code == 0, res.output
    pod = load_documents(src.read_text())[0][0].body["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["env"] == [] and pod["initContainers"][0]["env"] == []
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/etc/creds/backup-db"


def test_token_in_env_literal_never_printed(tmp_path):
    token = make_token()
    src = tmp_path / "p.yaml"
    src.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
                   f"    image: x\n    env:\n    - name: GH\n      value: {token}\n")
    for fmt in ("diff", "text", "json"):
        res = run_cli(["migrate", "env-to-files", str(src), "--format", fmt])
        assert res.code == 0 and token not in res.output
        assert "GH" in res.output


def test_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nspec: [unclosed\n")
    res = run_cli(["migrate", "env-to-files", str(bad), "--write"])
    assert res.code == 2 and str(bad) in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run_cli(["migrate", "env-to-files", str(tmp_path / "missing.yaml")])
    assert res.code == 2 and "missing.yaml" in res.stderr
    res = run_cli(["migrate", "env-to-files", str(bad), "--apply"])
    assert res.code == 2 and "--apply needs --cluster" in res.stderr


def test_splice_and_structured_edit_agree_without_file_env():
    """The same agreement when env entries are removed (--no-file-env): flow lists, JSON, CRLF."""
    from secretkeeper.config import Config
    from secretkeeper.hygiene.base import Recogniser
    from secretkeeper.migrate.files import _objects, migrate_files, secret_keys
    from secretkeeper.migrate.ops import apply_ops
    from secretkeeper.migrate.plan import Options, plan_workload
    from secretkeeper.pipeline import build_detector

    recognise = Recogniser(build_detector(Config()))
    results = migrate_files([INPUTS / name for name in REWRITTEN], recognise, Options(file_env=False))
    assert [r.mode for r in results] == ["rewrite"] * len(REWRITTEN)
    for result in results:
        located = _objects(result.original, result.path)
        options = Options(file_env=False, secret_keys=secret_keys([loc.obj for loc in located]))
        expected = []
        for loc in located:
            plan = plan_workload(loc.obj, recognise, options)
            expected.append(apply_ops(loc.obj.body, plan.ops) if plan else loc.obj.body)
        assert [loc.obj.body for loc in _objects(result.new_text, result.path)] == expected, result.path


def test_a_splice_that_does_not_read_back_as_planned_writes_nothing(tmp_path, monkeypatch):
    import secretkeeper.migrate.files as files

    tree = tmp_path / "in"
    shutil.copytree(INPUTS, tree)
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    real = files.apply_edits
    monkeypatch.setattr(files, "apply_edits", lambda text, edits: real(text, edits[:-1]))  # one edit lost
    res = run_cli(["migrate", "env-to-files", str(tree), "--write", "--secrets-dir", str(tmp_path / "s")])
    assert res.code == 2 and "does not read back as planned" in res.stderr
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "s").exists()


def test_a_helm_template_that_is_no_yaml_is_reported_not_fatal(tmp_path):
    chart = tmp_path / "chart/templates"
    chart.mkdir(parents=True)
    (chart / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n"
                                       "    spec:\n      containers:\n{{ include \"containers\" . | indent 6 }}\n"
                                       "  - broken: [\n")
    shutil.copy(INPUTS / "cronjob.yaml", tmp_path / "cronjob.yaml")
    res = run_cli(["migrate", "env-to-files", str(tmp_path), "--write"], cwd=tmp_path)
    assert res.code == 0, res.output
    assert "a Helm template that does not read as YAML without rendering" in res.stderr
    assert "PGPASSWORD_FILE" in (tmp_path / "cronjob.yaml").read_text()
