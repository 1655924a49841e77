"""Manifest parsing and scanning: lines, formats, refusals, base64 leaks, and `secretkeeper scan` end to end."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from scanners.manifests import is_candidate, scan_manifest
from secretkeeper.config import Config
from secretkeeper.kube.manifests import MAX_MANIFEST_BYTES, parse_manifests
from secretkeeper.pipeline import build_detector
from secretkeeper.results import ScanStats
from tests.conftest import make_token

DATA = Path(__file__).parent / "data" / "k8s"


@pytest.fixture(scope="module")
def detector():
    return build_detector(Config())


def fixture(name: str, token: str = "") -> bytes:
    return (DATA / name).read_bytes().replace(b"@TOKEN@", token.encode())


def line_of(data: bytes, needle: str, nth: int = 1) -> int:
    lines = data.decode().splitlines()
    hits = [i + 1 for i, text in enumerate(lines) if needle in text]
    return hits[nth - 1]


def by_rule(findings, rule_id):
    return [f for f in findings if f.rule_id == rule_id]


# -- parsing --------------------------------------------------------------------------------------------
def test_multi_document_lines_and_objects():
    data = fixture("multi.yaml")
    objects, errors = parse_manifests(data, "multi.yaml")
    assert errors == []
    assert [o.kind for o in objects] == ["Secret", "ConfigMap", "ServiceAccount", "ClusterRole", "Role",
                                         "ClusterRoleBinding", "Secret"]
    secret = objects[0]
    assert secret.path == "multi.yaml" and secret.source == "manifest"
    assert secret.line("kind") == line_of(data, "kind: Secret")
    assert secret.line("data", "password") == line_of(data, "password: WGs5")
    role = objects[3]
    assert role.line("rules", 1) == line_of(data, '- apiGroups: [""]', 2)
    assert role.ref() == "ClusterRole/-/shop-reader"


def test_env_var_lines_point_at_dash_name():
    data = fixture("deployment.yaml", "x")
    (obj,), _ = parse_manifests(data, "deployment.yaml")
    env_path = ("spec", "template", "spec", "containers", 0, "env", 1)
    assert obj.line(*env_path) == line_of(data, "- name: GITHUB_TOKEN")
    assert obj.body["spec"]["replicas"] == 2  # scalars are typed


def test_json_list_items_become_objects():
    data = fixture("list.json")
    objects, errors = parse_manifests(data, "list.json")
    assert errors == []
    assert [(o.kind, o.name) for o in objects] == [("Pod", "tools"), ("ServiceAccount", "tools")]
    pod = objects[0]
    assert pod.line("spec", "hostPID") == line_of(data, '"hostPID"')
    assert pod.body["spec"]["automountServiceAccountToken"] is False


def test_helm_rendered_output_parses():
    data = b"---\n# Source: shop/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n" \
           b"  name: shop\n---\n# Source: shop/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n" \
           b"metadata:\n  name: shop\ndata:\n  a: b\n"
    objects, errors = parse_manifests(data, "rendered.yaml")
    assert errors == [] and [o.kind for o in objects] == ["ServiceAccount", "ConfigMap"]
    assert objects[1].line("kind") == 10


def test_non_kubernetes_documents_are_ignored():
    data = b"name: ci\non: [push]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
    objects, errors = parse_manifests(data, "mixed.yaml")
    assert [o.kind for o in objects] == ["Namespace"] and errors == []


def test_candidate_precheck_is_cheap_and_strict():
    assert is_candidate("a.yaml", b"apiVersion: v1\nkind: Pod\n")
    assert is_candidate("a.json", b'{"apiVersion": "v1", "kind": "Pod"}')
    assert not is_candidate("a.yaml", b"services:\n  web:\n    image: x\n")
    assert not is_candidate("a.py", b"apiVersion: v1\nkind: Pod\n")
    assert is_candidate("Kubefile", b"apiVersion: v1\nkind: Pod\n")


def test_parse_error_is_one_line_and_names_the_file():
    objects, errors = parse_manifests(fixture("broken.yaml"), "k8s/broken.yaml")
    assert objects == []
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("k8s/broken.yaml: invalid YAML at line ")
    assert "unclosed" not in errors[0]  # content is never quoted


def test_yaml_bomb_is_refused_quickly():
    import time

    started = time.perf_counter()
    objects, errors = parse_manifests(fixture("bomb.yaml"), "bomb.yaml")
    assert objects == [] and len(errors) == 1
    assert "YAML bomb" in errors[0] and errors[0].startswith("bomb.yaml:")
    assert time.perf_counter() - started < 2


def test_huge_document_is_refused():
    data = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  big: " + b"a" * (MAX_MANIFEST_BYTES + 1) + b"\n"
    objects, errors = parse_manifests(data, "big.yaml")
    assert objects == [] and "refused" in errors[0] and "byte manifest limit" in errors[0]


def test_anchors_within_reason_are_fine():
    data = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nx: &common {k: v}\ndata:\n  y: *common\n"
    objects, errors = parse_manifests(data, "a.yaml")
    assert errors == [] and objects[0].body["data"]["y"] == {"k": "v"}


# -- scanning -------------------------------------------------------------------------------------------
def test_helm_template_is_skipped_quietly(detector):
    stats = ScanStats()
    found = scan_manifest(fixture("helm-template.yaml"), "chart/templates/secret.yaml", detector, stats=stats)
    assert found == [] and stats.warnings == [] and not stats.skipped.counts


def test_broken_manifest_is_counted_skip_with_warning(detector):
    stats = ScanStats()
    scan_manifest(fixture("broken.yaml"), "k8s/broken.yaml", detector, stats=stats)
    assert stats.skipped.counts["manifest-error"] == 1
    assert stats.warnings and stats.warnings[0].startswith("k8s/broken.yaml:")


def test_a_bug_in_the_checks_is_not_hidden_as_a_warning(detector, monkeypatch):
    import secretkeeper.hygiene

    def broken(obj):
        raise TypeError("a bug in a hygiene check")

    monkeypatch.setattr(secretkeeper.hygiene, "check_secret", broken)
    data = b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: Xk9mQ2vLp7Rt}\n"
    with pytest.raises(TypeError, match="a bug in a hygiene check"):
        scan_manifest(data, "k8s/s.yaml", detector, stats=ScanStats())


def test_text_the_checks_cannot_read_is_a_warning(detector, monkeypatch):
    """An unpaired surrogate (`\\ud800`) is not Unicode text: libyaml refuses it as invalid YAML, and
    ruamel.yaml (the fallback without libyaml) reads it, so the checks meet it; both are warnings, and
    the leaks in the file are still reported."""
    from secretkeeper import yamlsafe

    token = make_token()
    data = (b'{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": '
            b'{"note": "\\ud800", "token": "' + token.encode() + b'"}}\n')
    for cloader in (yamlsafe._CLoader, None):
        monkeypatch.setattr(yamlsafe, "_CLoader", cloader)
        stats = ScanStats()
        found = scan_manifest(data, "k8s/s.json", detector, stats=stats)
        assert stats.skipped.counts["manifest-error"] == 1
        assert len(stats.warnings) == 1 and stats.warnings[0].startswith("k8s/s.json: ")
        assert [f.rule_id for f in found] == ["github-pat-classic"]
    assert stats.warnings == ["k8s/s.json: Kubernetes checks failed (UnicodeEncodeError); leaks still scanned"]


def test_base64_secret_data_leak_found_at_key_line(detector):
    token = make_token()
    encoded = base64.b64encode(token.encode()).decode()
    data = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\n  namespace: ci\ntype: Opaque\ndata:\n"
            f"  user: Ym90\n  token: {encoded}\n").encode()
    found = scan_manifest(data, "k8s/gh.yaml", detector)
    leaks = [f for f in found if f.kind == "leak"]
    assert len(leaks) == 1
    leak = leaks[0]
    assert leak.rule_id == "github-pat-classic" and leak.location.line == 9
    assert leak.location.object == "Secret/ci/gh/data token" and leak.location.source == "manifest"
    plain = by_rule(found, "k8s-secret-plaintext-manifest")
    assert len(plain) == 1 and plain[0].location.line == 2
    for f in found:
        assert token not in json.dumps(f.to_dict()) and encoded not in json.dumps(f.to_dict())


def test_plain_leak_in_manifest_not_reported_twice(detector):
    token = make_token()
    data = fixture("deployment.yaml", token)
    found = scan_manifest(data, "deploy/web.yaml", detector)
    leaks = [f for f in found if f.kind == "leak" and f.rule_id == "github-pat-classic"]
    assert len(leaks) == 1
    assert leaks[0].location.line == line_of(data, token)
    assert leaks[0].location.object == "Deployment/shop/web"
    literal = [f for f in by_rule(found, "k8s-env-secret-literal") if "GITHUB_TOKEN" in f.location.object]
    assert len(literal) == 1 and literal[0].location.line == line_of(data, "- name: GITHUB_TOKEN")
    assert literal[0].secret_sha256 == leaks[0].secret_sha256
    assert "github-pat-classic" in literal[0].message


@pytest.mark.parametrize("key, value, rule", [
    ("DB_PASSWORD", "j:zi*I%_m?-b=7x^j#", "generic-password-assignment"),
    ("db-password", "Qx7mZ2vRk9pLw4\n", "generic-password-assignment"),
    ("api_key", "q8ZvL2mKx7TrW4pN9sBcT3", "generic-api-key-assignment"),
    ("username", "orders_admin", None),
    ("DB_PASSWORD", "changeme", None),
    ("config.json", '{"a": 1}', None),
])
def test_secret_data_value_is_read_with_its_key(detector, key, value, rule):
    """A decoded password has nothing that marks it; the key it is stored under does."""
    encoded = base64.b64encode(value.encode()).decode()
    data = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
            f"  {key}: {encoded}\n").encode()
    leaks = [f for f in scan_manifest(data, "k8s/db.yaml", detector) if f.kind == "leak"]
    if rule is None:
        assert leaks == []
        return
    assert [(f.rule_id, f.location.line, f.location.object) for f in leaks] == [(rule, 7, f"Secret/-/db/data {key}")]
    assert leaks[0].secret_sha256 == hashlib.sha256(value.strip().encode()).hexdigest()


def test_binary_data_in_configmap_is_decoded(detector):
    token = make_token()
    encoded = base64.b64encode(f"token={token}\n".encode()).decode()
    data = (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\nbinaryData:\n  blob: {encoded}\n").encode()
    leaks = [f for f in scan_manifest(data, "c.yaml", detector) if f.kind == "leak"]
    assert [(f.rule_id, f.location.line) for f in leaks] == [("github-pat-classic", 5)]


def test_a_jwt_stored_base64_is_one_finding_at_its_key(detector):
    """The base64 text of Secret data matches jwt-base64 and its decoding matches jwt: one secret, reported
    once, as what the Secret holds."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    jwt = f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part({'iss': 'ci', 'sub': 'deployer'})}.{make_token()[4:]}"
    encoded = base64.b64encode(jwt.encode()).decode()
    data = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: ci}}\ndata:\n  token: {encoded}\n".encode()
    leaks = [f for f in scan_manifest(data, "ci-token.yaml", detector) if f.kind == "leak"]
    assert [(f.rule_id, f.location.line) for f in leaks] == [("jwt", 5)]
    elsewhere = scan_manifest(f"ci:\n  token: {encoded}\n".encode(), "values.yaml", detector)
    assert [f.rule_id for f in elsewhere] == ["jwt-base64"]  # not Secret data: the text is what is stored


