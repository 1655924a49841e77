"""Detection by path context (issue #15): weak values where they are real, reported where they are, and
pod specs found by shape. Each test scans real files with the CLI or the shipped detector."""

from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path

import pytest

from secretkeeper.config import Config
from secretkeeper.filters import path_context
from secretkeeper.pipeline import build_detector

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def detector():
    return build_detector(Config())


def _rand(n: int = 20) -> str:
    rng = random.SystemRandom()
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.mark.parametrize(("path", "context"), [
    (".pgpass", "credential-file"), ("home/u/.netrc", "credential-file"), (".git-credentials", "credential-file"),
    ("proj/sftp-config.json", "credential-file"), ("WinSCP.ini", "credential-file"),
    (".aws/credentials", "credential-file"), (".kube/config", "credential-file"), (".docker/config.json", "credential-file"),
    ("FileZilla/sitemanager.xml", "credential-file"), ("profile/logins.json", "credential-file"),
    (".env", "config"), (".env.production", "config"), ("src/main/resources/application.yml", "config"),
    ("app.properties", "config"), ("appsettings.Development.json", "config"), ("wp-config.php", "config"),
    ("config/settings.ini", "config"), ("deploy/k8s.yaml", "config"),
    ("firmware/include/arduino_secrets.h", "config"), ("config/prod.secret.exs", "config"),
    ("Jenkinsfile", "config"), ("ci/Jenkinsfile.release", "config"), ("Dockerfile", "config"),
    ("docker/api.dockerfile", "config"), ("src/credentials.ts", "source"), ("app/secrets.py", "source"),
    (".env.example", "example"), ("config.yml.dist", "example"), ("settings.sample.ini", "example"),
    ("wp-config-sample.php", "example"), ("app.template.json", "example"),
    ("src/app.py", "source"), ("tests/fixtures/app.yml", "source"), ("src/Login.java", "source"),
    ("locales/en.json", "source"), (None, "source"),
])
def test_path_context(path, context) -> None:
    assert path_context(path) == context


def _ids(detector, text: str, path: str) -> set[str]:
    return {m.rule.id for m in detector.scan(text.encode(), path)}


@pytest.mark.parametrize("value", ["admin123", "testpass", "dummy-pass", "password123", "sampleHerokuKey"])
def test_weak_value_is_a_finding_in_config_and_credential_files_only(detector, value) -> None:
    assert _ids(detector, f"DB_PASSWORD={value}\n", "app/.env")
    assert _ids(detector, f"machine h login u password {value}\n", ".netrc")
    assert _ids(detector, f"spring.datasource.password={value}\n", "src/main/resources/application.properties")
    assert not _ids(detector, f"DB_PASSWORD={value}\n", "app/.env.example")
    assert not _ids(detector, f"DB_PASSWORD={value}\n", "app/.env.dist")


@pytest.mark.parametrize("value", ["${DB_PASSWORD}", "{{ db_password }}", "%(password)s", "<your-password>",
                                   "changeme", "password", "xxxxxxxx", "$REACT_APP_URL/forgot"])
def test_templates_and_field_words_are_not(detector, value) -> None:
    assert not _ids(detector, f"DB_PASSWORD={value}\n", "app/.env")


def test_credential_file_reports_even_the_field_word(detector) -> None:
    assert _ids(detector, "db:5432:app:app:password\n", ".pgpass") == {"pgpass-password"}
    assert not _ids(detector, "db:5432:app:app:${PGPASSWORD}\n", ".pgpass")


def test_git_credentials_user_with_at_and_password_with_hash_and_at(detector) -> None:
    hits = detector.scan(b"https://user@example.org:p#@ss@git.example.org\n", "home/.git-credentials")
    assert [(m.rule.id, m.secret) for m in hits] == [("git-credentials-file", b"p#@ss")]


@pytest.mark.parametrize("line", ['edenai_token={v}', 'edenai_key = "{v}"', '"x_api_token": "{v}",',
                                  'EdenAI-Token: {v}'])
def test_secret_like_key_names_in_any_case_and_quoting(detector, line) -> None:
    assert _ids(detector, line.format(v=_rand()) + "\n", "src/clients.py")


@pytest.mark.parametrize(("path", "text"), [
    ("src/page.js", 'this.addPassword = "#add-password";'),
    ("src/labels.js", 'passwordLabel: "Password:",'),
    ("src/storage.js", 'const key = Buffer.from("accountKey", "base64");'),
    ("docs/setup.html", "<code>password=&lt;YOURPASSWORD&gt;</code>"),
    (".env", "FORGOT_PASSWORD=$REACT_APP_URL/forgot"),
    ("tests/fixtures/tokens.py", 'FAKE_GITHUB_TOKEN = "ghp_{r36}"'),
    ("config.toml.example", 'token = "glrt-REPLACE_WITH_RUNNER_TOKEN"'),
    ("src/map.js", "mapboxgl.accessToken = 'pk.eyJ1Ijoi{r40}.{r22}';"),
    (".env", "SENTRY_DSN=https://0c2273ecfd564271dc27f59820a22494@o1.ingest.sentry.io/1"),
    (".env", "STRIPE_PUBLISHABLE_KEY=pk_live_{r40}"),
    ("src/search.js", 'const algoliaSearchOnlyApiKey = "6be0576ff61c053d5f9a3225e2a90f76";'),
])
def test_false_positives_of_real_code_stay_silent(detector, path, text) -> None:
    text = text.format(r36=_rand(36), r40=_rand(40), r22=_rand(22))
    assert not _ids(detector, text + "\n", path)


