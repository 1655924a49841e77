"""Detection by path context: precision and recall on a generated corpus of weak and strong credentials.

    python benchmarks/bench_contexts.py                 # this checkout
    python benchmarks/bench_contexts.py --code /path    # another checkout's code (before/after)

The corpus (benchmarks/.work/data/context-corpus-<seed>) is written deterministically, with random values:
for each class of issue #15 a few files per round, every line labelled. True lines: weak and dictionary
passwords in credential files and configuration, secret-like keys in any case, URLs with unusual user
parts, Kubernetes env literals (the value's line), device, firmware and AD credentials. Look-alikes on
the same files: templates, variable references, field-naming words, example files by name, fixtures in
source and tests, UI strings and selectors, encodings, publishable client tokens.

Scoring: a labelled true line is found when a leak finding is on it; every leak finding on a look-alike's
line or on an unlabelled one is a false positive (lines of context and weak values in source and tests,
which keep today's fixture filters, are not scored). Kind `hygiene` findings are not counted (they name the field, not the value).
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 1515
ROUNDS = 6

WORDS = ["admin", "summer", "dragon", "monkey", "welcome", "letmein", "shadow", "master", "sunshine", "qwerty",
         "football", "princess", "password", "secret", "testpass", "dummy-pass", "root", "postgres", "changeit1"]


class Corpus:
    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.labels: dict[tuple[str, int], tuple[str, bool | None]] = {}  # (path, line) -> (class, is secret)

    def weak(self) -> str:
        w = self.rng.choice(WORDS)
        return w + (str(self.rng.randrange(1, 2025)) if w in ("password", "secret") or self.rng.random() < 0.6 else "")

    def strong(self, n: int = 20) -> str:
        return "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def write(self, path: str, cls: str, lines: list[tuple[str, bool | None]]) -> None:
        """`lines`: (text, True = a secret on this line, False = a look-alike, None = neither)."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(text + "\n" for text, _ in lines))
        for i, (_text, label) in enumerate(lines, 1):
            self.labels[(path, i)] = (cls, label)


