"""Hygiene rules: the catalog's own examples, names, certificates, live (cluster) objects, stable fingerprints."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json

import pytest

from scanners.manifests import scan_manifest
from secretkeeper.config import Config
from secretkeeper.findings import Severity
from secretkeeper.hygiene import HYGIENE_RULES, check_objects, is_secret_like_name, value_leaks
from secretkeeper.hygiene.certs import scan_certificate_file
from secretkeeper.hygiene.examples import check_examples, check_rule, make_certificate
from secretkeeper.kube.manifests import parse_manifests
from secretkeeper.kube.objects import KubeObject
from secretkeeper.pipeline import build_detector
from tests.conftest import make_token


@pytest.fixture(scope="module")
def detector():
    return build_detector(Config())


@pytest.mark.parametrize("rule", HYGIENE_RULES, ids=[r.id for r in HYGIENE_RULES])
def test_catalog_examples(detector, rule):
    assert rule.true and rule.false, "every hygiene rule needs true and false examples"
    assert check_rule(detector, rule) == []


def test_catalog_metadata():
    ids = [r.id for r in HYGIENE_RULES]
    assert len(ids) == len(set(ids))
    assert {"k8s-env-secret-literal", "k8s-env-secret-ref"} <= set(ids)
    by_id = {r.id: r for r in HYGIENE_RULES}
    assert by_id["k8s-env-secret-literal"].severity is Severity.HIGH
    assert by_id["k8s-env-secret-ref"].severity is Severity.MEDIUM
    assert by_id["k8s-secret-plaintext-manifest"].severity is Severity.HIGH
    for r in HYGIENE_RULES:
        assert "`secretkeeper " in r.remediation, r.id
        assert r.description and r.kind == "hygiene"


def test_all_examples_including_certificate_files(detector):
    assert check_examples(detector) == []


@pytest.mark.parametrize("name, flagged", [
    ("DB_PASSWORD", True), ("MYSQL_ROOT_PASSWORD", True), ("PGPASSWORD", True), ("API_KEY", True),
    ("STRIPE_APIKEY", True), ("AWS_SECRET_ACCESS_KEY", True), ("GITHUB_TOKEN", True), ("PRIVATE_KEY", True),
    ("GOOGLE_APPLICATION_CREDENTIALS_JSON", True), ("stripe.apiKey", True), ("db-password", True),
    ("BASIC_AUTH", True), ("SMTP_PASS", True),
    ("DB_PASSWORD_FILE", False), ("TLS_KEY_PATH", False), ("TOKEN_TTL", False), ("SECRET_NAME", False),
    ("AUTH_URL", False), ("LOG_LEVEL", False), ("AWS_ACCESS_KEY_ID", False), ("TOKENIZER_MODEL", False),
    ("PASSWORD_MIN_LENGTH", False), ("AUTHOR", False), ("KEYCLOAK_REALM", False),
])
def test_secret_like_names(name, flagged):
    assert is_secret_like_name(name) is flagged


# -- findings shape ---------------------------------------------------------------------------------------
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        image: shop/web:1.0
        env:
        - name: DB_PASSWORD
          value: Xk9mQ2vLp7Rt
        - name: API_KEY
          valueFrom:
            secretKeyRef: {name: shop-api, key: key}
"""


def test_env_findings_location_and_no_value(detector):
    found = scan_manifest(DEPLOY.encode(), "k8s/web.yaml", detector)
    (lit,) = [f for f in found if f.rule_id == "k8s-env-secret-literal"]
    (ref,) = [f for f in found if f.rule_id == "k8s-env-secret-ref"]
    assert lit.kind == ref.kind == "hygiene"
    assert lit.location.line == 13 and ref.location.line == 15
    assert lit.location.object == "Deployment/shop/web/app/env DB_PASSWORD"
    assert ref.location.object == "Deployment/shop/web/app/env API_KEY"
    assert lit.location.source == "manifest" and lit.location.path == "k8s/web.yaml"
    assert lit.secret_sha256 and lit.preview.endswith("…") and len(lit.preview) <= 5
    assert ref.secret_sha256 is None and ref.preview == ""
    for f in found:
        assert "Xk9mQ2vLp7Rt" not in json.dumps(f.to_dict())
        assert f.remediation


def test_fingerprints_survive_line_moves(detector):
    moved = DEPLOY.replace("        env:\n", "        ports: [{containerPort: 80}]\n        env:\n")
    a = {f.fingerprint: f.location.line for f in scan_manifest(DEPLOY.encode(), "k8s/web.yaml", detector)}
    b = {f.fingerprint: f.location.line for f in scan_manifest(moved.encode(), "k8s/web.yaml", detector)}
    assert set(a) == set(b) and a != b