@pytest.mark.parametrize(("path", "text", "rule"), [
    ("net/core.cfg", "enable secret cisco123", "network-device-password"),
    ("net/core.cfg", "snmp-server community n0c-r3ad RO", "snmp-server-community"),
    ("net/core.cfg", "  password 7 0822455D0A16", "cisco-type7-password"),
    ("firmware/secrets.h", '#define WIFI_PASSWORD "homewifi1"', "wifi-password"),
    ("appsettings.json", '{"Default": "Server=sql;Database=app;User Id=sa;Password=Winter2024;"}', None),
    ("notes/ad.md", "Administrator:500:aad3b435b51404eeaad3b435b51404ee:fc525c9683e8fe067095ba2ddc971889:::",
     "ntlm-hash-dump"),
])
def test_passwords_where_projects_keep_them(detector, path, text, rule) -> None:
    ids = _ids(detector, text + "\n", path)
    assert ids and (rule is None or rule in ids)


_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:1
        env:
        - name: DB_PASSWORD
          value: "{pw}"
"""
_KSVC = """\
{{
  "apiVersion": "serving.knative.dev/v1",
  "kind": "Service",
  "metadata": {{"name": "hello"}},
  "spec": {{
    "template": {{
      "spec": {{
        "containers": [
          {{
            "image": "hello:1",
            "env": [
              {{
                "name": "API_TOKEN",
                "value": "{pw}"
              }}
            ]
          }}
        ]
      }}
    }}
  }}
}}
"""
_PATCH = """\
apiVersion: example.com/v1
kind: BatchRunner
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: run
            env:
            - name: ADMIN_PASSWORD
              value: {pw}
"""


def _scan_json(run_cli, root: Path) -> list[dict]:
    res = run_cli(["scan", str(root), "--no-history", "--format", "json"])
    assert res.code == 1, res.stderr
    return json.loads(res.stdout)["findings"]


def test_env_literal_hygiene_at_the_name_leak_at_the_value(make_tree, run_cli) -> None:
    root = make_tree({"rollout.yaml": _ROLLOUT.format(pw=_rand(14)), "ksvc.json": _KSVC.format(pw=_rand(22)),
                      "patch.yaml": _PATCH.format(pw="admin123")})
    got = {(f["location"]["path"], f["kind"], f["rule_id"]): f["location"]["line"] for f in _scan_json(run_cli, root)}
    assert got[("rollout.yaml", "hygiene", "k8s-env-secret-literal")] == 12
    assert got[("rollout.yaml", "leak", "k8s-env-named-value")] == 13
    assert got[("ksvc.json", "hygiene", "k8s-env-secret-literal")] == 13  # the "name": line, not its `{`
    assert got[("ksvc.json", "leak", "k8s-env-named-value")] == 14
    assert got[("patch.yaml", "leak", "k8s-env-named-value")] == 14  # a custom resource, found by shape
    # A patch holding only the changed containers (no image) is not judged on the pod settings it omits.
    assert ("patch.yaml", "hygiene", "k8s-run-as-root") not in got


def test_weak_flag_and_end_line_in_every_report(make_tree, run_cli) -> None:
    import base64
    import os
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(b"\x5a" + os.urandom(1191)).decode(), 64))  # key-sized
    root = make_tree({".env": "DB_PASSWORD=admin123\n",
                      "deploy/id_rsa": f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"})
    findings = _scan_json(run_cli, root)
    weak = [f for f in findings if f["location"]["path"] == ".env"]
    assert weak and all(f["weak"] is True and f["extra"]["weak"] is True for f in weak)
    sarif = json.loads(run_cli(["scan", str(root), "--no-history", "--format", "sarif"]).stdout)
    results = sarif["runs"][0]["results"]
    assert any(r["properties"].get("weak") is True for r in results)
    text = run_cli(["scan", str(root), "--no-history"]).stdout
    assert "weak value" in text
    assert "admin123" not in text and "admin123" not in json.dumps(sarif)
    # The key block spans lines: its finding says where it ends, in JSON and in SARIF.
    key_finding = next(f for f in findings if f["location"]["path"] == "deploy/id_rsa")
    assert key_finding["location"]["line"] == 1 and key_finding["location"]["end_line"] >= 13
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in results
               if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("id_rsa")]
    assert regions and regions[0]["endLine"] == key_finding["location"]["end_line"]


def test_context_corpus_precision_and_recall(tmp_path) -> None:
    """The generated corpus of benchmarks/bench_contexts.py: every class found, no look-alike flagged."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_contexts
    finally:
        sys.path.pop(0)
    labels = bench_contexts.build(tmp_path, rounds=2)
    hits = bench_contexts.flagged(tmp_path, ROOT)
    planted = {k for k, (_c, s) in labels.items() if s}
    alikes = {k for k, (_c, s) in labels.items() if s is False}
    scored = {k for k, (_c, s) in labels.items() if s is not None}
    assert planted - hits == set()
    assert hits & alikes == set()
    assert {h for h in hits if h not in labels or (h not in scored and labels[h][1] is not None)} == set()