# -- end to end through the CLI ---------------------------------------------------------------------------
def test_cli_scan_reports_hygiene_and_leaks(make_tree, run_cli, canary):
    root = make_tree({
        "deploy/web.yaml": fixture("deployment.yaml", canary).decode(),
        "deploy/all.yaml": fixture("multi.yaml").decode(),
        "deploy/list.json": fixture("list.json").decode(),
        "deploy/broken.yaml": fixture("broken.yaml").decode(),
        "chart/templates/secret.yaml": fixture("helm-template.yaml").decode(),
        "docs/notes.yaml": "title: not kubernetes\n",
    })
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    assert canary not in res.output and "Xk9mQ2vLp7Rt" not in res.output
    doc = json.loads(res.stdout)
    kinds = {(f["rule_id"], f["kind"]) for f in doc["findings"]}
    assert ("github-pat-classic", "leak") in kinds
    assert ("k8s-env-secret-literal", "hygiene") in kinds
    assert ("k8s-env-secret-ref", "hygiene") in kinds
    assert ("k8s-secret-plaintext-manifest", "hygiene") in kinds
    assert ("k8s-privileged-container", "hygiene") in kinds
    ref = next(f for f in doc["findings"] if f["rule_id"] == "k8s-env-secret-ref"
               and f["location"]["object"].endswith("env API_KEY"))
    assert ref["location"]["path"] == "deploy/web.yaml" and ref["location"]["source"] == "manifest"
    assert ref["severity"] == "medium" and "secretkeeper migrate" in ref["remediation"]
    assert not any(f["location"]["path"].startswith("chart/") and f["kind"] == "hygiene"
                   for f in doc["findings"])


