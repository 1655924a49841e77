"""Detection accuracy: precision and recall of secretkeeper and detect-secrets on a labelled corpus.

The corpus (benchmarks/.work/data/accuracy-corpus) is generated deterministically: several hundred files
written the way real repositories look — application code, .env/YAML/properties/XML/JSON/INI config,
credential files (.pgpass, .netrc, .npmrc, docker config.json, AWS credentials, kubeconfig), PEM files,
connection strings — with planted *synthetic* secrets and, as often, look-alikes that must not be
reported (placeholders, environment references, lockfile hashes, UUIDs, git SHAs, public keys and
certificates, credential-free URLs). The corpus was written from how real files look, not from our rules.

Scoring: a planted secret is found when a tool reports a finding on a line of its span (the BEGIN line for
a PEM block). Every reported (file, line) that is not on a planted secret is a false positive. Precision =
true (file, line) reports / all (file, line) reports; recall by family = planted secrets found / planted.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import string
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_files import KINDS
from common import SECRETKEEPER, Synth, data_dir, log, run, table, tool_venv, tool_version

SEED = 424242
VERSION = f"accuracy-v8-{SEED}"
ROUNDS = 14  # each round writes one file per scenario
DETECT_SECRETS = ["detect-secrets==1.5.0"]

FAMILIES = {
    "vendor": "vendor tokens",
    "config-password": "passwords in config",
    "credential-file": "credential files",
    "private-key": "private keys",
    "url": "URLs with passwords",
    "generic": "tokens under secret-like names in code",
}


@dataclass
class Label:
    start: int  # 1-based first line
    end: int
    family: str  # a FAMILIES key for secrets; a look-alike category for negatives
    detail: str
    secret: bool


@dataclass
class Doc:
    path: str
    lines: list[str] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.extend(text.rstrip("\n").split("\n"))

    def plant(self, text: str, family: str, detail: str, secret: bool = True) -> None:
        start = len(self.lines) + 1
        self.add(text)
        self.labels.append(Label(start, len(self.lines), family, detail, secret))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def filler(rng: random.Random, s: Synth, ext: str, n: int = 2) -> str:
    maker = KINDS.get(ext, KINDS[".py"])[0]
    return "".join(maker(rng, s) for _ in range(rng.randrange(1, n + 1)))


# -- scenarios: each returns one Doc -----------------------------------------------------------------------
def sc_python_settings(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"services/{rng.choice(['billing', 'orders', 'search'])}/settings_{rng.randrange(999)}.py")
    d.add("import os\n\nDEBUG = False\nALLOWED_HOSTS = ['*']\n")
    choice = rng.randrange(6)
    if choice == 0:
        d.plant(f'AWS_ACCESS_KEY_ID = "{s.aws_key_id()}"', "vendor", "aws-key-id")
        d.plant(f'AWS_SECRET_ACCESS_KEY = "{s.aws_secret()}"', "vendor", "aws-secret")
    elif choice == 1:
        d.plant(f'STRIPE_SECRET_KEY = "{s.stripe_secret()}"', "vendor", "stripe")
    elif choice == 2:
        d.plant(f'SENDGRID_API_KEY = "{s.sendgrid()}"', "vendor", "sendgrid")
    elif choice == 3:
        d.plant(f"SECRET_KEY = '{s.password(50)}'", "config-password", "django-secret-key")
    elif choice == 4:
        d.plant(f'OPENAI_API_KEY = "{s.openai_key()}"', "vendor", "openai")
    else:
        d.plant(f'TWILIO_API_KEY = "{s.twilio_key()}"\nTWILIO_API_SECRET = "{s.chars(Synth.B62, 32)}"',
                "vendor", "twilio")
    d.add("\nDATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.postgresql',")
    if rng.random() < 0.5:
        d.plant("        'PASSWORD': os.environ.get('DB_PASSWORD', ''),", "env-reference", "os.environ", False)
    else:
        d.plant(f"        'PASSWORD': '{s.password()}',", "config-password", "django-db")
    d.add("    }\n}\n")
    d.add(filler(rng, s, ".py"))
    return d


def sc_js_client(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"web/src/{rng.choice(['api', 'lib', 'services'])}/client{rng.randrange(999)}.js")
    d.add("import axios from 'axios';\n")
    choice = rng.randrange(5)
    if choice == 0:
        d.plant(f"const GITHUB_TOKEN = '{s.github_pat()}';", "vendor", "github-pat")
    elif choice == 1:
        d.plant(f'const MAPS_KEY = "{s.google_api_key()}";', "vendor", "google-api-key")
    elif choice == 2:
        d.plant(f"const slack = new WebClient('{s.slack_bot()}');", "vendor", "slack-bot")
    elif choice == 3:
        d.plant(f"const WEBHOOK = '{s.slack_webhook()}';", "vendor", "slack-webhook")
    else:
        d.plant(f"axios.defaults.headers.common['Authorization'] = 'Bearer {s.jwt()}';", "vendor", "jwt")
    if rng.random() < 0.6:
        d.plant("const apiKey = process.env.API_KEY;", "env-reference", "process.env", False)
    d.add(filler(rng, s, ".js"))
    return d


def sc_go_service(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"cmd/{rng.choice(['worker', 'gateway', 'sync'])}{rng.randrange(99)}/main.go")
    d.add('package main\n\nimport (\n\t"context"\n\t"os"\n)\n')
    if rng.random() < 0.5:
        d.plant(f'const gitlabToken = "{s.gitlab_pat()}"', "vendor", "gitlab-pat")
    else:
        d.plant(f'var ghToken = "{s.github_token(rng.choice(["gho", "ghs", "ghu"]))}"', "vendor", "github-oauth")
    d.plant('var dbPassword = os.Getenv("DB_PASSWORD")', "env-reference", "os.Getenv", False)
    d.add(filler(rng, s, ".go"))
    return d


def sc_dotenv(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"{rng.choice(['', 'api/', 'deploy/'])}svc{rng.randrange(999)}/.env{rng.choice(['', '.production', '.local'])}")
    d.add(f"NODE_ENV=production\nPORT={rng.randrange(3000, 9000)}\nDB_HOST=db.internal\nDB_USER=app")
    key = rng.choice(["DB_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_ROOT_PASSWORD", "REDIS_PASSWORD", "ADMIN_PASS"])
    d.plant(f"{key}={s.password()}", "config-password", "dotenv")
    if rng.random() < 0.5:
        d.plant(f"GITHUB_TOKEN={s.github_pat()}", "vendor", "github-pat")
    if rng.random() < 0.5:
        d.plant(f"SESSION_SECRET={s.chars(Synth.HEX, 64)}", "config-password", "dotenv-hex")
    d.add("LOG_LEVEL=info")
    return d


def sc_dotenv_example(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"app{rng.randrange(999)}/.env.example")
    d.add("# Copy to .env and fill in")
    d.plant("DB_PASSWORD=changeme", "placeholder", "changeme", False)
    d.plant("API_KEY=<your-api-key>", "placeholder", "angle-brackets", False)
    d.plant("STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "placeholder", "xxx", False)
    d.plant("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "placeholder", "aws-docs-example", False)
    d.plant("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "placeholder", "aws-docs-example", False)
    d.plant("SECRET_KEY=", "placeholder", "empty", False)
    return d


def sc_yaml_config(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"config/{rng.choice(['application', 'settings', 'values'])}-{rng.randrange(999)}.yaml")
    d.add(f"server:\n  port: {rng.randrange(3000, 9000)}\ndatabase:\n  host: db.internal\n  user: app")
    r = rng.random()
    if r < 0.55:
        d.plant(f"  password: {s.password()}", "config-password", "yaml")
    elif r < 0.8:
        d.plant("  password: ${DB_PASSWORD}", "env-reference", "yaml-${}", False)
    else:
        d.plant("  password: '{{ .Values.db.password }}'", "placeholder", "helm-template", False)
    d.add("cache:\n  ttl: 300")
    if rng.random() < 0.4:
        d.plant(f"  api_token: {s.chars(Synth.B62, 40)}", "config-password", "yaml-token")
    if rng.random() < 0.4:
        d.plant(f"build:\n  commit: {s.git_sha()}", "hash", "git-sha", False)
    if rng.random() < 0.4:
        d.plant(f"tenant_id: {s.uuid()}", "uuid", "uuid", False)
    return d


def sc_compose(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"stack{rng.randrange(999)}/docker-compose.yml")
    d.add("services:\n  db:\n    image: postgres:16\n    environment:")
    if rng.random() < 0.7:
        d.plant(f"      POSTGRES_PASSWORD: {s.password()}", "config-password", "compose")
    else:
        d.plant("      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?}", "env-reference", "compose-${}", False)
    d.add("  app:\n    build: .\n    environment:")
    if rng.random() < 0.5:
        d.plant(f"      DATABASE_URL: postgres://app:{s.password()}@db:5432/app", "url", "postgres")
    else:
        d.plant("      DATABASE_URL: postgres://db:5432/app", "url-no-password", "postgres", False)
    return d


def sc_properties(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"src/main/resources/application-{rng.choice(['prod', 'dev', 'qa'])}{rng.randrange(999)}.properties")
    d.add(filler(rng, s, ".properties", 1))
    d.add("spring.datasource.url=jdbc:postgresql://db.internal:5432/app\nspring.datasource.username=app")
    if rng.random() < 0.65:
        d.plant(f"spring.datasource.password={s.password()}", "config-password", "properties")
    else:
        d.plant("spring.datasource.password=${DB_PASSWORD}", "env-reference", "properties-${}", False)
    if rng.random() < 0.4:
        d.plant(f"mail.smtp.password={s.password()}", "config-password", "properties-smtp")
    return d


def sc_xml(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"conf/{rng.choice(['context', 'settings', 'datasource'])}{rng.randrange(999)}.xml")
    d.add('<?xml version="1.0" encoding="UTF-8"?>\n<configuration>')
    r = rng.randrange(3)
    if r == 0:
        d.plant(f'  <property name="password" value="{s.password()}"/>', "config-password", "xml-property")
    elif r == 1:
        d.plant(f"  <password>{s.password()}</password>", "config-password", "xml-element")
    else:
        d.plant('  <property name="password" value="${db.password}"/>', "env-reference", "xml-${}", False)
    if rng.random() < 0.3:  # Maven settings.xml style
        d.plant(f"  <server>\n    <id>nexus</id>\n    <username>deploy</username>\n    <password>{s.password()}</password>\n  </server>",
                "config-password", "maven-settings")
    d.add("</configuration>")
    return d


def sc_json_config(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"config/{rng.choice(['prod', 'local', 'secrets'])}{rng.randrange(999)}.json")
    d.add('{\n  "name": "api",\n  "port": 8080,')
    if rng.random() < 0.6:
        d.plant(f'  "dbPassword": "{s.password()}",', "config-password", "json")
    else:
        d.plant('  "dbPassword": "",', "placeholder", "empty", False)
    if rng.random() < 0.4:
        d.plant(f'  "clientSecret": "{s.chars(Synth.URLSAFE, 34)}",', "config-password", "json-client-secret")
    d.plant(f'  "requestId": "{s.uuid()}",', "uuid", "uuid", False)
    d.add('  "debug": false\n}')
    return d


def sc_ini(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"etc/{rng.choice(['app', 'worker', 'alembic'])}{rng.randrange(999)}.ini")
    d.add("[database]\nhost = db.internal\nport = 5432\nuser = app")
    if rng.random() < 0.6:
        d.plant(f"password = {s.password()}", "config-password", "ini")
    else:
        d.plant("password = %(DB_PASSWORD)s", "env-reference", "ini-interpolation", False)
    d.add("\n[logging]\nlevel = INFO")
    return d


def sc_pgpass(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"home{rng.randrange(999)}/.pgpass")
    d.plant(f"db.internal:5432:orders:app:{s.password()}", "credential-file", "pgpass")
    if rng.random() < 0.5:
        d.plant(f"*:*:*:replicator:{s.password()}", "credential-file", "pgpass")
    return d


def sc_netrc(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"home{rng.randrange(999)}/.netrc")
    d.plant(f"machine api.{rng.choice(['heroku', 'github', 'internal'])}.com\n  login deploy\n  password {s.password()}",
            "credential-file", "netrc")
    return d


def sc_npmrc(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"pkg{rng.randrange(999)}/.npmrc")
    d.add("registry=https://npm.registry.internal/\nsave-exact=true")
    if rng.random() < 0.6:
        d.plant(f"//npm.registry.internal/:_authToken={s.npm_token()}", "credential-file", "npmrc")
    else:
        d.plant("//npm.registry.internal/:_authToken=${NPM_TOKEN}", "env-reference", "npmrc-${}", False)
    return d


def sc_docker_config(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"ci{rng.randrange(999)}/.docker/config.json")
    auth = base64.b64encode(f"deploy:{s.password()}".encode()).decode()
    d.add('{\n  "auths": {\n    "registry.internal:5000": {')
    d.plant(f'      "auth": "{auth}"', "credential-file", "docker-config")
    d.add("    }\n  }\n}")
    return d


def sc_aws_credentials(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"home{rng.randrange(999)}/.aws/credentials")
    d.add("[default]")
    d.plant(f"aws_access_key_id = {s.aws_key_id()}", "credential-file", "aws-credentials")
    d.plant(f"aws_secret_access_key = {s.aws_secret()}", "credential-file", "aws-credentials")
    d.add("region = eu-west-1")
    return d


def sc_kubeconfig(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"clusters/{rng.choice(['prod', 'stage'])}{rng.randrange(999)}/kubeconfig")
    ca = base64.b64encode(s.certificate().encode()).decode()
    d.add("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443")
    d.plant(f"    certificate-authority-data: {ca}", "public", "ca-cert", False)
    d.add("  name: prod\nusers:\n- name: admin\n  user:")
    if rng.random() < 0.5:
        d.plant(f"    token: {s.jwt()}", "credential-file", "kubeconfig-token")
    else:
        key = base64.b64encode(s.private_key("EC").encode()).decode()
        d.plant(f"    client-key-data: {key}", "credential-file", "kubeconfig-client-key")
    return d


def sc_pem(rng: random.Random, s: Synth) -> Doc:
    kind = rng.choice(["RSA", "EC", "OPENSSH", "PKCS8"])
    name = {"OPENSSH": "id_ed25519", "RSA": "server.key", "EC": "tls.key", "PKCS8": "signing.pem"}[kind]
    d = Doc(f"deploy/keys{rng.randrange(999)}/{name}")
    d.plant(s.private_key(kind), "private-key", kind.lower())
    return d


def sc_service_account(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"infra/gcp/sa-{rng.randrange(999)}.json")
    pem = s.private_key("PKCS8").replace("\n", "\\n") + "\\n"
    d.add('{\n  "type": "service_account",\n  "project_id": "acme-prod",')
    d.add(f'  "private_key_id": "{s.chars(Synth.HEX, 40)}",')
    d.plant(f'  "private_key": "{pem}",', "private-key", "gcp-service-account")
    d.add(f'  "client_email": "deploy@acme-prod.iam.gserviceaccount.com",\n  "client_id": "{s.chars("0123456789", 21)}"\n}}')
    return d


def sc_public_material(rng: random.Random, s: Synth) -> Doc:
    r = rng.randrange(3)
    if r == 0:
        d = Doc(f"certs/ca{rng.randrange(999)}.crt")
        d.plant(s.certificate(), "public", "certificate", False)
    elif r == 1:
        d = Doc(f"deploy/keys{rng.randrange(999)}/id_rsa.pub")
        d.plant(s.ssh_public_key(), "public", "ssh-public-key", False)
    else:
        d = Doc(f"keys/signing{rng.randrange(999)}.pub.pem")
        body = base64.b64encode(b"\x30\x59\x30\x13\x06\x07" + rng.randbytes(85)).decode()
        d.plant(f"-----BEGIN PUBLIC KEY-----\n{body[:64]}\n{body[64:]}\n-----END PUBLIC KEY-----",
                "public", "public-key", False)
    return d


def sc_lockfile(rng: random.Random, s: Synth) -> Doc:
    name = rng.choice(["package-lock.json", "go.sum", "poetry.lock", "yarn.lock", "Cargo.lock"])
    d = Doc(f"proj{rng.randrange(999)}/{name}")
    for _ in range(rng.randrange(3, 8)):
        if name == "package-lock.json":
            d.plant(f'      "integrity": "{s.integrity()}",', "hash", "npm-integrity", False)
        elif name == "go.sum":
            d.plant(f"github.com/acme/mod{rng.randrange(99)} v1.{rng.randrange(9)}.0 h1:{s.chars(Synth.B64, 43)}=",
                    "hash", "go-sum", False)
        elif name == "yarn.lock":
            d.plant(f"  resolved \"https://yarn.registry.internal/x/-/x-1.0.0.tgz#{s.chars(Synth.HEX, 40)}\"",
                    "hash", "yarn-resolved", False)
        elif name == "Cargo.lock":
            d.plant(f'checksum = "{s.sha256()}"', "hash", "cargo-checksum", False)
        else:
            d.plant(f'    {{file = "pkg-1.0-py3-none-any.whl", hash = "sha256:{s.sha256()}"}},', "hash", "poetry", False)
    return d


def sc_urls(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"{rng.choice(['config', 'deploy', 'scripts'])}/connections{rng.randrange(999)}.{rng.choice(['yaml', 'py', 'sh'])}")
    scheme = rng.choice([
        "postgresql://app:{pw}@db.internal:5432/app", "mysql://root:{pw}@10.0.3.4:3306/shop",
        "mongodb+srv://svc:{pw}@cluster0.ab1cd.mongodb.net/prod", "redis://:{pw}@cache.internal:6379/0",
        "amqp://rabbit:{pw}@mq.internal:5672/%2f", "https://deploy:{pw}@git.internal/acme/app.git",
    ])
    url = scheme.format(pw=s.password())
    d.plant(f'DATABASE_URL = "{url}"' if d.path.endswith(".py") else
            (f"url: {url}" if d.path.endswith(".yaml") else f"export DATABASE_URL='{url}'"), "url", scheme.split(":")[0])
    if rng.random() < 0.6:
        d.plant("docs: https://user@example.com/path" if rng.random() < 0.3 else
                f"healthcheck: https://status.internal:{rng.randrange(1000, 9999)}/ping", "url-no-password", "no-password", False)
    if rng.random() < 0.4:
        d.plant("example: postgres://user:password@localhost:5432/db", "placeholder", "url-docs", False)
    return d


def sc_code_lookalikes(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"app/auth/{rng.choice(['views', 'forms', 'handlers'])}{rng.randrange(999)}.py")
    d.add(filler(rng, s, ".py", 1))
    d.plant("    password = request.form['password']", "code", "form-field", False)
    d.plant("    token = self.token_store.get(user_id)", "code", "attribute", False)
    d.plant("def test_password_reset_sends_email(client):", "code", "test-name", False)
    d.plant('PASSWORD_FIELD = "password"', "placeholder", "field-name", False)
    d.plant(f'etag = "{s.chars(Synth.HEX, 32)}"', "hash", "etag", False)
    d.plant('password_file = "/run/secrets/db_password"', "code", "path", False)
    d.add(filler(rng, s, ".py", 1))
    return d


def sc_k8s_secret(rng: random.Random, s: Synth) -> Doc:
    """A committed Secret manifest: the leak spans the object, from its `kind:` line (where the design
    says an object's finding points) to the value."""
    d = Doc(f"k8s/{rng.choice(['base', 'overlays/prod'])}/secret-{rng.randrange(999)}.yaml")
    d.add("apiVersion: v1")
    head = f"kind: Secret\nmetadata:\n  name: app-{rng.randrange(99)}\ntype: Opaque"
    if rng.random() < 0.5:
        d.plant(f"{head}\nstringData:\n  DB_PASSWORD: {s.password()}", "config-password", "k8s-stringData")
    else:
        value = base64.b64encode(s.password().encode()).decode()
        d.plant(f"{head}\ndata:\n  password: {value}", "config-password", "k8s-data-base64")
    return d


def sc_markdown(rng: random.Random, s: Synth) -> Doc:
    d = Doc(f"docs/{rng.choice(['setup', 'deploy', 'api'])}{rng.randrange(999)}.md")
    d.add(filler(rng, s, ".md", 1))
    d.plant("export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "placeholder", "docs-token", False)
    d.plant('curl -u "admin:$ADMIN_PASSWORD" https://ci.internal/api', "env-reference", "shell-var", False)
    if rng.random() < 0.3:  # somebody pasted a real one into a runbook
        d.plant(f"Use `{s.slack_bot()}` for the alerts bot.", "vendor", "slack-bot")
    return d


def sc_ordinary_lookalikes(rng: random.Random, s: Synth) -> Doc:
    """Where generic rules trip in real repos: UI strings, password policies, field maps, test data."""
    r = rng.randrange(4)
    if r == 0:
        d = Doc(f"web/src/i18n/{rng.choice(['en', 'de', 'fr'])}-{rng.randrange(999)}.json")
        d.add('{\n  "login.title": "Sign in",')
        d.plant('  "login.password": "Enter your password",', "code", "i18n-string", False)
        d.plant('  "reset.token_expired": "Your reset link has expired, request a new one.",', "code", "i18n-string", False)
        d.plant('  "settings.api_key_hint": "Create an API key under Settings > Developer",', "code", "i18n-string", False)
        d.add('  "logout": "Sign out"\n}')
    elif r == 1:
        d = Doc(f"config/security-{rng.randrange(999)}.yaml")
        d.add("security:")
        d.plant(f"  password_min_length: {rng.randrange(8, 20)}", "code", "policy-number", False)
        d.plant("  password_require_symbols: true", "code", "policy-bool", False)
        d.plant(f"  token_ttl_seconds: {rng.randrange(300, 86400)}", "code", "policy-number", False)
        d.plant("  secret_rotation_schedule: '0 3 * * 1'", "code", "cron", False)
    elif r == 2:
        d = Doc(f"app/serializers/user{rng.randrange(999)}.py")
        d.add(filler(rng, s, ".py", 1))
        d.plant(f"    weights = {{'password': {rng.random():.4f}, 'email': {rng.random():.4f}}}", "code",
                "dict-number", False)
        d.plant("    fields = {'password': serializers.CharField(write_only=True)}", "code", "dict-call", False)
        d.plant("    PASSWORD_HASHERS = ['django.contrib.auth.hashers.Argon2PasswordHasher']", "code", "class-path", False)
    else:
        d = Doc(f"tests/fixtures/users-{rng.randrange(999)}.json")
        d.add("[")
        d.plant(f'  {{"id": "{s.uuid()}", "avatarSha1": "{s.git_sha()}"}},', "hash", "file-digest", False)
        d.plant(f'  {{"id": "{s.uuid()}", "resetTokenSha256": "{s.sha256()}"}}', "hash", "token-digest", False)
        d.add("]")
    return d


# Vendor breadth (issue 15, item 2): vendors whose keys only their key name identifies, and vendors' own
# formats, each next to look-alikes under the same names. Its own random stream (one per file), so the
# other scenarios' files stay as they were.
_VENDOR_FILES = itertools.count()
_KEYED = [("WEATHERSTACK_ACCESS_KEY", "alnum", 32), ("PAYMONGO_SECRET_KEY", "alnum", 32),
          ("CLOUDSMITH_API_KEY", "hex", 40), ("BUGHERD_API_KEY", "alnum", 22), ("MOOSEND_API_KEY", "uuid", 36),
          ("KLAVIYO_PRIVATE_KEY", "pk", 34), ("CHARTMOGUL_TOKEN", "alnum", 32), ("STORYBLOK_TOKEN", "alnum", 24)]


def sc_vendor_breadth(_rng: random.Random, _s: Synth) -> Doc:
    rng = random.Random(f"{SEED}-vendor-breadth-{next(_VENDOR_FILES)}")
    s = Synth(rng)
    alnum = string.ascii_letters + string.digits

    def value(kind: str, n: int) -> str:
        if kind == "uuid":
            return s.uuid()
        if kind == "pk":
            return "pk_" + s.chars(alnum, n)
        while True:
            v = s.chars(Synth.HEX if kind == "hex" else alnum, n)
            if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
                return v

    r = rng.randrange(3)
    if r == 0:
        d = Doc(f"{rng.choice(['', 'ops/', 'svc/'])}integrations{rng.randrange(999)}/.env")
        d.add("NODE_ENV=production")
        for key, kind, n in rng.sample(_KEYED, 3):
            d.plant(f"{key}={value(kind, n)}", "vendor", "vendor-keyed")
            stem = key.split("_")[0]
            d.plant(f"{stem}_REGION={rng.choice(['eu', 'us-east-1', 'ap-south'])}", "code", "vendor-setting", False)
            d.plant(f"{key}=<{key.lower()}>", "placeholder", "vendor-placeholder", False)
        d.plant(f"SONAR_TOKEN=sq{rng.choice('pua')}_{s.chars(Synth.HEX, 40)}", "vendor", "sonarqube")
        d.plant(f"DTRACK_API_KEY=odt_{value('alnum', 32)}", "vendor", "dependency-track")
        d.plant(f"TAVILY_API_KEY=tvly-{value('alnum', 32)}", "vendor", "tavily")
        d.plant(f"ADAFRUIT_IO_KEY=aio_{value('alnum', 28)}", "vendor", "adafruit")
        d.plant(f"CLOUDSMITH_PACKAGE_SHA={s.git_sha()}", "hash", "vendor-digest", False)
    elif r == 1:
        d = Doc(f"scripts/deploy{rng.randrange(999)}.ps1")
        user = rng.choice(["svc_backup", "administrator", "deploy"])
        d.plant(f"psexec \\\\app{rng.randrange(99):02d} -u CORP\\{user} -p {s.password()} cmd /c hostname",
                "config-password", "psexec")
        d.plant(f"net use Z: \\\\files{rng.randrange(9)}\\share {s.password()} /user:CORP\\{user}",
                "config-password", "net-use")
        d.plant(f"net use Y: \\\\files{rng.randrange(9)}\\share * /user:CORP\\{user}", "placeholder", "net-use-prompt", False)
        d.plant(f"psexec \\\\app01 -u CORP\\{user} -p %DEPLOY_PASSWORD% cmd", "placeholder", "psexec-env", False)
        d.plant(f'Invoke-RestMethod -Headers @{{Authorization = "Bearer ya29.{s.chars(alnum, 120)}"}} -Uri $u',
                "vendor", "google-oauth")
    else:
        d = Doc(f"notes/assessment-{rng.randrange(999)}.txt")
        salt = s.chars("./" + alnum, 14)
        d.plant(f"enable secret 9 $9${salt}${s.chars('./' + alnum, 43)}", "config-password", "cisco-type9")
        d.plant(f"$krb5asrep$23$svc{rng.randrange(99)}@CORP.TEST:{s.chars(Synth.HEX, 32)}${s.chars(Synth.HEX, 180)}",
                "config-password", "kerberos-asrep")
        d.plant(f"$krb5tgs$23$*websvc$CORP.TEST$http/web{rng.randrange(9)}*${s.chars(Synth.HEX, 32)}${s.chars(Synth.HEX, 200)}",
                "config-password", "kerberos-tgs")
        d.plant("hashcat -m 13100 hashes.txt   # $krb5tgs$23$*user$realm$spn*$<checksum>$<edata>", "placeholder",
                "kerberos-format", False)
        d.plant(f"curl -X POST https://tb.example.test/api/v1/{value('alnum', 20)}/telemetry -d @t.json",
                "vendor", "thingsboard")
        d.plant("curl -X POST https://tb.example.test/api/v1/$ACCESS_TOKEN/telemetry -d @t.json", "placeholder",
                "thingsboard-env", False)
    return d



def sc_infra(rng: random.Random, s: Synth) -> Doc:
    """Infrastructure code: a Terraform variable whose default is a credential, a kubeadm join token, chat and
    automation webhooks; look-alikes: variables without a default or with a reference, kubeadm's documented
    token, placeholders in webhook URLs, ARNs and routes under password-like names."""
    d = Doc(f"infra{rng.randrange(999)}/{rng.choice(['variables', 'main', 'secrets'])}.tf")
    name = rng.choice(["db_password", "admin_password", "api_token", "signing_secret", "service_api_key"])
    if rng.random() < 0.6:
        d.add(f'variable "{name}" {{\n  type      = string\n  sensitive = true')
        d.plant(f'  default   = "{s.password()}"', "config-password", "terraform-default")
        d.add("}")
    else:
        d.plant(f'variable "{name}" {{\n  type = string\n  default = "${{var.fallback_{name}}}"\n}}', "env-reference",
                "terraform-reference", False)
    d.plant(f'variable "token_ttl" {{\n  default = "{rng.randrange(60, 86400)}s"\n}}', "code", "terraform-ttl", False)
    d.plant('resource "aws_iam_user_policy_attachment" "pw" {\n  policy_arn = "arn:aws:iam::aws:policy/IAMUserChangePassword"\n}',
            "code", "arn", False)
    d.add("# node bootstrap")
    lower = string.ascii_lowercase + string.digits
    if rng.random() < 0.6:
        d.plant(f"# kubeadm join 10.0.{rng.randrange(255)}.{rng.randrange(255)}:6443 --token "
                f"{s.chars(lower, 6)}.{s.chars(lower, 16)} --discovery-token-ca-cert-hash sha256:{s.chars(Synth.HEX, 64)}",
                "vendor", "kubeadm-token")
    else:
        d.plant("# kubeadm join <control-plane>:6443 --token abcdef.0123456789abcdef", "placeholder", "kubeadm-doc",
                False)
    hooks = [
        (f"https://hooks.slack.com/services/T{s.chars(Synth.B62, 9)}/B{s.chars(Synth.B62, 10)}/{s.chars(Synth.B62, 24)}",
         "slack-webhook"),
        (f"https://hooks.zapier.com/hooks/catch/{rng.randrange(10**6, 10**8)}/{s.chars(lower, 7)}/", "zapier-webhook"),
        (f"https://acme{rng.randrange(99)}.tines.com/webhook/{s.chars(Synth.HEX, 32)}/{s.chars(Synth.HEX, 32)}",
         "tines-webhook"),
    ]
    url, kind = rng.choice(hooks)
    d.plant(f'  notify_url = "{url}"', "vendor", kind)
    d.plant('  notify_url = "https://hooks.zapier.com/hooks/catch/<account>/<hook>/"', "placeholder", "webhook-placeholder",
            False)
    return d


def _token(s: Synth, n: int) -> str:
    """A random token with letters and digits (what entropy floors expect of a real one)."""
    while True:
        v = s.chars(Synth.B62, n)
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v


def sc_code_names(rng: random.Random, s: Synth) -> Doc:
    """Secret names as code writes them: camelCase with any vendor prefix, a number after the name, Go's typed
    var, Makefile ?= and ::=, PHP .=; look-alikes: camelCase names of non-secrets (csrf, paging, resume,
    labels, tokenizers), values that are code, slugs or file paths, and an unsigned JWT."""
    vendor = rng.choice(["acme", "twitter", "sendgrid", "edenai", "mixpanel", "zeplin", "nimbus", "orbit"])
    cap = vendor.capitalize()
    forms = [
        ("src/client.ts", f'const {vendor}Token = "{_token(s, 28)}";'),
        ("src/Config.java", f'private static final String {vendor}ApiKey = "{_token(s, 32)}";'),
        ("cmd/main.go", f'var {vendor}Secret string = "{_token(s, 30)}"'),
        ("Makefile", f"{vendor.upper()}_TOKEN ?= {_token(s, 32)}"),
        ("Makefile", f'{vendor}_TOKEN ::= "{_token(s, 26)}"'),
        ("lib/api.php", f'$api{cap}Key .= "{_token(s, 32)}";'),
        ("app/settings.py", f'{vendor}_api_token_2 = "{_token(s, 40)}"'),
        ("src/App.cs", f'<add key="{cap}Token" value="{_token(s, 32)}" />'),
    ]
    path, line = rng.choice(forms)
    d = Doc(f"code{rng.randrange(999)}/{path}")
    d.plant(line, "generic", "camel-or-operator-form")
    looks = [
        f'const csrfToken = "{_token(s, 32)}";',
        f'const nextPageToken = "{_token(s, 24)}";',
        f"  .userListens(query, {{ resumeToken: 'resume-token-{rng.randrange(10**3, 10**7)}' }})",
        '\tClusterLabelKey = "io.x-k8s.kind.cluster"',
        f'"S3Key": "ci/builds/app_release-{rng.randrange(999)}-{rng.randrange(9999)}.war"',
        'const tokenizerKey = "whitespace-and-punctuation";',
        "const verificationToken = verification_tokens?.[0]",
        "private String unsignedToken = \"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJleHAiOi0yMDMzMjI0OTcsImp0aSI6IjEyMyJ9.\";",
        "  VerifyCustomToken = 'identitytoolkit#VerifyCustomTokenResponse',",
    ]
    d.plant(rng.choice(looks), "code", "non-secret-name", False)
    return d


def sc_wrapped_values(rng: random.Random, s: Synth) -> Doc:
    """Values not on their key's line or not in their own form: a YAML value on the next line (Spring,
    block scalars), an XML element's text on its own line, a JWT wrapped in base64, a compose default;
    look-alikes: nested mappings and prose under secret-like keys, a placeholder default."""
    kind = rng.randrange(4)
    if kind == 0:
        d = Doc(f"svc{rng.randrange(999)}/src/main/resources/application.yml")
        d.add("spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/app\n    username: app")
        d.add("    password:")
        d.plant(f"      {s.password()}", "config-password", "yaml-next-line")
        d.plant("  secret:\n    name: db-credentials\n    key: password", "code", "yaml-nested", False)
    elif kind == 1:
        d = Doc(f"svc{rng.randrange(999)}/config/values.yaml")
        d.add("auth:\n  client-secret: >-")
        d.plant(f"    {_token(s, 40)}", "generic", "yaml-block-scalar")
        d.plant("  token: >\n    Issued by the identity provider\n    and refreshed hourly.", "code", "yaml-prose", False)
    elif kind == 2:
        d = Doc(f"svc{rng.randrange(999)}/conf/settings.xml")
        d.add("<settings>\n  <integration>\n    <serviceToken>")
        d.plant(f"      {_token(s, 32)}", "generic", "xml-own-line")
        d.add("    </serviceToken>\n  </integration>")
        d.plant("  <tokenType>\n    Bearer\n  </tokenType>", "code", "xml-word", False)
        d.add("</settings>")
    else:
        d = Doc(f"svc{rng.randrange(999)}/docker-compose.yml")
        d.add("services:\n  api:\n    environment:")
        d.plant(f"      DB_PASSWORD: ${{DB_PASSWORD:-{s.password()}}}", "config-password", "compose-default")
        d.plant("      SECRET_KEY: ${SECRET_KEY:-changeme}", "placeholder", "compose-placeholder-default", False)
        wrapped = base64.b64encode(s.jwt().encode()).decode()
        d.plant(f"      CI_JOB_JWT_B64: {wrapped}", "vendor", "jwt-base64")
    return d


def sc_network_secrets(rng: random.Random, s: Synth) -> Doc:
    """Network and firmware secrets: RADIUS/TACACS+ server blocks, IPsec pre-shared keys, Wi-Fi PSKs in C,
    a configuration header with a weak password; look-alikes: IKE policies, placeholders."""
    kind = rng.randrange(3)
    key = s.chars(Synth.B62 + "!.-@", 16)
    if kind == 0:
        d = Doc(f"network/sw{rng.randrange(99)}.cfg")
        d.add(f"hostname sw{rng.randrange(99)}\n!")
        server = rng.choice(["radius", "tacacs"])
        d.add(f"{server} server {server[:3]}{rng.randrange(9)}\n address ipv4 10.0.{rng.randrange(255)}.{rng.randrange(255)}")
        d.plant(f" key {_token(s, 14)}", "config-password", "server-block-key")
        d.add("!")
        d.plant(f"crypto isakmp key {key} address 203.0.113.{rng.randrange(255)}", "config-password", "isakmp-key")
        d.plant("crypto isakmp policy 10\n encr aes 256\n authentication pre-share", "code", "ike-policy", False)
    elif kind == 1:
        d = Doc(f"vpn{rng.randrange(99)}/ipsec.secrets")
        d.plant(f'203.0.113.{rng.randrange(255)} %any : PSK "{_token(s, 20)}"', "config-password", "ipsec-psk")
        d.plant('%any : PSK "${IPSEC_PSK}"', "env-reference", "ipsec-psk-env", False)
    else:
        d = Doc(f"firmware/node{rng.randrange(99)}/include/arduino_secrets.h")
        d.add(f'#define SECRET_SSID "Site{rng.randrange(99)}"')
        d.plant(f'#define SECRET_PASS "{rng.choice(["admin123", "letmein1", "warehouse2024"])}"', "config-password",
                "weak-define")
        d.plant('#define OTA_PASSWORD ""', "placeholder", "empty-define", False)
        d.plant(f'const char* fallback_psk = "{s.password()}";', "config-password", "c-psk")
    return d


def sc_sql_dump(rng: random.Random, s: Synth) -> Doc:
    """A database dump as mysqldump writes it: INSERTs without a column list, read with their CREATE TABLE's
    columns; look-alikes: values of columns that only contain a credential word (bypass, passenger)."""
    d = Doc(f"db/dumps/backup_{rng.randrange(2020, 2026)}_{rng.randrange(1, 13):02d}.sql")
    col = rng.choice(["pass", "password", "smtp_pass", "api_secret"])
    d.add(f"CREATE TABLE `relay` (\n  `id` int NOT NULL,\n  `fee` decimal(10,2),\n  `host` varchar(255),\n"
          f"  `{col}` varchar(255),\n  `bypass` varchar(64),\n  PRIMARY KEY (`id`)\n);")
    d.plant(f"INSERT INTO `relay` VALUES (1,2.50,'smtp.example.test','{s.password()}','{_token(s, 12)}');",
            "config-password", "dump-without-columns")
    d.plant(f"INSERT INTO `relay` (`id`,`bypass`) VALUES (2,'{_token(s, 14)}');", "code", "non-secret-column", False)
    return d


SCENARIOS = [sc_python_settings, sc_js_client, sc_go_service, sc_dotenv, sc_dotenv_example, sc_yaml_config,
             sc_compose, sc_properties, sc_xml, sc_json_config, sc_ini, sc_pgpass, sc_netrc, sc_npmrc,
             sc_docker_config, sc_aws_credentials, sc_kubeconfig, sc_pem, sc_service_account, sc_public_material,
             sc_lockfile, sc_urls, sc_code_lookalikes, sc_k8s_secret, sc_markdown, sc_ordinary_lookalikes,
             sc_vendor_breadth, sc_infra, sc_code_names, sc_wrapped_values, sc_network_secrets, sc_sql_dump]


def generate(root: Path) -> None:
    rng = random.Random(SEED)
    s = Synth(rng)
    labels = {}
    for r in range(ROUNDS):
        for scenario in SCENARIOS:
            doc = scenario(rng, s)
            path = f"r{r:02d}/{doc.path}"
            if path in labels:
                continue
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(doc.text())
            labels[path] = [vars(lb) for lb in doc.labels]
    (root.parent / "accuracy-labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True))


# -- tools -------------------------------------------------------------------------------------------------
def run_secretkeeper(corpus: Path, leaks_only: bool = False) -> tuple[set[tuple[str, int]], dict[tuple[str, int], str]]:
    out = run([str(SECRETKEEPER), "scan", str(corpus), "--no-history", "-f", "json", "--no-progress"], ok=(0, 1))
    report = json.loads(out.stdout)
    hits, rules = set(), {}
    for f in report["findings"]:
        if leaks_only and f["kind"] != "leak":
            continue  # Kubernetes hygiene faults: not what a corpus of leaks labels
        loc = f["location"]
        key = (loc["path"], int(loc.get("line") or 0))
        hits.add(key)
        rules[key] = f["rule_id"]
    return hits, rules


def run_detect_secrets(corpus: Path, bin_dir: Path) -> tuple[set[tuple[str, int]], dict[tuple[str, int], str]]:
    out = run([str(bin_dir / "detect-secrets"), "scan", "--all-files", "."], cwd=corpus)
    report = json.loads(out.stdout)
    hits, types = set(), {}
    for path, results in report.get("results", {}).items():
        for res in results:
            key = (path.removeprefix("./"), int(res["line_number"]))
            hits.add(key)
            types[key] = res["type"]
    return hits, types


@dataclass
class Score:
    tp_reports: int = 0
    fp_reports: int = 0
    found: Counter = field(default_factory=Counter)
    planted: Counter = field(default_factory=Counter)
    fp_by_category: Counter = field(default_factory=Counter)
    fp_examples: Counter = field(default_factory=Counter)  # rule/type -> count
    missed_by_detail: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        n = self.tp_reports + self.fp_reports
        return self.tp_reports / n if n else 0.0

    def recall(self, family: str | None = None) -> float:
        planted = sum(self.planted.values()) if family is None else self.planted[family]
        found = sum(self.found.values()) if family is None else self.found[family]
        return found / planted if planted else 0.0


def score(labels: dict[str, list[dict]], hits: set[tuple[str, int]], names: dict[tuple[str, int], str]) -> Score:
    sc = Score()
    by_path: dict[str, set[int]] = defaultdict(set)
    for path, line in hits:
        by_path[path].add(line)
    for path, items in labels.items():
        for lb in items:
            if lb["secret"]:
                sc.planted[lb["family"]] += 1
                if any(lb["start"] <= ln <= lb["end"] for ln in by_path.get(path, ())):
                    sc.found[lb["family"]] += 1
                else:
                    sc.missed_by_detail[lb["detail"]] += 1
    for path, line in sorted(hits):
        items = labels.get(path, [])
        on = [lb for lb in items if lb["start"] <= line <= lb["end"]]
        if any(lb["secret"] for lb in on):
            sc.tp_reports += 1
        else:
            sc.fp_reports += 1
            sc.fp_by_category[on[0]["family"] if on else "unlabelled line"] += 1
            sc.fp_examples[names.get((path, line), "?")] += 1
    return sc


def public_repos() -> str:
    """BENCH_PUBLIC_REPOS (checkouts, `:`-separated): a public benchmark of planted leaks that lists its
    risky lines per file (leaky-repo's `.leaky-meta/secrets.csv`) is scored on them, each file's count
    capped at its listed number, and every file flagged outside the list is named; any other checkout
    (a real project) gets its findings by rule, an unlabelled view of false positives."""
    paths = [Path(p) for p in os.environ.get("BENCH_PUBLIC_REPOS", "").split(":") if p]
    if not paths:
        return ("Public corpora: not run (set `BENCH_PUBLIC_REPOS` to local checkouts, e.g. of leaky-repo and of "
                "real projects, `:`-separated).\n")
    rows = []
    for repo in paths:
        sk_hits, sk_rules = run_secretkeeper(repo, leaks_only=True)
        listed = repo / ".leaky-meta" / "secrets.csv"
        if not listed.is_file():
            by_rule = Counter(sk_rules.values())
            top = ", ".join(f"`{k}` {v}" for k, v in by_rule.most_common(6)) or "none"
            rows.append([repo.name, "unlabelled", len(sk_hits), top])
            continue
        risk: dict[str, int] = {}
        for line in listed.read_text().splitlines():
            parts = line.strip().split(",")
            if len(parts) == 3 and not line.startswith("#") and parts[1].isdigit():
                risk[parts[0]] = int(parts[1])
        per_file = Counter(path for path, _line in sk_hits)
        found = sum(min(per_file[name], n) for name, n in risk.items())
        outside = sorted(name for name in per_file if name not in risk)
        rows.append([repo.name, f"{found} of {sum(risk.values())} risk lines ({found / max(sum(risk.values()), 1):.0%})",
                     len(sk_hits), "files flagged outside its list: " + (", ".join(outside) or "none")])
    return ("Public corpora (`secretkeeper scan --no-history -f json`, HEAD checkouts given in "
            "`BENCH_PUBLIC_REPOS`):\n\n" + table(["checkout", "score", "leak findings (file, line)", "notes"], rows) + "\n")


def pct(x: float) -> str:
    return f"{x:.0%}"


def main() -> int:
    corpus = data_dir("accuracy-corpus", VERSION, generate)
    labels = json.loads((corpus.parent / "accuracy-labels.json").read_text())
    n_files = len(labels)
    n_secrets = sum(1 for items in labels.values() for lb in items if lb["secret"])
    n_neg = sum(1 for items in labels.values() for lb in items if not lb["secret"])
    log(f"corpus: {n_files} files, {n_secrets} planted secrets, {n_neg} look-alikes")
    sk_hits, sk_names = run_secretkeeper(corpus)
    ds_bin = tool_venv("detect-secrets", DETECT_SECRETS)
    ds_hits, ds_names = run_detect_secrets(corpus, ds_bin)
    sk, ds = score(labels, sk_hits, sk_names), score(labels, ds_hits, ds_names)
    ds_version = tool_version(ds_bin, "detect-secrets")

    summary = [
        ["secretkeeper", sk.tp_reports + sk.fp_reports, sk.fp_reports, pct(sk.precision), pct(sk.recall()),
         f"{2 * sk.precision * sk.recall() / max(sk.precision + sk.recall(), 1e-9):.2f}"],
        [f"detect-secrets {ds_version}", ds.tp_reports + ds.fp_reports, ds.fp_reports, pct(ds.precision),
         pct(ds.recall()), f"{2 * ds.precision * ds.recall() / max(ds.precision + ds.recall(), 1e-9):.2f}"],
    ]
    fam_rows = [[label, sk.planted[f], pct(sk.recall(f)), pct(ds.recall(f))] for f, label in FAMILIES.items()]
    cats = sorted(set(sk.fp_by_category) | set(ds.fp_by_category))
    fp_rows = [[c, sk.fp_by_category[c], ds.fp_by_category[c]] for c in cats]
    sk_missed = ", ".join(f"{k} {v}" for k, v in sk.missed_by_detail.most_common(12)) or "none"
    sk_fp_rules = ", ".join(f"`{k}` {v}" for k, v in sk.fp_examples.most_common(10)) or "none"
    ds_fp_types = ", ".join(f"{k} {v}" for k, v in ds.fp_examples.most_common(8)) or "none"
    print(f"""## Accuracy: precision and recall on a labelled corpus

Corpus: {n_files} files (generated by `bench_accuracy.py`, seed {SEED}), {n_secrets} planted synthetic
secrets and {n_neg} look-alikes. A planted secret counts as found when a finding lands on one of its lines
(the BEGIN line of a PEM block); any other reported (file, line) is a false positive. Both tools run with
their defaults: `secretkeeper scan --no-history -f json`, `detect-secrets scan --all-files .`.

{table(["tool", "reports", "false positives", "precision", "recall", "F1"], summary)}

Recall by family:

{table(["family", "planted", "secretkeeper", "detect-secrets"], fam_rows)}

False positives by what the line held:

{table(["line held", "secretkeeper", "detect-secrets"], fp_rows) if fp_rows else "none"}

Read with care: the corpus comes from {len(SCENARIOS)} file templates written from how real repositories look,
so high scores say the catalog handles these shapes, not that it is perfect in the wild; and the corpus
lives in this repository, where rule authors can see it. The file-throughput benchmark's findings on
ordinary generated code (bench_files) are a second, unlabelled view of false positives.

{public_repos()}
secretkeeper missed (by planted kind): {sk_missed}.
secretkeeper false positives by rule: {sk_fp_rules}.
detect-secrets false positives by plugin: {ds_fp_types}.
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
