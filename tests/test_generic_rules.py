"""The generic families, table-driven: realistic lines (synthetic values) that must or must not be flagged.

Beyond each rule's in-TOML examples: code in many languages, config formats, command lines, URLs,
credential files recognised by name, password hashes, and the look-alikes that sink precision
(environment references, code expressions, labels, placeholders, lockfile hashes, UUIDs, public keys).
A true line must produce a finding of some rule; a false line must produce none from these families.
Both prefilter backends run every table (the keyword fallback proves each rule's keywords).
"""

from __future__ import annotations

import pytest

from secretkeeper.config import Config
from secretkeeper.engine import Detector
from secretkeeper.rules import load_builtin_rules
from secretkeeper.pipeline import build_detector

FAMILIES = {"generic", "urls", "tokens", "hashes", "credential-files"}


@pytest.fixture(scope="module", params=["hyperscan", "re"])
def detector(request: pytest.FixtureRequest) -> Detector:
    if request.param == "hyperscan":
        try:
            return build_detector(Config(), backend="hyperscan")
        except RuntimeError:
            pytest.skip("hyperscan is not installed")
    return Detector(load_builtin_rules(), backend="re")


def _rules(detector: Detector, path: str, text: str) -> list[str]:
    return [m.rule.id for m in detector.scan(text.encode(), path)]


def _ours(detector: Detector, path: str, text: str) -> list[str]:
    return [m.rule.id for m in detector.scan(text.encode(), path) if m.rule.family in FAMILIES]