def build(root: Path, rounds: int = ROUNDS) -> dict[tuple[str, int], tuple[str, bool | None]]:
    c = Corpus(root, random.Random(SEED))
    for r in range(rounds):
        d = f"r{r}"
        # credential files: every non-template value
        c.write(f"{d}/home/.pgpass", "credential-file", [(f"db{r}.internal:5432:app:app:{c.weak()}", True)])
        c.write(f"{d}/home/.netrc", "credential-file", [(f"machine h{r} login u password {c.weak()}", True),
                                                         ("machine h login u password $NETRC_PASSWORD", False)])
        c.write(f"{d}/home/.git-credentials", "credential-file",
                [(f"https://user{r}@example.org:{c.weak()}#@x@git{r}.example.org", True)])
        c.write(f"{d}/home/.esmtprc", "credential-file", [("hostname smtp.example.org:587", None),
                                                           (f'password "{c.weak()}"', True)])
        c.write(f"{d}/home/.my.cnf", "credential-file", [("[client]", None), ("user=root", None),
                                                          (f"password={c.weak()}", True)])
        c.write(f"{d}/proj/sftp-config.json", "credential-file", [("{", None), ('  "user": "deploy",', None),
                                                                   (f'  "password": "{c.weak()}"', True), ("}", None)])
        c.write(f"{d}/proj/.remote-sync.json", "credential-file",
                [(f'{{"hostname": "h", "password": "{c.weak()}"}}', True)])
        c.write(f"{d}/WinSCP.ini", "credential-file", [(f"[Sessions\\u{r}@h]", None),
                                                        (f"Password={c.strong(16).upper()}", True)])
        c.write(f"{d}/.config/robo3t.json", "credential-file", [(f'"userPassword": "{c.weak()}",', True)])
        c.write(f"{d}/home/.aws/credentials", "credential-file", [("[default]", None),
                                                                   (f"aws_secret_access_key = {c.weak()}", True)])
        c.write(f"{d}/home/.kube/config", "credential-file", [("users:", None), ("- name: admin", None),
                                                               ("  user:", None), (f"    token: {c.weak()}", True)])
        c.write(f"{d}/FileZilla/sitemanager.xml", "credential-file",
                [(f"<Server><User>u</User><Pass>{c.weak()}</Pass></Server>", True)])
        # configuration: weak values are findings; templates and field words are not
        c.write(f"{d}/app/.env", "config", [
            (f"DB_PASSWORD={c.weak()}", True), ("DB_PASSWORD_TEMPLATE=${DB_PASSWORD}", False),
            ("FORGOT_PASSWORD=$REACT_APP_URL/forgot", False), ("ADMIN_PASSWORD=changeme", False),
            (f"DATABASE_URL=postgres://app:{c.weak()}@db{r}:5432/app", True), ("SMTP_PASSWORD=", False),
            ("TOKEN_TTL=3600", False)])
        c.write(f"{d}/src/main/resources/application.properties", "config", [
            (f"spring.datasource.password={c.weak()}", True), ("spring.datasource.username=app", None),
            ("app.password.pattern=^[a-z]+$", False)])
        c.write(f"{d}/config/application.yml", "config", [
            ("spring:", None), ("  datasource:", None), (f"    password: {c.weak()}", True),
            ("    token: \"{{ vault_token }}\"", False), ("    secret: \"%(secret)s\"", False)])
        c.write(f"{d}/deploy/settings.ini", "config", [("[db]", None), (f"password = {c.weak()}", True),
                                                        ("password_hint = <your-password>", False)])
        c.write(f"{d}/appsettings.Production.json", "config", [
            ("{", None), ('  "ConnectionStrings": {', None),
            (f'    "Default": "Server=sql{r};Database=app;User Id=sa;Password={c.weak()};"', True), ("  }", None),
            ("}", None)])
        c.write(f"{d}/wp-config.php", "config", [(f"define('DB_PASSWORD', '{c.weak()}');", True),
                                                  ("define('DB_USER', 'wp');", None)])
        c.write(f"{d}/conf/datasource.xml", "config", [(f'<datasource user="app" password="{c.weak()}"/>', True),
                                                        ('<datasource user="app" password="&lt;YOURPASSWORD&gt;"/>', False)])
        c.write(f"{d}/k8s/deploy.yaml", "config", [
            ("apiVersion: apps/v1", None), ("kind: Deployment", None), ("metadata:", None), (f"  name: web{r}", None),
            ("spec:", None), ("  template:", None), ("    spec:", None), ("      containers:", None),
            ("      - name: web", None), ("        image: web:1", None), ("        env:", None),
            ("        - name: DB_PASSWORD", None), (f"          value: {c.weak()}", True),
            ("        - name: LOG_LEVEL", None), ("          value: debug", False)])
        # example files by name and source/tests: weak values stay fixtures
        c.write(f"{d}/app/.env.example", "example", [(f"DB_PASSWORD={c.weak()}", False)])
        c.write(f"{d}/config/app.yml.dist", "example", [(f"password: {c.weak()}", False)])
        c.write(f"{d}/.gitlab-runner/config.toml.example", "example",
                [('  token = "glrt-REPLACE_WITH_RUNNER_TOKEN"', False)])
        # (source and tests keep today's fixture filters: their weak values are not scored either way)
        c.write(f"{d}/tests/test_login.py", "source", [(f'    login("admin", password="{c.weak()}")', None),
                                                        ('FAKE_TOKEN = "ghp_' + c.strong(36) + '"', False)])
        c.write(f"{d}/src/db.py", "source", [(f'password = "{c.weak()}"', None),
                                             (f'password = "{c.strong(14)}!"', True)])
        # secret-like key names in any case and quoting
        c.write(f"{d}/src/clients.py", "named-key", [
            (f'edenai_key = "{c.strong()}"', True), (f'"x_api_token": "{c.strong()}",', True),
            (f"acme_token={c.strong()}", True), (f'sort_key = "created_at_desc_{r}"', False),
            (f'csrf_token = "{c.strong(32)}"', False)])
        # devices, firmware, AD notes
        c.write(f"{d}/net/core{r}.cfg", "devices", [
            (f"hostname core{r}", None), (f"enable secret {c.weak()}", True),
            (f"username admin privilege 15 secret 0 {c.weak()}", True),
            (f"snmp-server community {c.weak()} RO", True), ("snmp-server community public RO", False)])
        c.write(f"{d}/firmware/secrets.h", "devices", [(f'#define WIFI_PASSWORD "{c.weak()}"', True),
                                                       ('#define WIFI_SSID "home"', False)])
        c.write(f"{d}/notes/ad.md", "devices", [
            (f"Administrator:500:aad3b435b51404eeaad3b435b51404ee:{c.hex(32)}:::", True)])
        # false positives of real code
        c.write(f"{d}/web/page.js", "ui", [
            ('this.addPassword = "#add-password";', False), ('  passwordLabel: "Password:",', False),
            ('const key = Buffer.from("accountKey", "base64");', False),
            ("mapboxgl.accessToken = 'pk.eyJ1Ijoi" + c.strong(40) + "." + c.strong(22) + "';", False),
            ('const stripe = Stripe("pk_live_' + c.strong(40) + '");', False),
            ('const algoliaSearchOnlyApiKey = "' + c.hex(32) + '";', False)])
    return c.labels


def flagged(root: Path, code: Path) -> set[tuple[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run([sys.executable, "-m", "secretkeeper.cli", "scan", ".", "--no-history", "--format", "json"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    doc = json.loads(proc.stdout)
    return {(f["location"]["path"], f["location"].get("line") or 0) for f in doc["findings"] if f["kind"] == "leak"}


def score(labels: dict[tuple[str, int], tuple[str, bool | None]], hits: set[tuple[str, int]]) -> list[list[str]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # planted, found, look-alikes, flagged
    for key, (cls, secret) in labels.items():
        if secret is None:
            continue  # neither: a line of context, or a value scored by no class (source fixtures)
        row = per[cls]
        if secret:
            row[0] += 1
            row[1] += key in hits
        else:
            row[2] += 1
            row[3] += key in hits
    fp_unlabelled = len([h for h in hits if h not in labels])
    rows = []
    tp = sum(r[1] for r in per.values())
    fp = sum(r[3] for r in per.values()) + fp_unlabelled
    for cls, (planted, found, alikes, wrong) in sorted(per.items()):
        rows.append([cls, f"{found}/{planted}" if planted else "-", f"{wrong}/{alikes}" if alikes else "-"])
    planted = sum(r[0] for r in per.values())
    rows.append(["all", f"{tp}/{planted} (recall {tp / max(planted, 1):.3f})",
                 f"{fp} false positives (precision {tp / max(tp + fp, 1):.3f})"])
    return rows


def main(argv: list[str]) -> int:
    code = Path(argv[argv.index("--code") + 1]).resolve() if "--code" in argv else ROOT
    with tempfile.TemporaryDirectory(prefix="sk-contexts-") as tmp:
        root = Path(tmp)
        labels = build(root)
        hits = flagged(root, code)
        rows = score(labels, hits)
    print(f"## contexts\n\nCorpus: {ROUNDS} rounds, seed {SEED}, {len(labels)} labelled lines; code: `{code}`.\n")
    print("| class | planted found | look-alikes flagged |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
