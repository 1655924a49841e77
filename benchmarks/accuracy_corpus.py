"""A quick labelled corpus for the generic rule families (passwords, secrets, tokens, URLs, credential files,
hashes): one planted synthetic credential or one look-alike per file, written the way config and code look.

    .venv/bin/python benchmarks/accuracy_corpus.py [--detect-secrets /tmp/dsvenv/bin/detect-secrets] [--keep DIR]

Prints precision/recall per tool (a file counts as flagged when the tool reports anything in it) and the
misses and false alarms of secretkeeper, so a rule change can be checked in seconds. Every value is
random (seeded); nothing here is a real credential. The fuller cross-family benchmark is bench_accuracy.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import string
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SK = ROOT / ".venv" / "bin" / "secretkeeper"
rng = random.Random(20261122)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
WORDS = ["Summer", "Winter", "Falcon", "Harbor", "Maple", "Rocket", "Copper", "Tiger", "Orchid", "Violet"]


def rnd(n: int, alpha: str = ALNUM) -> str:
    return "".join(rng.choice(alpha) for _ in range(n))


def pw() -> str:
    """A synthetic password: random, or human-made (Word + year + symbol)."""
    if rng.random() < 0.3:
        return rng.choice(WORDS) + str(rng.randrange(1990, 2030)) + rng.choice("!#$%&*?")
    while True:
        s = rnd(rng.randrange(10, 20), ALNUM + "!#%^*+-_.@")
        if any(c.isdigit() for c in s) and any(c.isupper() for c in s) and s[0].isalnum():
            return s


def tok(n: int = 32) -> str:
    return rnd(n)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def b64u(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def jwt() -> str:
    return f"{b64u({'alg': 'HS256', 'typ': 'JWT'})}.{b64u({'sub': rnd(6), 'iat': 1700000000})}.{rnd(43, ALNUM + '-_')}"


def uuid() -> str:
    return f"{rnd(8, HEX)}-{rnd(4, HEX)}-4{rnd(3, HEX)}-a{rnd(3, HEX)}-{rnd(12, HEX)}"


S = "./" + ALNUM
# (file name, template). {P} password, {T} token, {J} jwt, {H} hex40, {U} uuid, {B} base64 user:pass
POSITIVE = [
    (".env", "DB_PASSWORD={P}"), (".env", "REDIS_PASS={P}"), (".env", 'SMTP_PASSWORD="{P}"'),
    (".env", "STRIPE_SECRET={T}"), (".env", "JWT_SECRET={T}"), (".env", "export API_TOKEN={T}"),
    (".env.production", "POSTGRES_PASSWORD={P}"), ("docker-compose.yml", "    environment:\n      - MYSQL_ROOT_PASSWORD={P}"),
    ("config.yml", "database:\n  host: db\n  password: {P}"), ("config.yaml", 'db:\n  password: "{P}"'),
    ("app.yml", "mail:\n  pass: {P}"), ("secrets.yaml", "oauth:\n  client_secret: {T}"), ("values.yaml", "apiKey: {T}"),
    ("app.yaml", "auth_token: '{T}'"), ("config.json", '{{"db": {{"user": "app", "password": "{P}"}}}}'),
    ("settings.json", '{{"dbPassword": "{P}"}}'), ("creds.json", '{{"api_key": "{T}"}}'), ("session.json", '{{"accessToken": "{T}"}}'),
    ("application.properties", "spring.datasource.password={P}"), ("mail.properties", "mail.smtp.password = {P}"),
    ("application.properties", "app.jwt.secret={T}"), ("config.ini", "[database]\nuser = app\npassword = {P}"),
    ("setup.cfg", "[auth]\nsecret_key = {T}"), ("pom-settings.xml", "<server><password>{P}</password></server>"),
    ("beans.xml", '<property name="db.password" value="{P}"/>'), ("Web.config", '<add key="ApiKey" value="{T}" />'),
    ("db.py", 'PASSWORD = "{P}"'), ("conn.py", 'conn = psycopg2.connect(host="db", user="app", password="{P}")'),
    ("client.py", "api_key = '{T}'"), ("req.py", 'headers = {{"Authorization": "Bearer {T}"}}'),
    ("db.js", 'const dbPassword = "{P}";'), ("cfg.js", "module.exports = {{ apiKey: '{T}', region: 'eu' }};"),
    ("login.ts", 'await login({{ username: "admin", password: "{P}" }});'), ("Db.java", 'private static final String PASSWORD = "{P}";'),
    ("Ds.java", 'ds.setPassword("{P}");'), ("main.go", 'password := "{P}"'), ("cfg.go", 'cfg := Config{{User: "app", Password: "{P}"}}'),
    ("Db.cs", 'var cs = "Server=db;Database=app;User Id=sa;Password={P};";'), ("config.php", "$db_password = '{P}';"),
    ("database.php", "'password' => '{P}',"), ("config.rb", "  password: '{P}',"), ("init.rb", 'config.api_key = "{T}"'),
    ("Main.kt", 'val password = "{P}"'), ("main.rs", 'let password = "{P}";'),
    ("backup.sh", "mysql -h db -u root -p{P} app < dump.sql"), ("deploy.sh", "curl -u admin:{P} https://ci.internal/job/x/build"),
    ("ssh.sh", "sshpass -p '{P}' ssh deploy@10.0.0.5"), ("psql.sh", "PGPASSWORD={P} psql -h db -U app"),
    ("ci.sh", "docker login -u ci --password {P} registry.internal"), ("Dockerfile", "ENV DB_PASSWORD={P}"),
    ("Dockerfile", "ENV API_KEY {T}"), ("main.tf", 'resource "aws_db_instance" "db" {{\n  password = "{P}"\n}}'),
    ("rds.tf", '  master_password = "{P}"'), (".env", "DATABASE_URL=postgres://app:{P}@db.internal:5432/app"),
    ("config.py", 'MONGO = "mongodb+srv://svc:{P}@cluster0.x1y2z.mongodb.net/prod"'), ("settings.yml", "redis_url: redis://:{P}@cache:6379/0"),
    ("remote.txt", "https://deploy:{T}@git.internal/org/repo.git"), ("celery.py", "BROKER = 'amqp://worker:{P}@rabbit:5672//'"),
    (".pgpass", "db.internal:5432:app:app_rw:{P}"), (".netrc", "machine api.internal\n  login bot\n  password {P}"),
    (".npmrc", "//npm.registry.internal/:_authToken={T}"), (".docker/config.json", '{{"auths": {{"reg.internal": {{"auth": "{B}"}}}}}}'),
    (".aws/credentials", "[default]\naws_access_key_id = AKIA{AK}\naws_secret_access_key = {T40}"),
    (".git-credentials", "https://ci-bot:{T}@github.com"), (".kube/config", "users:\n- name: ci\n  user:\n    token: {T}"),
    (".pypirc", "[pypi]\nusername = __token__\npassword = pypi-{T}"), ("token.txt", "id_token={J}"),
    (".htpasswd", "admin:$apr1${S8}${S22}"), ("shadow", "root:$6${S16}${S86}:19000:0:99999:7:::"),
    ("seed.sql", "INSERT INTO users (email, pw) VALUES ('a@x.io', '$2b$12${S53}');"),
    ("wp-config.php", "define( 'DB_PASSWORD', '{P}' );"), ("settings.py", "SECRET_KEY = 'django-insecure-{T}'"),
    ("run.sh", 'curl -H "Authorization: Bearer {T}" https://api.internal/v1'), ("svc.yaml", "  x-api-key: {T}"),
    ("app.toml", '[db]\npassword = "{P}"'), ("vars.hcl", 'db_password = "{P}"'), ("ansible.yml", "ansible_become_pass: {P}"),
    ("gradle.properties", "ossrhPassword={P}"), ("config.xml", "<db><Pwd>{P}</Pwd></db>"), ("App.config", '<connectionStrings><add connectionString="Data Source=sql01;Initial Catalog=app;User ID=rpt;Password={P}" /></connectionStrings>'),
    ("client.go", 'req.Header.Set("Authorization", "Basic {B}")'), ("Service.java", 'String jdbc = "jdbc:mysql://db:3306/app?user=app&password={P}";'),
    ("rds.tf", '  username               = "app"\n  password               = "{P}"'), ("ci.yml", "      run: docker login reg.internal -u ci -p {P}"),
    ("auth.ts", 'const JWT_SECRET = process.env.JWT_SECRET ?? "{T}";'), ("settings.py", 'DB_PASSWORD = os.environ.get("DB_PASSWORD", "{P}")'),
    ("license.c", '#define LICENSE_API_KEY "{T}"'),
    ("secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  DB_PASSWORD: {BP}"),
    ("acme.postman_environment.json", '{{"values": [{{"key": "api_token", "value": "{T}", "enabled": true}}]}}'),
    ("users_export.csv", "id,username,email,password,role\n7,ann,ann@example.org,{P},admin"),
    ("seed.sql", "INSERT INTO integrations (id, name, client_secret) VALUES\n  (1, 'erp', '{T}');"),
    ("store.go", '\tdb, err := sql.Open("mysql", "orders:{P}@tcp(db.internal:3306)/orders")'),
    ("Db.php", "    $pdo = new PDO($dsn, 'app', '{P}');"), ("Tls.java", '    ks.load(in, "{P}".toCharArray());'),
    ("mailer.py", '    server.login("reports@example.org", "{P}")'), ("users.acl", "user app on >{P} ~app:* +@all"),
    ("rds.yaml", "  DbPassword:\n    Type: String\n    NoEcho: true\n    Default: {P}"),
    ("templates/secret.yaml", '  DB_PASSWORD: {{{{ .Values.db.password | default "{P}" | b64enc }}}}'),
    ("rclone.conf", "[b2]\ntype = b2\naccount = 000abc\nkey = {T}"),
]
NEGATIVE = [
    ("db.py", 'password = os.environ["DB_PASSWORD"]'), ("db.py", 'password = os.getenv("DB_PASSWORD")'),
    ("config.yml", "password: ${DB_PASSWORD}"), ("values.yaml", 'password: "{{{{ .Values.db.password }}}}"'),
    (".env.example", "DB_PASSWORD=changeme"), (".env.example", "DB_PASSWORD="), ("db.py", "password = None"),
    ("models.py", "    password: str"), ("auth.py", "def connect(user, password):"), ("auth.py", "if password == confirm:"),
    ("views.py", 'password = request.form["password"]'), ("en.json", '{{"password": "Password"}}'),
    ("en.json", '{{"passwordLabel": "Enter your password"}}'), ("login.html", '<input type="password" name="password">'),
    ("settings.py", 'PASSWORD_RESET_URL = "https://example.io/reset"'), ("policy.yml", "password_min_length: 12"),
    ("oidc.yml", "token_endpoint: https://auth.example.io/oauth/token"), ("nlp.py", 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")'),
    ("sm.yml", "secret_name: prod/db/password"), ("client.py", "api_key = settings.API_KEY"), ("auth.js", "const token = await getToken();"),
    ("package-lock.json", '      "integrity": "sha512-{B64_88}"'), ("deploy.yml", "commit: {H}"), ("ids.yml", "id: {U}"),
    ("id_rsa.pub", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{B64_60} dev@laptop"), ("README.md", "postgres://user:password@localhost/db"),
    ("docker-compose.yml", "DATABASE_URL: postgres://db:5432/app"), ("README.md", "Clone https://github.com/org/repo.git"),
    ("auth.py", 'logger.info("password reset for %s", user)'), ("cfg.py", 'password = "********"'),
    ("cfg.yml", 'api_key: "<YOUR_API_KEY>"'), ("cfg.yml", 'client_secret: "${CLIENT_SECRET}"'), ("cfg.yml", "token: xxxxxxxxxxxxxxxxxxxx"),
    ("form.js", 'var passwordField = document.getElementById("pwd");'), ("User.java", "    private String password;"),
    ("User.java", "    public String getPassword() { return password; }"), ("vault.yml", "password: !vault |"),
    ("auth.py", "hashed_password = bcrypt.hashpw(password.encode(), bcrypt.gensalt())"), ("Cargo.lock", 'checksum = "{H64}"'),
    ("go.sum", "github.com/x/y v1.2.3 h1:{B64_43}="), ("deploy.yaml", "        secretKeyRef:\n          name: db-credentials\n          key: password"),
    ("secret.yaml", "kind: Secret"), ("keys.py", 'public_key = "{B64_60}"'), ("de.yml", "de:\n  password: Passwort"),
    ("en.yml", 'forgot_password: "Forgot password?"'), (".env", "TOKEN_TYPE=bearer"), ("main.tf", 'region = "us-east-1"'),
    ("settings.py", "PASSWORD_HASHERS = ['django.contrib.auth.hashers.Argon2PasswordHasher']"), ("ci.sh", "echo $PW | docker login -u ci --password-stdin reg"),
    ("backup.sh", "mysql -u root -p app"), ("README.md", "Set the `DB_PASSWORD` environment variable."),
    ("app.ts", "  password: string;"), ("schema.graphql", "  password: String!"), ("cfg.go", "Password: os.Getenv(\"DB_PASSWORD\"),"),
    ("svc.cs", "var password = configuration[\"Db:Password\"];"), ("cfg.php", "$password = getenv('DB_PASSWORD');"),
    ("main.tf", "  password = var.db_password"), ("rds.tf", "  master_password = random_password.db.result"),
    ("Dockerfile", "ENV DB_PASSWORD_FILE=/run/secrets/db_password"),
    ("audit.csv", "id,password_changed_at,token_count\n1,2023-10-02T03:33:18,42"),
    ("seed.sql", "INSERT INTO users (id, login, password) VALUES (1, 'admin', 'changeme');"),
    ("grafana.ini", "[database]\npassword = $__env{{GF_DATABASE_PASSWORD}}"),
    ("appsettings.json", '{{"ClientSecret": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/app/)"}}'),
    ("deploy.yaml", "      annotations:\n        checksum/secret: {H64}"),
    ("settings.xml", "<server><id>nexus</id><password>{{{B64_43}=}}</password></server>"),
    ("reset.ps1", '$securePassword = Read-Host -Prompt "New password" -AsSecureString'), ("mon.ps1", "$apiKey = $env:MONITORING_API_KEY"),
    ("login.php", "$password = $_POST['password'] ?? '';"), ("mail.xml", '<property name="password" value="#{{systemEnvironment[\'MAIL_PASSWORD\']}}"/>'), ("ci.yml", "        env:\n          TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}"),
    ("app.properties", "spring.datasource.password=${DB_PASSWORD}"), ("docs.md", "curl -u $USER:$PASS https://api"),
    ("test_auth.py", 'assert "password" in response.json()["errors"]'), ("form.py", "password = forms.CharField(widget=forms.PasswordInput)"),
    ("pubspec.lock", '      sha256: "{H64}"'), ("cfg.yml", "password: ''"), ("k8s.yml", "  tokenSecretName: ci-token"),
    ("cfg.json", '{{"token_ttl": 3600, "token_type": "Bearer"}}'), ("cfg.js", "const apiKeyHeader = 'X-Api-Key';"),
    ("api.py", 'url = f"{{base}}/api/v1/token/refresh"'), ("cfg.yml", "auth:\n  type: password\n  prompt: true"),
    ("uuid.txt", "request_id={U}"), ("cfg.xml", "<password>${env.NEXUS_PASSWORD}</password>"), ("Web.config", '<add key="PasswordPolicy" value="Strict" />'),
    ("cfg.cs", 'var cs = "Server=db;Database=app;Trusted_Connection=True;";'), ("Db.java", "ds.setPassword(System.getenv(\"DB_PASSWORD\"));"),
    ("sql.sql", "ALTER USER app WITH PASSWORD :'db_password';"), ("test.js", "expect(user.password).toBeUndefined();"),
    ("passwd", "root:x:0:0:root:/root:/bin/bash"), ("shadow", "daemon:*:19000:0:99999:7:::"), ("yarn.lock", '  integrity sha1-{B64_27}='),
    ("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB{B64_60}\n-----END CERTIFICATE-----"), ("jwt.md", "A JWT looks like `xxxxx.yyyyy.zzzzz`."),
    ("entrypoint.sh", ': "${{DB_PASSWORD:?DB_PASSWORD must be set}}"'),
    ("task.json", '"valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-wHgpys:password::"'),
    ("Makefile", "\tdocker build --secret id=npm_token,env=NPM_TOKEN -t app ."), ("ca.sh", "openssl genrsa -aes256 -pass env:CA_PASS -out ca.key"),
    ("token_test.go", 'const example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"'),
    ("auth.md", "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), ("payments.md", 'stripe.api_key = "sk_test_EXAMPLEKEYDONOTUSE0000000000"'),
    ("runbook.md", 'CloudTrail shows `"password": "HIDDEN_DUE_TO_SECURITY_REASONS"`.'), ("wp-config-sample.php", "define( 'DB_PASSWORD', 'password_here' );"),
    ("web.config", '<add key="SendGridApiKey" value="#{{SendGridApiKey}}#" />'), (".env.example", "SENTRY_DSN=https://<public-key>@o0.ingest.sentry.io/<project-id>"),
    ("schema.graphql", "  changePassword(currentPassword: String!, newPassword: String!): Boolean!"), ("zip.py", "    def read(self, name, pwd=None):"),
]


def fill(tpl: str) -> str:
    gen = {
        "P": pw, "T": tok, "T40": lambda: rnd(40, ALNUM + "+/"), "J": jwt, "H": lambda: rnd(40, HEX),
        "H64": lambda: rnd(64, HEX), "U": uuid, "B": lambda: b64(f"ci-{rnd(4)}:{pw()}"),
        "BP": lambda: b64(pw()),
        "AK": lambda: rnd(16, string.ascii_uppercase + "234567"), "S8": lambda: rnd(8, S), "S16": lambda: rnd(16, S),
        "S22": lambda: rnd(22, S), "S53": lambda: rnd(53, S), "S86": lambda: rnd(86, S),
        "B64_88": lambda: rnd(86, ALNUM + "+/") + "==", "B64_60": lambda: rnd(60, ALNUM + "+/"),
        "B64_43": lambda: rnd(43, ALNUM + "+/"), "B64_27": lambda: rnd(27, ALNUM + "+/"),
    }
    out = re.sub(r"(?<!\{)\{([A-Z0-9_]+)\}(?!\})", lambda m: gen[m.group(1)]() if m.group(1) in gen else m.group(0), tpl)
    return out.replace("{{", "{").replace("}}", "}")


def build(root: Path, rounds: int) -> dict[str, bool]:
    labels: dict[str, bool] = {}
    n = 0
    for _ in range(rounds):
        for label, table in ((True, POSITIVE), (False, NEGATIVE)):
            for name, tpl in table:
                n += 1
                rel = f"s{n:04d}/{name}"
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(fill(tpl) + "\n")
                labels[rel] = label
    return labels


def secretkeeper_flags(root: Path) -> dict[str, list[str]]:
    out = subprocess.run([str(SK), "scan", str(root), "--no-history", "-f", "json", "-q"], capture_output=True, text=True)
    report = json.loads(out.stdout)
    flagged: dict[str, list[str]] = {}
    for f in report["findings"]:
        flagged.setdefault(f["location"]["path"], []).append(f["rule_id"])
    return flagged


def detect_secrets_flags(root: Path, exe: str) -> dict[str, list[str]]:
    out = subprocess.run([exe, "scan", "--all-files", "."], capture_output=True, text=True, cwd=root)
    report = json.loads(out.stdout)
    return {path: [r["type"] for r in results] for path, results in report["results"].items()}


def score(name: str, labels: dict[str, bool], flagged: dict[str, list[str]]) -> None:
    tp = sum(1 for p, lab in labels.items() if lab and p in flagged)
    fp = sum(1 for p, lab in labels.items() if not lab and p in flagged)
    pos = sum(labels.values())
    precision = tp / (tp + fp) if tp + fp else 0.0
    print(f"{name:<16} files={len(labels)} planted={pos} TP={tp} FP={fp} FN={pos - tp} "
          f"precision={precision:.3f} recall={tp / pos:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--detect-secrets", default=None, help="path to a detect-secrets executable")
    ap.add_argument("--keep", default=None, help="write the corpus here and keep it")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses and false alarms")
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="sk-acc-"))
    labels = build(root, args.rounds)
    flagged = secretkeeper_flags(root)
    score("secretkeeper", labels, flagged)
    if args.verbose:
        for p, lab in sorted(labels.items()):
            if lab and p not in flagged:
                print("  MISS ", p, (root / p).read_text().strip().replace("\n", " | ")[:140])
            elif not lab and p in flagged:
                print("  FALSE", p, flagged[p], (root / p).read_text().strip().replace("\n", " | ")[:120])
    if args.detect_secrets:
        score("detect-secrets", labels, detect_secrets_flags(root, args.detect_secrets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