def test_severities_scale_with_scope(detector):
    text = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: ns}\n"
            "roleRef: {kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: User, name: bob}\n---\n"
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: one}\nrules:\n"
            "- apiGroups: ['']\n  resources: [secrets]\n  resourceNames: [app-tls]\n  verbs: [get]\n")
    found = {f.rule_id: f for f in scan_manifest(text.encode(), "rbac.yaml", detector)}
    assert found["k8s-rbac-cluster-admin-binding"].severity is Severity.MEDIUM
    assert found["k8s-rbac-secrets-read"].severity is Severity.LOW
    assert found["k8s-rbac-secrets-read"].location.line == 12


def test_legacy_token_labels_are_reported(detector):
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  labels:\n"
            "    kubernetes.io/legacy-token-last-used: '2026-01-10'\n"
            "    kubernetes.io/legacy-token-invalid-since: '2026-02-11'\ntype: kubernetes.io/service-account-token\n")
    (f,) = [f for f in scan_manifest(text.encode(), "t.yaml", detector) if f.rule_id == "k8s-legacy-sa-token"]
    assert "last used 2026-01-10" in f.message and "invalid since 2026-02-11" in f.message
    assert f.extra == {"last_used": "2026-01-10", "invalid_since": "2026-02-11"}
    assert f.location.line == 2


def test_configmap_credential_recognised_by_engine_is_high(detector):
    token = make_token()
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  upstream: {token}\n"
    (f,) = [f for f in scan_manifest(text.encode(), "c.yaml", detector) if f.rule_id == "k8s-configmap-secret"]
    assert f.severity is Severity.HIGH and f.location.line == 5 and token not in f.message


def test_configmap_public_client_keys_are_not_secrets(detector):
    """A Sentry DSN's public key and a CAPTCHA site key are made for the browser; a secret-like key name
    alone does not make them secrets."""
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata:\n"
            "  SENTRY_DSN: https://40f4b0277ca1784d1ad5f19bc36b49b9@o174978.ingest.sentry.io/2564925\n"
            "  RECAPTCHA_SITE_KEY: 6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIU\n"
            "  RECAPTCHA_SECRET_KEY: 6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIV\n")
    flagged = [f.location.line for f in scan_manifest(text.encode(), "c.yaml", detector)
               if f.rule_id == "k8s-configmap-secret"]
    assert flagged == [7]


def test_automount_cross_object(detector):
    text = ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: a}\n"
            "automountServiceAccountToken: false\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  serviceAccountName: quiet\n"
            "  containers:\n  - {name: c, image: x}\n")
    ids = {f.rule_id for f in scan_manifest(text.encode(), "p.yaml", detector)}
    assert "k8s-sa-token-automount" not in ids and "k8s-default-service-account" not in ids


# -- certificates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("days, severity", [(12, Severity.MEDIUM), (-4, Severity.HIGH), (90, None)])
def test_tls_secret_expiry(detector, days, severity):
    crt = base64.b64encode(make_certificate(days, "shop.example.test")).decode()
    text = (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: web-tls, namespace: shop}}\n"
            f"type: kubernetes.io/tls\ndata:\n  tls.crt: {crt}\n  tls.key: ''\n")
    found = [f for f in scan_manifest(text.encode(), "tls.yaml", detector) if f.rule_id == "tls-cert-expiry"]
    if severity is None:
        assert found == []
        return
    (f,) = found
    assert f.severity is severity and f.location.line == 6
    assert f"{abs(days)} days" in f.message and "shop.example.test" in f.message
    assert f.extra["days_left"] == days


def test_certificate_file_expiry():
    now = dt.datetime.now(dt.UTC)
    pem = b"# chain\n" + make_certificate(3) + make_certificate(365)
    (f,) = scan_certificate_file(pem, "certs/chain.pem", now)
    assert f.location.line == 2 and f.location.source == "file" and "expires in 3 days" in f.message


def test_certificate_file_through_cli(make_tree, run_cli):
    root = make_tree({"certs/server.crt": make_certificate(-1).decode()})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    doc = json.loads(res.stdout)
    assert [f["rule_id"] for f in doc["findings"]] == ["tls-cert-expiry"]
    assert doc["findings"][0]["severity"] == "high" and res.code == 1