CODE_AND_CONFIG = [
    ("k8s_models.py", '"secret": "V1SecretVolumeSource",', False),
    ("hpke.py", "MLKEM768X25519PrivateKey = rust_openssl.hpke.MLKEM768X25519PrivateKey", False),
    ("fish.py", "(commandline --current-token --cut-at-cursor)", False),
    ("models.go", "\t\tPassword: invoice,", False),
    ("stats.py", "self.status_region = {'product': profile_debug, 'password': 0.1242}", False),
    ("data.json", '{"tags": ["password", "status", "batch"]}', False),
    ("docker-compose.yml", "      POSTGRES_PASSWORD: %z8n#QE4r3ST_ps", True),
    ('app.py', 'db_pass = "Xq7#mLp29v"', True),
    ('app.py', 'self.password = "Kj83hdP0qa"', True),
    ('Settings.java', 'props.setProperty("password", "Qm28dkPz1");', True),
    ('app.js', "const config = { password: 'Lp0qaZ83x' }", True),
    ('config.yml', "  db_password: 'Hy8!kq2Lm'", True),
    ('config.yml', '  password: Hy8kq2Lm', True),
    ('settings.ini', 'pwd=Hy8kq2Lm77', True),
    ('a.sh', 'export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYzz9aKq3mZp1x', True),
    ('main.go', 'const apiKey = "a8f5f167f44f4964e6c998dee827110c"', True),
    ('main.go', 'var Token = "4f3c2a9be1d84d7f8e6b5a4c3d2e1f0a"', True),
    ('app.rb', "config.secret_token = '8d7f6e5c4b3a29180f7e6d5c4b3a2918'", True),
    ('app.json', '"client_secret": "GOCSPX-aB3dE5fG7hI9jK1lM3nO5pQ7r"', True),
    ('app.cs', 'string connStr = "Data Source=srv;Initial Catalog=db;User ID=app;Password=Zx9!qw8Er;";', True),
    ('db.properties', 'jdbc.password=Zx9qw8Er7', True),
    ('x.yml', 'MYSQL_PASSWORD: "Zx9qw8Er7"', True),
    ('app.py', 'PASSWORD="hunter2hunter2"', True),
    ('run.sh', 'mysql --user=root --password=Zx9qw8Er7 db', True),
    ('x.py', 'requests.get(url, auth=("admin", "Zx9qw8Er7"))', True),
    ('x.py', 'client = Client(api_key="sk_live_abcdefghijklmnop1234")', True),
    ('a.env', 'SECRET=9fk2Lq8Zm1Xp', True),
    ('a.tf', '  admin_password = "Zx9qw8Er7!"', True),
    ('x.xml', '<entry key="password">Zx9qw8Er7</entry>', True),
    ('creds.txt', 'username: admin\npassword: Zx9qw8Er7', True),
    ('x.py', 'PASS = "Zx9qw8Er7"', True),
    ('x.py', 'passwd = "Zx9qw8Er7"', True),
    ('x.php', '$password = "Zx9qw8Er7";', True),
    ('x.ps1', '$Password = ConvertTo-SecureString "Zx9qw8Er7!" -AsPlainText -Force', True),
    ('x.yml', 'password: "pa$$w0rd123"', True),
    ('x.py', 'auth_token="ab12cd34ef56gh78ij90kl12"', True),
    ('x.py', 'password = getpass.getpass()', False),
    ('x.py', 'password = input("Password: ")', False),
    ('x.py', 'password = kwargs.get("password")', False),
    ('x.py', 'password = args.password', False),
    ('x.py', 'password = self._password', False),
    ('x.py', 'password = hashlib.sha256(raw).hexdigest()', False),
    ('x.py', 'password = ""', False),
    ('x.py', 'password=None,', False),
    ('x.js', 'password: process.env.DB_PASSWORD,', False),
    ('x.js', 'const password = req.body.password;', False),
    ('x.js', 'if (password.length < 8) return;', False),
    ('x.java', 'String password = System.getenv("PASSWORD");', False),
    ('x.java', 'public void setPassword(String password) {', False),
    ('x.java', 'this.password = password;', False),
    ('x.go', 'Password string `json:"password"`', False),
    ('x.go', 'password := os.Getenv("DB_PASSWORD")', False),
    ('x.yml', 'password: "{{ lookup(\'env\', \'DB_PASSWORD\') }}"', False),
    ('x.yml', 'password: "%DB_PASSWORD%"', False),
    ('x.yml', "password: '@@DB_PASSWORD@@'", False),
    ('x.yml', 'password: __DB_PASSWORD__', False),
    ('x.yml', 'password: ((db_password))', False),
    ('x.yml', "password: <%= ENV['DB_PASSWORD'] %>", False),
    ('x.yml', '  password_file: /run/secrets/db', False),
    ('x.yml', '  passwordSecretRef: db', False),
    ('x.json', '"password": "Your password",', False),
    ('x.json', '"password_hint": "At least 8 characters",', False),
    ('x.json', '"passwordConfirm": "Confirm password",', False),
    ('x.json', '"password": "Kennwort",', False),
    ('x.html', '<label for="password">Password</label>', False),
    ('x.css', 'input[type=password] { border: 1px; }', False),
    ('x.py', 'PASSWORD_FIELD = "password"', False),
    ('x.py', 'TOKEN_URL = "https://oauth2.googleapis.com/token"', False),
    ('x.py', 'token = jwt.encode(payload, key, algorithm="HS256")', False),
    ('x.py', 'api_key = None', False),
    ('x.py', 'api_key: Optional[str] = None', False),
    ('x.ts', 'private apiKey: string;', False),
    ('x.ts', 'apiKey = environment.apiKey;', False),
    ('x.yml', 'secret: false', False),
    ('x.yml', 'secretName: tls-cert', False),
    ('x.yml', 'token: ${{ secrets.NPM_TOKEN }}', False),
    ('x.yml', 'api_key: "{{ api_key }}"', False),
    ('x.sh', 'export API_KEY=$(vault kv get -field=key secret/api)', False),
    ('x.sh', 'TOKEN=$(cat /var/run/secrets/token)', False),
    ('x.py', 'SECRET_KEY = get_random_secret_key()', False),
    ('x.py', 'secret = secrets.token_hex(32)', False),
    ('x.py', '"token": token,', False),
    ('x.py', 'password = "test"', False),
    ('x.py', 'password = "example-password"', False),
    ('x.py', 'password = "dummy_password"', False),
    ('x.py', "password = 'your_password_here'", False),
    ('x.py', 'password = "xxxxxxxx"', False),
    ('x.py', 'password = "<PASSWORD>"', False),
    ('x.py', 'password = "$PASSWORD"', False),
    ('x.py', 'password = "%s" % pw', False),
    ('x.py', 'password = "{}".format(pw)', False),
    ('x.c', 'if (strcmp(password, "") == 0)', False),
    ('x.py', 'assert password != "hunter22"', False),
    ('x.sql', 'CREATE TABLE users (password VARCHAR(255) NOT NULL);', False),
    ('x.sql', 'password_hash TEXT,', False),
    ('x.go', 'tokenType := "Bearer"', False),
    ('x.yml', 'token_ttl: 3600', False),
    ('x.yml', 'access_token_lifetime: 3600s', False),
    ('x.yml', 'refresh_token_expiry: 30d', False),
    ('x.yml', 'apiKey: AIzaSy_PLACEHOLDER_KEY', False),
    ('x.py', 'key = "value"', False),
    ('x.py', 'cache_key = "user:profile:12345678"', False),
    ('x.py', 'sort_key = "created_at_desc_order"', False),
    ('x.py', 'private_key_path = "/etc/ssl/private/key.pem"', False),
    ('x.py', 'private_key = open("key.pem").read()', False),
    ('x.yml', 'private_key: ~/.ssh/id_ed25519', False),
    ('x.yml', 'secret_key_ref: app-secret', False),
    ('x.js', 'const passwordRegex = /^(?=.*[A-Z]).{8,}$/;', False),
    ('x.js', 'password: yup.string().required()', False),
    ('x.js', 'password: Joi.string().min(8),', False),
    ('x.py', 'password = fields.String(required=True)', False),
    ('x.py', 'password = models.CharField(max_length=128)', False),
    ('x.rb', 'validates :password, presence: true', False),
    ('x.rb', 'has_secure_password', False),
    ('x.txt', '--password=<password>', False),
    ('x.txt', 'password=********', False),
    ('x.py', 'SECRET_KEY = "k8#Lm2$Qp9!zXv4&Rt7"', True),
    ('x.js', 'const clientSecret = "Jq8Lm2Qp9zXv4Rt7Wn3";', True),
    ('x.yml', 'jwt_secret: 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c', True),
    ('x.env', 'ENCRYPTION_KEY=Qm9zXv4Rt7Wn3Jq8Lm2Qp9zXv4Rt7Wn', True),
    ('x.json', '"apiKey": "AbCdEf0123456789GhIjKlMn"', True),
    ('x.sh', 'curl -H "X-Api-Key: Zx9qw8Er7Ty6Ui5Op4As3" https://api', True),
    ('x.py', 'headers = {"Authorization": "Token 9f8e7d6c5b4a39281706f5e4d3c2b1a0"}', True),
    ('x.yml', 'access_token: "ya29.Gl0aB9cD8eF7gH6iJ5kL4mN3oP2qR1sT0uV"', True),
    ('x.go', 'accessToken := "Zx9qw8Er7Ty6Ui5Op4As3Df2"', True),
    ('x.txt', 'https://admin:Zx9qw8Er7@jenkins.internal:8080/', True),
    ('x.txt', 'ftp://anonymous:Zx9qw8Er7@ftp.internal/pub', True),
    ('x.yml', 'url: mysql://root:Zx9qw8Er7@127.0.0.1:3306/app', True),
    ('x.yml', 'uri: mongodb://admin:Zx9qw8Er7@mongo1,mongo2/app?replicaSet=rs0', True),
    ('x.py', 'engine = create_engine("postgresql+psycopg2://scott:Zx9qw8Er7@localhost/test")', True),
    ('x.cfg', 'sqlalchemy.url = postgresql://app:Zx9qw8Er7@db/app', True),
    ('x.json', '{"auths":{"reg.internal":{"auth":"dXNlcjpaeDlxdzhFcjdUeTY="}}}', True),
    ('x.py', 'SECRET_KEY = os.environ.get("SECRET_KEY", "")', False),
    ('x.py', 'secret_key = None', False),
    ('x.js', 'const clientSecret = process.env.CLIENT_SECRET;', False),
    ('x.yml', 'jwt_secret: ${JWT_SECRET}', False),
    ('x.env', 'ENCRYPTION_KEY=', False),
    ('x.json', '"apiKey": "your-api-key-here"', False),
    ('x.json', '"apiKey": "<API_KEY>"', False),
    ('x.sh', 'curl -H "X-Api-Key: $API_KEY" https://api', False),
    ('x.py', 'headers = {"Authorization": f"Token {token}"}', False),
    ('x.yml', 'access_token: "{{ access_token }}"', False),
    ('x.go', 'accessToken := r.Header.Get("Authorization")', False),
    ('x.txt', 'https://admin@jenkins.internal:8080/', False),
    ('x.txt', 'https://jenkins.internal:8080/job/x', False),
    ('x.yml', 'url: mysql://root@127.0.0.1:3306/app', False),
    ('x.yml', 'url: mysql://${DB_USER}:${DB_PASS}@db:3306/app', False),
    ('x.md', 'mongodb://<username>:<password>@cluster0.mongodb.net', False),
    ('x.md', 'postgresql://username:password@host:5432/database', False),
    ('x.md', 'postgres://USER:PASSWORD@HOST:PORT/DB', False),
    ('x.md', 'redis://:password@localhost:6379', False),
    ('x.md', 'amqp://guest:guest@localhost:5672/', False),
    ('x.json', '"integrity": "sha512-Zx9qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNm0987654321qwertyuiopAsDfGhJkL=="', False),
    ('x.lock', '"checksum": "a3f5b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7"', False),
    ('x.yml', 'image: nginx@sha256:a3f5b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7', False),
    ('x.yml', 'commit_sha: 8f3a2b1c9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a', False),
    ('x.yml', 'uid: 0f8fad5b-d9cb-469f-a165-70867728950e', False),
    ('x.py', 'request_token_url = "https://api.twitter.com/oauth/request_token"', False),
    ('x.py', 'token_key = "auth_token"', False),
    ('x.yml', 'secret: my-db-secret', False),
    ('x.yml', 'secretKey: aws-secret-key', False),
    ('x.json', '"secret": "Secret"', False),
    ('x.js', 'const TOKEN_KEY = "access_token_storage_key";', False),
    ('x.js', 'localStorage.setItem("token", token);', False),
    ('x.js', 'localStorage.setItem("accessToken", response.data.access_token);', False),
    ('x.py', 'client_secret = config["client_secret"]', False),
    ('x.py', 'api_key = "sk_test_placeholder_api_key_value"', False),
    ('x.cs', 'public string ApiKey { get; set; }', False),
    ('x.swift', 'let apiKey: String', False),
    ('x.kt', 'val apiKey: String = BuildConfig.API_KEY', False),
    ('x.yml', 'api_key: !ENV ${API_KEY}', False),
    ('x.py', 'ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGzXy9qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNm0 dev@host"', False),
    ('x.yml', 'public_key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZx9qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0"', False),
    ('x.yml', 'encryption_key_id: arn:aws:kms:us-east-1:123456789012:key/0f8fad5b-d9cb-469f-a165-70867728950e', False),
    ('x.py', 'SECRET_KEY_FILE = "/run/secrets/django_key"', False),
    ('x.tf', 'secret_key = var.secret_key', False),
    ('x.tf', 'api_token = data.vault_generic_secret.api.data["token"]', False),
    ('x.yml', 'token: "Bearer {{ token }}"', False),
    ('x.py', 'password_reset_token = generate_token()', False),
    ('x.yml', 'session_secret: <%= ENV.fetch("SESSION_SECRET") %>', False),
    ('x.yml', 'key: password', False),
    ('x.js', "document.querySelector('#password').value = '';", False),
    ('x.html', '<input type="password" id="password" placeholder="••••••••">', False),
    ('x.py', 'CSRF_TOKEN = "csrftoken"', False),
]