def test_cli_sarif_marks_hygiene_kind(make_tree, run_cli):
    root = make_tree({"k8s/all.yaml": fixture("multi.yaml").decode()})
    res = run_cli(["scan", root, "--no-history", "-f", "sarif"])
    assert res.code == 1, res.output
    sarif = json.loads(res.stdout)
    results = sarif["runs"][0]["results"]
    rbac = [r for r in results if r["ruleId"] == "k8s-rbac-secrets-read"]
    assert rbac and all(r["properties"]["kind"] == "hygiene" for r in rbac)
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in rbac)
    data = fixture("multi.yaml")
    assert lines == [line_of(data, '- apiGroups: [""]', 2), line_of(data, '- apiGroups: [""]', 3)]
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "k8s-rbac-secrets-read" in rules


def test_sealed_secret_ciphertext_is_not_a_leak(detector):
    found = scan_manifest(fixture("encrypted.yaml"), "k8s/encrypted.yaml", detector)
    assert found == []
    found = scan_manifest(fixture("sops-secret.yaml"), "k8s/sops.yaml", detector)
    assert [f for f in found if f.rule_id == "k8s-secret-plaintext-manifest"] == []


def test_encryption_configuration_identity_first(detector):
    data = fixture("encryption-config.yaml")
    found = scan_manifest(data, "etc/kubernetes/enc.yaml", detector)
    (f,) = [f for f in found if f.rule_id == "k8s-etcd-encryption-identity"]
    assert f.severity.value == "high" and f.location.line == line_of(data, "- identity: {}")


def test_object_properties_are_computed_once():
    """`kind`, `metadata` and the reference are read by every check and finding: computed on first read."""
    from secretkeeper.kube.objects import KubeObject, once

    calls = []

    class Probe:
        @once
        def value(self) -> int:
            calls.append(1)
            return 42

    p = Probe()
    assert (p.value, p.value, len(calls)) == (42, 42, 1)
    assert isinstance(Probe.value, once)
    obj = KubeObject({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}})
    assert (obj.kind, obj.ref(), obj.ref("c")) == ("Pod", "Pod/ns/p", "Pod/ns/p/c")
    assert "kind" in vars(obj) and "_ref" in vars(obj)