# -- live objects (cluster) ---------------------------------------------------------------------------------
def test_cluster_objects_have_no_lines_and_work(detector):
    token = make_token()
    (manifest,), _ = parse_manifests(DEPLOY.encode(), "x.yaml")
    body = copy.deepcopy(manifest.body)
    body["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "UPSTREAM", "value": token})
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
              "type": "Opaque", "data": {"token": base64.b64encode(token.encode()).decode()}}
    objects = [KubeObject(body, source="cluster"), KubeObject(secret, source="cluster")]
    found = check_objects(objects, detector)
    lit = {f.location.object for f in found if f.rule_id == "k8s-env-secret-literal"}
    assert lit == {"Deployment/shop/web/app/env DB_PASSWORD", "Deployment/shop/web/app/env UPSTREAM"}
    assert all(f.location.source == "cluster" and f.location.line is None and f.location.path is None
               for f in found)
    assert not any(f.rule_id == "k8s-secret-plaintext-manifest" for f in found)  # Secrets live in clusters
    leaks = value_leaks(objects, detector)
    assert {(f.rule_id, f.location.object) for f in leaks} >= {
        ("github-pat-classic", "Secret/shop/s/data token"),
    }
    assert any(f.location.object.startswith("Deployment/shop/web/") for f in leaks)
    for f in found + leaks:
        assert token not in json.dumps(f.to_dict())


def test_rules_list_shows_hygiene_rules(run_cli):
    res = run_cli(["rules", "list", "-f", "json"])
    assert res.code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)}
    for rule in HYGIENE_RULES:
        assert rows[rule.id]["kind"] == "hygiene" and rows[rule.id]["severity"] == rule.severity.value
    text = run_cli(["rules", "list"]).stdout
    assert "k8s-env-secret-literal" in text and "hygiene rules" in text


def test_cluster_role_bound_only_in_a_namespace_is_medium(detector):
    role = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules:\n"
            "- apiGroups: ['']\n  resources: [secrets]\n  verbs: [list]\n")
    rb = ("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: r, namespace: a}\n"
          "roleRef: {kind: ClusterRole, name: reader}\nsubjects:\n- {kind: ServiceAccount, name: x, namespace: a}\n")
    crb = rb.replace("kind: RoleBinding", "kind: ClusterRoleBinding")

    def severity(text):
        (f,) = [f for f in scan_manifest(text.encode(), "r.yaml", detector) if f.rule_id == "k8s-rbac-secrets-read"]
        return f.severity

    assert severity(role) is Severity.HIGH
    assert severity(role + rb) is Severity.MEDIUM
    assert severity(role + rb + crb) is Severity.HIGH


def test_recogniser_index_finds_what_the_plain_loop_finds():
    """Past a few dozen matches in a file, values are looked up by prefix (a manifest of thousands of
    workloads with a credential each was quadratic): same answer as trying every match, including the
    first match in file order when a value holds several, and values holding none."""
    import random

    from secretkeeper.engine import Match
    from secretkeeper.hygiene.base import Recogniser

    rng = random.Random(11)
    rules = [type("R", (), {"id": f"rule-{i}"})() for i in range(5)]
    alphabet = b"abcdefgh"
    for trial in range(40):
        secrets = [bytes(rng.choice(alphabet) for _ in range(rng.randrange(4, 12))) for _ in range(rng.randrange(1, 90))]
        secrets += [b"", b"  "]  # blank secrets never match
        matches = [Match(rng.choice(rules), 0, len(s), s, 1, 0) for s in secrets]
        fast = Recogniser(None, matches)
        plain = Recogniser(None, matches)
        plain.by_prefix = None
        assert (fast.by_prefix is not None) == (len([s for s in secrets if s.strip()]) > Recogniser._INDEX_FROM)
        for _ in range(30):
            noise = "".join(rng.choice("abcdefgh:/@ ") for _ in range(rng.randrange(0, 40)))
            held = ":".join(rng.choice(secrets).decode() for _ in range(rng.randrange(1, 4)))  # several secrets
            for value in (noise, held, f"{noise}@{held}"):
                assert fast(value, None) == plain(value, None), (trial, value)


def test_leaks_in_a_many_document_manifest_name_their_own_object(detector):
    """Each leak is attributed to the object whose document holds it, in a file of many documents."""
    docs = "".join(f"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\nspec:\n  containers:\n"
                   f"    - name: c\n      image: nginx\n      env:\n        - name: GITHUB_TOKEN\n"
                   f"          value: {make_token()}\n" for i in range(60))
    found = scan_manifest(docs.encode(), "pods.yaml", detector)
    leaks = [f for f in found if f.rule_id == "github-pat-classic"]
    assert len(leaks) == 60
    assert all(f.location.object == f"Pod/-/p{(f.location.line - 12) // 12}" for f in leaks)
    literals = [f for f in found if f.rule_id == "k8s-env-secret-literal"]
    assert len(literals) == 60 and all("github-pat-classic" in f.message for f in literals)
