"""A secret in a name (object, container, env var, data key, path, git author, image Env/Label key) is
redacted wherever the name is printed, like the secret itself."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.bounded import FORMATS
from tests.conftest import make_token, make_tree


# -- 4. secrets in names ----------------------------------------------------------------------------------
def _manifests(tok: str) -> dict[str, str]:
    """The canary where a Kubernetes object keeps names, each beside a finding the object produces."""
    low = tok.lower().replace("_", "-")
    return {
        "deploy.yaml": f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{low}
  namespace: ns-{low}
spec:
  template:
    spec:
      serviceAccountName: sa-{low}
      containers:
        - name: c-{low}
          image: nginx
          env:
            - name: {tok}
              value: "hunter2-is-not-a-password-Zq8x"
            - name: DB_PASSWORD
              value: "{tok}"
""",
        "cm.yaml": f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  {tok}: "api_token = {make_token()}"
""",
        "secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  {tok}: "{make_token()}"
""",
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_in_object_names_is_redacted(tmp_path, run_cli, fmt):
    tok = make_token()
    root = make_tree(tmp_path / "repo", _manifests(tok))
    res = run_cli(["scan", root, "--no-history", "-f", fmt])
    assert res.code == 1, res.output
    assert tok not in res.output and tok.lower().replace("_", "-") not in res.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_in_a_path_is_redacted(tmp_path, run_cli, fmt):
    tok, inner = make_token(), make_token()
    root = make_tree(tmp_path / "repo", {f"backup-{tok}/notes.txt": f"token = {inner}\n"})
    res = run_cli(["scan", root, "--no-history", "-f", fmt])
    assert res.code == 1, res.output
    assert tok not in res.output and inner not in res.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_in_git_author_is_redacted(tmp_path, run_cli, fmt):
    tok, inner = make_token(), make_token()
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-C", str(root), "-c", f"user.name=dev {tok}", "-c", f"user.email={tok}@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / "a.txt").write_text(f"token = {inner}\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "add"], check=True)
    (root / "a.txt").write_text("gone\n")
    subprocess.run([*git, "commit", "-qam", "remove"], check=True)
    res = run_cli(["scan", root, "-f", fmt])
    assert res.code == 1, res.output
    assert tok not in res.output and inner not in res.output


def _random(alphabet: str, n: int) -> str:
    import secrets

    from secretkeeper.filters import is_placeholder

    while True:
        text = "".join(secrets.choice(alphabet) for _ in range(n))
        if not is_placeholder(text.encode()):  # e.g. "...tbd..." is dropped as a placeholder
            return text


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
OTHER_SECRETS = {  # other vendors, and a password that only the name it is stored under marks
    "aws": lambda: "AKIA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "aws-letters": lambda: "AKIA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 16),  # base32 without a digit, by chance
    "slack": lambda: f"xoxb-{_random('0123456789', 10)}-{_random('0123456789', 13)}-{_random(_ALNUM, 24)}",
    "gitlab": lambda: "glpat-" + _random(_ALNUM, 20),
    "password": lambda: _random(_ALNUM, 15) + "7",  # not a plain word (see Scrubber)
}


@pytest.mark.parametrize("kind", sorted(OTHER_SECRETS))
def test_other_secrets_in_object_names_are_redacted(tmp_path, run_cli, kind):
    """Each in every name field, as written and as a Kubernetes name spells it. The password is known as
    one only in deploy.yaml (a DB_PASSWORD literal), and still redacted where cm.yaml and secret.yaml use
    it as a key."""
    secret = OTHER_SECRETS[kind]()
    root = make_tree(tmp_path / "repo", _manifests(secret))
    for fmt in FORMATS:
        res = run_cli(["scan", root, "--no-history", "-f", fmt])
        assert res.code == 1, res.output
        assert secret not in res.output and secret.lower().replace("_", "-") not in res.output, fmt


def test_token_of_a_manifest_is_redacted_in_the_names_of_its_objects(tmp_path, run_cli):
    """The token is only in an annotation (a leak, no hygiene finding holds it): its lower-case spelling
    in the workload's name is still redacted in the workload's hygiene findings."""
    tok = make_token()
    low = tok.lower().replace("_", "-")
    root = make_tree(tmp_path / "repo", {"pod.yaml": f"""\
apiVersion: v1
kind: Pod
metadata:
  name: build-{low}
  annotations:
    ci/token: "{tok}"
spec:
  containers:
    - name: app
      image: nginx
"""})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    assert tok not in res.output and low not in res.output
    assert {f["location"]["object"] for f in json.loads(res.stdout)["findings"]} >= {"Pod/-/build-ghp-…"}


def test_a_plain_word_password_leaves_the_names_that_spell_it(tmp_path, run_cli):
    """`POSTGRES_PASSWORD: postgres` is reported, and the database stays named: redacting every
    `postgres` (the file, the workload, the image) would hide nothing and break code-scanning links."""
    root = make_tree(tmp_path / "repo", {"postgres/db.yaml": """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  template:
    spec:
      containers:
        - name: postgres
          image: postgres:16
          env:
            - name: POSTGRES_PASSWORD
              value: postgres
"""})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    found = json.loads(res.stdout)["findings"]
    assert "k8s-env-secret-literal" in {f["rule_id"] for f in found}
    assert {(f["location"]["path"], f["location"]["object"].split("/")[2]) for f in found} \
        == {("postgres/db.yaml", "postgres")}