@pytest.mark.parametrize("path, line, should_flag", CODE_AND_CONFIG)
def test_code_and_config(detector: Detector, path: str, line: str, should_flag: bool) -> None:
    if should_flag:
        assert _rules(detector, path, line), f"missed: {line!r}"
    else:
        assert not _ours(detector, path, line), f"false alarm: {line!r} -> {_ours(detector, path, line)}"


# (path, content, should_flag, expected rule or None)
CREDENTIAL_FILES = [
    (".pgpass", "db.internal:5432:app:app_rw:Vq8#Lm2Pz9", True, "pgpass-password"),
    (".pgpass", "# hostname:port:database:username:password", False, None),
    ("home/.netrc", "machine api.internal login bot password Vq8Lm2Pz9x", True, "netrc-password"),
    ("home/.netrc", "machine api.internal login bot", False, None),
    ("notes.txt", "machine git.internal login ci password Vq8Lm2Pz9x", True, "netrc-machine-password"),
    (".npmrc", "//npm.registry.internal/:_authToken=Vq8Lm2Pz9xK3nB7cD1eF5gH", True, "npmrc-auth-token"),
    (".npmrc", "//npm.registry.internal/:_authToken=${NPM_TOKEN}", False, None),
    (".npmrc", "_auth=Y2k6VnE4TG0yUHo5eA==", True, "npmrc-auth-password"),
    (".pypirc", "[pypi]\nusername = __token__\npassword = pypi-Vq8Lm2Pz9xK3nB7cD1eF5gH", True, "pypirc-password"),
    (".pypirc", "[pypi]\nusername = __token__\npassword = <token>", False, None),
    (".docker/config.json", '{"auths": {"r.io": {"auth": "Y2k6VnE4TG0yUHo5eA=="}}}', True, "docker-config-auth"),
    (".docker/config.json", '{"auths": {"r.io": {"auth": "dXNlcm9ubHk="}}}', False, None),
    (".aws/credentials", "[default]\naws_secret_access_key = Vq8Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7s", True, None),
    (".aws/credentials", "[default]\naws_secret_access_key = ${AWS_SECRET}", False, None),
    (".git-credentials", "https://ci:Vq8Lm2Pz9xK3nB7cD1eF5gH@github.com", True, "git-credentials-file"),
    (".kube/config", "users:\n- name: ci\n  user:\n    token: Vq8Lm2Pz9xK3nB7cD1eF5gH", True, "kubeconfig-user-credential"),
    ("deploy/admin.conf", "users:\n- name: a\n  user:\n    client-key-data: " + "TFMwdExTMUNSVWRKVGlCU1UwRWdVRkpKVmtGVVJTQkxSVmt0TFMwdExRbz0K" * 2,
     True, "kubeconfig-client-key-data"),
    (".kube/config", "users:\n- name: ci\n  user:\n    exec:\n      command: aws-iam-authenticator", False, None),
    (".htpasswd", "admin:$apr1$Vq8Lm2Pz$9xK3nB7cD1eF5gH6iJ0kL.", True, None),
    ("etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:!:19000::::::", False, None),
    ("wp-config.php", "define( 'DB_PASSWORD', 'Vq8#Lm2Pz9x' );", True, None),
    ("wp-config.php", "define('AUTH_KEY', 'put your unique phrase here');", False, None),
    ("mysite/settings.py", "SECRET_KEY = 'Vq8#Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7s'", True, None),
    ("mysite/settings.py", "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']", False, None),
    ("config/master.key", "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c\n", True, "rails-master-key"),
    (".env", "STRIPE_KEY=Vq8Lm2Pz9xK3nB7cD1eF5gH", True, None),
    (".env", "CACHE_KEY=users-list-v2", False, None),
    ("prod.tfstate", '{"attributes": {"password": "Vq8#Lm2Pz9x", "username": "admin"}}', True, None),
    ("config/credentials.xml", "<password>{AQAAABAAAAAQVq8Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7s=}</password>", True,
     "jenkins-encrypted-secret"),
    ("gradle.properties", "signing.password=Vq8#Lm2Pz9x", True, "gradle-properties-credential"),
    ("gradle.properties", "org.gradle.jvmargs=-Xmx2g", False, None),
    (".m2/settings.xml", "<server><password>Vq8#Lm2Pz9x</password></server>", True, None),
    (".gem/credentials", ":rubygems_api_key: 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", True, "gem-credentials-api-key"),
    ("auth.json", '{"github-oauth": {"github.com": "Vq8Lm2Pz9xK3nB7cD1eF5gH"}}', True, "composer-auth-secret"),
    (".vault-token", "hvs.Vq8Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN", True, "vault-token-file"),
    (".my.cnf", "[client]\nuser=backup\npassword=Vq8#Lm", True, "mysql-option-file-password"),
    ("app/application.properties", "a=1\nspring.datasource.password=dolphinstaplemountain\nb=2\n", True,
     "config-password-passphrase"),  # not the last line: `$` ends each line
    (".env", "DB_PASSWORD=correctmarbleharborsky", True, "config-password-passphrase"),
    (".env.production", "DB_PASSWORD=correctmarbleharborsky", True, "config-password-passphrase"),
    ("app/db.py", "password = dolphinstaplemountain", False, None),  # in code: a name
]