def test_secret_in_a_warning_and_a_skipped_path_is_redacted(tmp_path, run_cli):
    tok = make_token()
    root = make_tree(tmp_path / "repo", {
        f"bad-{tok}.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: [unclosed\n",  # a warning and a skip
        "a.txt": f"token = {make_token()}\n",
    })
    for fmt in FORMATS:
        res = run_cli(["scan", root, "--no-history", "-f", fmt])
        assert res.code == 1, res.output
        assert "warning" in res.stderr and tok not in res.output, fmt
    doc = json.loads(run_cli(["scan", root, "--no-history", "-f", "json"]).stdout)
    assert doc["skipped"] == [{"path": "bad-ghp_….yaml", "reason": "manifest-error"}]
    assert doc["summary"]["warnings"][0].startswith("bad-ghp_….yaml")


def test_password_in_the_name_of_its_own_file_is_redacted(tmp_path, run_cli):
    """Known as a password only by the name it is assigned to, inside the file: the path holds it
    glued to other text."""
    password = OTHER_SECRETS["password"]()
    root = make_tree(tmp_path / "repo", {f"conf/db{password}.env": f"DB_PASSWORD={password}\n"})
    for fmt in FORMATS:
        res = run_cli(["scan", root, "--no-history", "-f", fmt])
        assert res.code == 1, res.output
        assert password not in res.output, fmt


def test_password_reported_in_one_file_is_redacted_in_another_files_path(tmp_path, run_cli):
    """A word of a printed name whose sha256 is a reported secret's is that secret."""
    password = OTHER_SECRETS["password"]()
    root = make_tree(tmp_path / "repo", {
        "deploy.yaml": _manifests(password)["deploy.yaml"],
        f"dumps/{password}/notes.txt": f"token = {make_token()}\n",
    })
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    assert password not in res.output
    assert "dumps/" + password[:4] + "…/notes.txt" in {f["location"]["path"] for f in json.loads(res.stdout)["findings"]}


def test_secret_in_a_token_label_is_redacted_in_json_extra(tmp_path, run_cli):
    tok = make_token()
    root = make_tree(tmp_path / "repo", {"token.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: legacy
  annotations:
    kubernetes.io/service-account.name: build
  labels:
    kubernetes.io/legacy-token-last-used: "{tok}"
type: kubernetes.io/service-account-token
"""})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    assert tok not in res.output
    legacy = next(f for f in json.loads(res.stdout)["findings"] if f["rule_id"] == "k8s-legacy-sa-token")
    assert legacy["extra"]["last_used"] == "ghp_…"


def test_baseline_of_findings_with_secrets_in_names_holds_none_and_still_suppresses(tmp_path, run_cli):
    """The baseline records paths as reports print them; fingerprints are of the names as scanned."""
    tok = make_token()
    root = make_tree(tmp_path / "repo", {f"backup-{tok}/notes.txt": f"token = {make_token()}\n"})
    base = tmp_path / "baseline.json"
    assert run_cli(["baseline", root, "--no-history", "-o", base]).code == 0
    assert tok not in base.read_text()
    res = run_cli(["scan", root, "--no-history", "--baseline", base])
    assert res.code == 0, res.output


def test_password_committed_by_an_author_whose_email_holds_it_is_redacted(tmp_path, run_cli):
    """Only the history finding knows the password (by the name it is assigned to): the email that
    holds it is redacted because it is a word of the email."""
    password = OTHER_SECRETS["password"]()
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=dev", "-c", f"user.email={password}@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / "db.env").write_text(f"DB_PASSWORD={password}\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "add"], check=True)
    for fmt in FORMATS:
        res = run_cli(["scan", root, "-f", fmt])
        assert res.code == 1, res.output
        assert password not in res.output, fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_in_image_env_name_and_label_key_is_redacted(tmp_path, run_cli, fmt):
    from tests.integration.registry_server import OciLayout

    tok, label_tok = make_token(), make_token()
    layout = OciLayout(tmp_path / "oci")
    desc = layout.image(env=["PATH=/usr/bin", tok], history=[], labels={label_tok: "x"},
                        layers=[{"a.txt": b"hello\n"}])
    layout.tag(desc, "v1")
    empty = make_tree(tmp_path / "empty", {"readme.txt": "hello\n"})
    res = run_cli(["scan", empty, "--no-history", "--image", f"oci:{tmp_path / 'oci'}:v1", "-f", fmt])
    assert res.code == 1, res.output
    assert tok not in res.output and label_tok not in res.output


def test_image_env_entry_without_a_name_is_located_by_its_place(tmp_path, run_cli):
    from tests.integration.registry_server import OciLayout

    tok = make_token()
    layout = OciLayout(tmp_path / "oci")
    layout.tag(layout.image(env=["PATH=/usr/bin", tok], history=[], layers=[{"a.txt": b"hello\n"}]), "v1")
    res = run_cli(["scan", "--image", f"oci:{tmp_path / 'oci'}:v1", "-f", "json"])
    assert res.code == 1, res.output
    assert [f["location"]["object"] for f in json.loads(res.stdout)["findings"]] == ["config/Env[1]"]


# -- 9. JSON of paths that are not UTF-8 --------------------------------------------------------------------
def test_json_report_escapes_non_utf8_paths(tmp_path, run_cli):
    tok = make_token()
    root = tmp_path / "repo"
    root.mkdir()
    name = b"caf\xe9.txt"
    with open(os.path.join(os.fsencode(root), name), "w") as fh:
        fh.write(f"token = {tok}\n")
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1, res.output
    raw = res.stdout.encode("utf-8", "surrogateescape") if isinstance(res.stdout, str) else res.stdout
    raw.decode("utf-8")  # strict: no lone surrogates or raw bytes
    doc = json.loads(res.stdout)
    assert "\udce9" not in json.dumps(doc, ensure_ascii=False)