@pytest.mark.parametrize("path, content, should_flag, rule_id", CREDENTIAL_FILES)
def test_credential_files(detector: Detector, path: str, content: str, should_flag: bool, rule_id: str | None) -> None:
    found = _rules(detector, path, content)
    if not should_flag:
        assert not _ours(detector, path, content)
    elif rule_id:
        assert rule_id in [m.rule.id for m in detector.scan(content.encode(), path, resolve=False)]
    else:
        assert found


HASHES = [
    ("admin:$2y$10$Vq8Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB", True),
    ("root:$6$Vq8Lm2Pz$" + "9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB" * 2 + "Zz:19000:0:99999:7:::", False),  # 88 chars
    ("root:$6$Vq8Lm2Pz$" + ("9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB" * 2)[:86] + ":19000:0:99999:7:::", True),
    ("pbkdf2_sha256$600000$Vq8Lm2Pz9xK3$nB7cD1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB4c=", True),
    ("$argon2id$v=19$m=65536,t=3,p=4$Vq8Lm2Pz9xK3nB7c$D1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB4cD5e", True),
    ("admin:{SHA}Vq8Lm2Pz9xK3nB7cD1eF5gH6iJ0=", True),
    ("$2b$12$", False),
    ("Hashing uses $6$ (sha512-crypt) by default", False),
    ("bcrypt rounds: $2b$ with cost 12", False),
]


@pytest.mark.parametrize("line, should_flag", HASHES)
def test_password_hashes(detector: Detector, line: str, should_flag: bool) -> None:
    hits = [r for r in _rules(detector, "db/seed.sql", line)]
    assert bool(hits) is should_flag, hits


def test_generic_rule_yields_to_a_specific_one(detector: Detector) -> None:
    line = "password: $2b$12$Vq8Lm2Pz9xK3nB7cD1eF5gH6iJ0kL4mN8oP2qR7sT1uV5wX9yZ3aB"
    assert _rules(detector, "users.yml", line) == ["bcrypt-hash"]


def test_url_password_is_the_secret(detector: Detector) -> None:
    line = "DATABASE_URL=postgres://app:Vq8Lm2Pz9x@db.internal:5432/app"
    (m,) = [m for m in detector.scan(line.encode(), ".env.example") if m.rule.id == "database-url-credentials"]
    assert m.secret == b"Vq8Lm2Pz9x"


def test_every_generic_family_rule_is_marked_generic() -> None:
    for rule in load_builtin_rules():
        if rule.family in {"generic", "urls"}:
            assert rule.generic, rule.id
        if rule.family == "hashes":
            assert not rule.generic, rule.id
