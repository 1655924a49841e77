"""Golden-output equivalence: today's exact CLI output for a fixed tree and a fixed git repository.

Written before the code base was restructured into packages, so the restructure (or any refactoring that
claims to change nothing) can be proven behaviour-preserving: every scenario below runs the real CLI and
compares its exit status, stderr and stdout (and the baseline file it writes) byte for byte with the
files under tests/data/equivalence/golden/, after normalising only what legitimately varies from run to
run (see `normalise`): the temporary directory, durations, wall-clock timestamps, the host name, the
days left on an expired certificate, and the tool version.

The inputs are built by the test, from the tables in this module: no file in the repository holds a
planted secret. Every planted credential is synthetic and derived deterministically from a label
(`_det`), so the same bytes (hence the same hashes, fingerprints and commit ids) come out of every run.

    SECRETKEEPER_UPDATE_GOLDEN=1 python -m pytest tests/test_equivalence.py   # rewrite the golden files

Only the CLI is used (through the shared `run_cli` helper) and this module imports nothing from the
product: moving modules around must not require touching this test (but see `run_cli` in conftest).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import make_tree, run_cli

DATA = Path(__file__).parent / "data" / "equivalence"
GOLDEN = DATA / "golden"
UPDATE = os.environ.get("SECRETKEEPER_UPDATE_GOLDEN") == "1"

# -- deterministic synthetic secrets -----------------------------------------------------------------------
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _UPPER + _LOWER + _DIGITS
_B62 = _DIGITS + _UPPER + _LOWER


def _det(label: str, n: int, alphabet: str = _ALNUM) -> str:
    """`n` characters of `alphabet`, pseudo-random but fixed by `label` (sha256 in counter mode)."""
    out: list[str] = []
    counter = 0
    limit = 256 - 256 % len(alphabet)  # no modulo bias: the strings look random to entropy checks
    while len(out) < n:
        block = hashlib.sha256(f"secretkeeper-golden/{label}/{counter}".encode()).digest()
        counter += 1
        out.extend(alphabet[b % len(alphabet)] for b in block if b < limit)
    return "".join(out[:n])


def _crc32_base62(body: str) -> str:
    """GitHub's token checksum (6 base62 characters of the CRC32 of the random part)."""
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def github_token(label: str) -> str:
    body = _det(label, 30)
    return "gh" + "p_" + body + _crc32_base62(body)


def slack_bot_token(label: str, team_digits: int = 12, bot_digits: int = 13, tail: int = 24) -> str:
    parts = [_det(f"{label}/team", team_digits, _DIGITS), _det(f"{label}/bot", bot_digits, _DIGITS),
             _det(f"{label}/tail", tail)]
    return "-".join(["xox" + "b", *parts])


def _pem(kind: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    dashes = "-" * 5
    return "\n".join([f"{dashes}BEGIN {kind}{dashes}", *lines, f"{dashes}END {kind}{dashes}"]) + "\n"


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"secretkeeper-golden/key/{label}".encode()).digest()


def ed25519_key(label: str):  # -> Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(_seed(label))


def pkcs8_pem(label: str) -> str:
    """A PKCS#8 Ed25519 private key derived from `label` (the same key every run)."""
    from cryptography.hazmat.primitives import serialization as ser

    der = ed25519_key(label).private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    return _pem("PRIVATE KEY", der)


def ec_pem(label: str) -> str:
    """A P-256 private key in the traditional `EC PRIVATE KEY` form, derived from `label`."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(int.from_bytes(_seed(label), "big") % (2**255) + 1, ec.SECP256R1())
    der = key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption())
    return _pem("EC PRIVATE KEY", der)


def certificate_pem(label: str, cn: str, not_before: dt.datetime, not_after: dt.datetime) -> str:
    """A self-signed Ed25519 certificate: Ed25519 signatures are deterministic, so the DER is too."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.x509.oid import NameOID

    key = ed25519_key(label)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Golden Test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int.from_bytes(_seed(label)[:8], "big")).not_valid_before(not_before)
            .not_valid_after(not_after).sign(key, None))
    return cert.public_bytes(ser.Encoding.PEM).decode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Secrets:
    """Every planted credential, by name (none of them may appear in clear in any output)."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str) -> str:
        self.values[name] = value
        return value


def _utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


# -- the fixed tree --------------------------------------------------------------------------------------
CUSTOM_PREFIX = "gld" + "_"


def tree_files(s: Secrets) -> dict[str, str | bytes]:
    """The working tree scanned with --no-history: many rule families, filters, ignores and skips."""
    gh = s.add("github", github_token("tree/github"))
    gh_allowed = s.add("github-allowed", github_token("tree/github-allowed"))
    gh_nextline = s.add("github-nextline", github_token("tree/github-nextline"))
    akia = s.add("aws-id", "AKIA" + _det("tree/aws-id", 16, _UPPER + "234567"))
    aws_secret = s.add("aws-secret", _det("tree/aws-secret", 40, _ALNUM + "/+"))
    slack_bot = s.add("slack-bot", slack_bot_token("tree/slack"))
    hook_path = f"T{_det('tree/hook-t', 10, _UPPER + _DIGITS)}/B{_det('tree/hook-b', 10, _UPPER + _DIGITS)}"
    slack_hook = s.add("slack-webhook",
                       f"https://hooks.slack.com/services/{hook_path}/{_det('tree/hook-x', 24)}")
    stripe = s.add("stripe", "sk_" + "live_51" + _det("tree/stripe", 96))
    db_password = s.add("db-password", _det("tree/db-password", 14) + "#7")
    url_password = s.add("url-password", _det("tree/url-password", 16))
    env_token = s.add("env-token", _det("tree/env-token", 32))
    env_secret = s.add("env-secret", _det("tree/env-secret", 40, _ALNUM + "-_"))
    netrc_pw = s.add("netrc", _det("tree/netrc", 18) + "!x")
    pgpass_pw = s.add("pgpass", _det("tree/pgpass", 16) + "*Q")
    csv_pw1 = s.add("csv-1", _det("tree/csv-1", 12) + "%4")
    csv_pw2 = s.add("csv-2", _det("tree/csv-2", 15) + "&k")
    k8s_secret_pw = s.add("k8s-secret", _det("tree/k8s-secret", 20))
    k8s_env_pw = s.add("k8s-env", _det("tree/k8s-env", 18) + "=9")
    custom = s.add("custom", CUSTOM_PREFIX + _det("tree/custom", 24, _LOWER + _DIGITS))
    vendored = s.add("vendored", github_token("tree/vendored"))
    excluded = s.add("excluded", github_token("tree/excluded"))
    fixture = s.add("fixture", github_token("tree/fixture"))
    unicode_tok = s.add("unicode", github_token("tree/unicode"))
    pkcs8 = s.add("pkcs8", pkcs8_pem("tree/pkcs8"))
    ec = s.add("ec", ec_pem("tree/ec"))
    jwt_header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    jwt_payload = base64.urlsafe_b64encode(b'{"sub":"golden-user","role":"admin"}').rstrip(b"=").decode()
    jwt = s.add("jwt", f"{jwt_header}.{jwt_payload}.{_det('tree/jwt', 43, _ALNUM + '-_')}")
    expired = certificate_pem("tree/cert-expired", "expired.golden.test", _utc(2000, 1, 1), _utc(2001, 1, 1))
    valid = certificate_pem("tree/cert-valid", "valid.golden.test", _utc(2020, 1, 1), _utc(2199, 1, 1))
    custom_examples = (CUSTOM_PREFIX + _det("tree/custom-example", 24, _LOWER + _DIGITS),
                       CUSTOM_PREFIX + "short")
    s.add("custom-example", custom_examples[0])

    return {
        ".secretkeeper.yaml": (
            "scan:\n"
            "  exclude:\n"
            "    - 'generated/**'\n"
            "  severity:\n"
            "    slack-webhook-url: low\n"
            "  disable:\n"
            "    - jwt\n"
            "  allowlist:\n"
            "    paths:\n"
            "      - '^fixtures/'\n"
            "  rules:\n"
            "    - id: golden-internal-key\n"
            "      description: Internal golden-test API key\n"
            "      severity: critical\n"
            f"      regex: '\\b(?P<secret>{CUSTOM_PREFIX}[a-z0-9]{{24}})\\b'\n"
            f"      keywords: [{CUSTOM_PREFIX}]\n"
            "      remediation: Revoke it in the internal console. Then issue a new one.\n"
            "      examples:\n"
            f"        true: ['key = {custom_examples[0]}']\n"
            f"        false: ['key = {custom_examples[1]}']\n"
        ),
        "README.md": "# Golden tree\n\nNothing secret here: password = <your password>, token: ${TOKEN}.\n",
        "src/app.py": (
            "import os\n\n"
            f"GITHUB_TOKEN = '{gh}'\n"
            f"ALLOWED = '{gh_allowed}'  # secretkeeper:allow\n"
            "# pragma: allowlist nextline secret\n"
            f"NEXTLINE = '{gh_nextline}'\n"
            "PLACEHOLDER = 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'\n"
            "FROM_ENV = os.environ['DB_PASSWORD']\n"
            f"db_password = \"{db_password}\"\n"
            f"INTERNAL_KEY = \"{custom}\"\n"
        ),
        "src/cloud.py": (
            f"AWS_ACCESS_KEY_ID = \"{akia}\"\n"
            f"AWS_SECRET_ACCESS_KEY = \"{aws_secret}\"\n"
            f"SLACK_BOT_TOKEN = \"{slack_bot}\"\n"
            f"SLACK_WEBHOOK = \"{slack_hook}\"\n"
            f"STRIPE_KEY = \"{stripe}\"  # pragma: allowlist secret\n"
            f"stripe.api_key = \"{stripe}\"\n"
            f"DATABASE_URL = \"postgres://app:{url_password}@db.internal:5432/app\"\n"
            f"SESSION = \"{jwt}\"\n"
        ),
        "keys/deploy.key": pkcs8,
        "keys/ec.pem": ec,
        "certs/expired.pem": expired,
        "certs/bundle.crt": valid + expired,
        ".env": (
            "# local settings\n"
            f"API_TOKEN={env_token}\n"
            f"export SECRET_KEY='{env_secret}'\n"
            "DB_PASSWORD=changeme\n"
            "REDIS_PASSWORD=${REDIS_PASSWORD}\n"
            "LOG_LEVEL=debug\n"
        ),
        "home/.netrc": f"machine api.golden.test\n  login ops@golden.test\n  password {netrc_pw}\n",
        "home/.pgpass": f"db.internal:5432:app:app_rw:{pgpass_pw}\n*:*:*:readonly:*\n",
        "data/users.csv": (
            "id,email,password,notes\n"
            f"1,ann@golden.test,{csv_pw1},first\n"
            "2,bob@golden.test,changeme,placeholder\n"
            f"3,cid@golden.test,{csv_pw2},third\n"
        ),
        "deploy/k8s/app.yaml": (
            "apiVersion: v1\n"
            "kind: Secret\n"
            "metadata:\n"
            "  name: app-db\n"
            "  namespace: shop\n"
            "type: Opaque\n"
            "data:\n"
            f"  username: {_b64('app')}\n"
            f"  password: {_b64(k8s_secret_pw)}\n"
            "---\n"
            "apiVersion: apps/v1\n"
            "kind: Deployment\n"
            "metadata:\n"
            "  name: web\n"
            "  namespace: shop\n"
            "spec:\n"
            "  replicas: 2\n"
            "  template:\n"
            "    metadata:\n"
            "      labels: {app: web}\n"
            "    spec:\n"
            "      containers:\n"
            "      - name: app\n"
            "        image: shop/web:1.0\n"
            "        securityContext:\n"
            "          privileged: true\n"
            "        env:\n"
            "        - name: LOG_LEVEL\n"
            "          value: info\n"
            "        - name: DB_PASSWORD\n"
            f"          value: \"{k8s_env_pw}\"\n"
            "        - name: API_KEY\n"
            "          valueFrom:\n"
            "            secretKeyRef:\n"
            "              name: app-api\n"
            "              key: key\n"
            "        envFrom:\n"
            "        - secretRef: {name: app-db}\n"
            "---\n"
            "apiVersion: v1\n"
            "kind: Secret\n"
            "metadata:\n"
            "  name: web-tls\n"
            "  namespace: shop\n"
            "type: kubernetes.io/tls\n"
            "data:\n"
            f"  tls.crt: {_b64(expired)}\n"
        ),
        "deploy/k8s/rbac.yaml": (
            "apiVersion: rbac.authorization.k8s.io/v1\n"
            "kind: ClusterRole\n"
            "metadata:\n"
            "  name: secret-reader\n"
            "rules:\n"
            "- apiGroups: [\"\"]\n"
            "  resources: [\"secrets\"]\n"
            "  verbs: [\"get\", \"list\"]\n"
        ),
        "caf\u00e9/\u65e5\u672c.txt": f"token {unicode_tok}\n",
        "generated/out.txt": f"token {excluded}\n",
        "node_modules/pkg/index.js": f"const t = '{vendored}';\n",
        "fixtures/sample.txt": f"token {fixture}\n",
        "img/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "bin/blob.dat": b"\x00\x01\x02 not text \x00" + gh.encode() + b"\x00",
        "empty.txt": "",
    }


# -- the fixed git repository ------------------------------------------------------------------------------
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Golden Author",
    "GIT_AUTHOR_EMAIL": "author@golden.test",
    "GIT_COMMITTER_NAME": "Golden Committer",
    "GIT_COMMITTER_EMAIL": "committer@golden.test",
    "TZ": "UTC",
    "LC_ALL": "C",
}


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tick = 0

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(_GIT_ENV)
        date = f"2024-01-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        proc = subprocess.run(["git", "-C", str(self.root), *args], input=stdin, capture_output=True, env=env,
                              check=False)
        assert proc.returncode == 0, (args, proc.stderr.decode(errors="replace"))
        return proc.stdout.decode()

    def write(self, files: dict[str, str]) -> None:
        make_tree(self.root, files)

    def commit(self, message: str) -> str:
        self.tick += 1
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


def build_repo(root: Path, s: Secrets) -> None:
    """main: c1 (a token in deploy/old.env, a .pgpass, a CSV) -> c2 (a Slack token in src/app.py) -> c3
    (old.env deleted: history only; tagged release-1) -> branch `feature` (an EC key; the token file edited)
    merged --no-ff -> a rename of a file holding a password -> an AWS pair in .env. Plus an uncommitted file
    and an unreachable blob holding a token."""
    old = s.add("repo-old-token", github_token("repo/old"))
    slack = s.add("repo-slack", slack_bot_token("repo/slack", 11, 12, 26))
    pg = s.add("repo-pgpass", _det("repo/pgpass", 15) + "@z")
    csv_pw = s.add("repo-csv", _det("repo/csv", 13) + "^m")
    feature_tok = s.add("repo-feature-token", github_token("repo/feature"))
    feature_tok2 = s.add("repo-feature-token-2", github_token("repo/feature-2"))
    renamed_pw = s.add("repo-renamed", _det("repo/renamed", 16) + "!r")
    akia = s.add("repo-aws-id", "AKIA" + _det("repo/aws-id", 16, _UPPER + "234567"))
    aws_secret = s.add("repo-aws-secret", _det("repo/aws-secret", 40, _ALNUM + "/+"))
    untracked = s.add("repo-untracked", github_token("repo/untracked"))
    dangling = s.add("repo-dangling", github_token("repo/dangling"))
    ec = s.add("repo-ec", ec_pem("repo/ec"))

    root.mkdir(parents=True)
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.write({
        "README.md": "# Golden repo\n",
        "src/app.py": "def main():\n    return 0\n",
        "deploy/old.env": f"LOG_LEVEL=info\nGITHUB_TOKEN={old}\n",
        ".pgpass": f"db.internal:5432:app:app:{pg}\n",
        "data/export.csv": f"user,secret\nann,{csv_pw}\nbob,changeme\n",
        "config/settings.ini": f"[db]\nhost = db.internal\npassword = \"{renamed_pw}\"\n",
    })
    repo.commit("Initial commit")
    repo.write({"src/app.py": f"SLACK = \"{slack}\"\n\ndef main():\n    return 0\n"})
    repo.commit("Notify Slack")
    (root / "deploy" / "old.env").unlink()
    repo.commit("Remove the old env file")
    repo.git("tag", "release-1")

    repo.git("checkout", "-q", "-b", "feature")
    repo.write({"keys/feature.pem": ec, "notes/feature.md": f"# Feature\n\ntoken: {feature_tok}\n"})
    repo.commit("Feature: add a key and notes")
    repo.write({"notes/feature.md": f"# Feature\n\nSee the wiki.\n\ntoken: {feature_tok2}\n"})
    repo.commit("Feature: rotate the token in the notes")
    repo.git("checkout", "-q", "main")
    repo.write({"README.md": "# Golden repo\n\nNow with a feature.\n"})
    repo.commit("README: mention the feature")
    repo.tick += 1
    repo.git("merge", "-q", "--no-ff", "--no-edit", "-m", "Merge branch 'feature'", "feature")

    repo.git("mv", "config/settings.ini", "config/app.ini")
    repo.commit("Rename settings.ini to app.ini")
    repo.write({".env": f"AWS_ACCESS_KEY_ID={akia}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"})
    repo.commit("Add local env")

    repo.write({"scratch/todo.txt": f"remember {untracked}\n"})  # never committed
    repo.git("hash-object", "-w", "--stdin", stdin=f"lost {dangling}\n".encode())


def moved_tree_files(s: Secrets) -> dict[str, str | bytes]:
    """The tree after some edits, scanned with the tree's baseline: known findings whose lines moved stay
    suppressed; a new secret, and a known secret at a new path, are reported."""
    files = tree_files(s)
    files["src/app.py"] = "# a header\n# that moves\n# every line down\n" + str(files["src/app.py"])
    files["src/new.py"] = f"NEW_TOKEN = '{s.add('moved-new', github_token('moved/new'))}'\n"
    files["src/copy.py"] = f"COPY = '{s.values['github']}'\n"
    del files["keys/ec.pem"]
    return files


def build_bulk_repo(root: Path, s: Secrets) -> None:
    """Enough content (3 x 6 MB of filler text) that `--jobs 2` really forks worker pools, for the working
    tree and for the history content pass (below 16 MB both run inline whatever --jobs says), with
    findings, a binary file and a file over the size cap spread among the fillers."""
    filler = "{n}:{i:07d} lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
    files: dict[str, str | bytes] = {
        ".secretkeeper.yaml": "scan:\n  max_file_size: 7MB\n",
        "a/first.py": f"TOKEN = '{s.add('bulk-a', github_token('bulk/a'))}'\n",
        "a/image.bin": b"\x00\x01binary\x00" * 64,
        "m/middle.env": f"SECRET_KEY={s.add('bulk-m', _det('bulk/m', 32))}\n",
        "z/last.txt": f"slack {s.add('bulk-z', slack_bot_token('bulk/z'))}\n",
    }
    for n in range(3):
        files[f"big/filler-{n}.txt"] = "".join(filler.format(n=n, i=i) for i in range(70_000))  # 6.3 MB
    files["big/oversized.txt"] = "".join(filler.format(n=9, i=i) for i in range(85_000))  # 7.7 MB > cap
    root.mkdir(parents=True)
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    make_tree(root, files)
    repo.commit("Bulk content")
    make_tree(root, {"m/middle.env": "SECRET_KEY=${SECRET_KEY}\n",
                     "big/filler-1.txt": str(files["big/filler-1.txt"]) + "end\n"})
    repo.commit("Read the key from the environment")


# -- running and normalising ---------------------------------------------------------------------------------
@dataclass
class World:
    base: Path  # every path the CLI sees is under here
    tree: Path
    moved: Path  # the tree after edits
    repo: Path
    bulk: Path
    secrets: Secrets
    version: str
    release_rev: str
    ran: set[str] = field(default_factory=set)  # scenarios run so far (baseline files written)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    assert shutil.which("git"), "git is required to build the golden repository"
    base = tmp_path_factory.mktemp("golden")
    secrets = Secrets()
    tree = make_tree(base / "tree", tree_files(secrets))
    moved = make_tree(base / "moved", moved_tree_files(secrets))
    repo = base / "repo"
    build_repo(repo, secrets)
    bulk = base / "bulk"
    build_bulk_repo(bulk, secrets)
    res = run_cli(["--version"])
    assert res.code == 0, res.output
    version = res.stdout.strip().removeprefix("secretkeeper ")
    return World(base, tree, moved, repo, bulk, secrets, version, "release-1")


def normalise(text: str, w: World) -> str:
    """Only what legitimately differs between two runs of the same code on the same input."""
    text = text.replace(w.base.resolve().as_uri(), "file://<TMP>")  # SARIF %SRCROOT% (percent-encoded)
    for root in sorted({str(w.base), str(w.base.resolve())}, key=len, reverse=True):
        text = text.replace(root, "<TMP>")
    v = re.escape(w.version)
    text = re.sub(rf"\bsecretkeeper {v}\b", "secretkeeper <VERSION>", text)
    text = re.sub(rf'"(version|semanticVersion)": "{v}"', r'"\1": "<VERSION>"', text)
    text = re.sub(rf'(name="secretkeeper.version" value=)"{v}"', r'\1"<VERSION>"', text)
    # durations: text summary, JSON summary, JUnit suite and clean-testcase times
    text = re.sub(r"(\d+ B|\d+\.\d KB|\d+\.\d MB), \d+\.\d\d s\b", r"\1, <DURATION> s", text)
    text = re.sub(r'"duration_seconds": \d+(?:\.\d+)?(?:e-?\d+)?', '"duration_seconds": "<DURATION>"', text)
    text = re.sub(r'\btime="\d+\.\d{3}"', 'time="<DURATION>"', text)
    # wall clock: JUnit timestamp and host, baseline generation time
    text = re.sub(r'\btimestamp="[0-9T:-]+"', 'timestamp="<TIMESTAMP>"', text)
    text = re.sub(r'\bhostname="[^"]*"', 'hostname="<HOSTNAME>"', text)
    text = re.sub(r'"generated_at": "[0-9T:Z-]+"', '"generated_at": "<TIMESTAMP>"', text)
    # an expired certificate's age grows every day
    text = re.sub(r"\bexpired \d+ days ago\b", "expired <DAYS> days ago", text)
    text = re.sub(r'"days_left": -\d+', '"days_left": "<DAYS>"', text)
    return text


@dataclass(frozen=True)
class Scenario:
    name: str  # golden files: <name>.status (exit code, stderr) and <name>.<ext> (stdout or file written)
    args: tuple[str, ...]  # {tree} {moved} {repo} {bulk} {release} {out} {out:NAME} are filled in
    ext: str
    same_as: str = ""  # output must equal this scenario's golden output (same input, other options)
    output_file: bool = False  # the output is the file written to {out}, not stdout
    before: tuple[str, ...] = ()  # scenarios whose outputs this one reads (baseline files)


FORMAT_EXT = {"text": "txt", "json": "json", "sarif": "sarif.json", "junit": "junit.xml"}
FORMATS = tuple(FORMAT_EXT)

SCENARIOS = [
    *(Scenario(f"tree-{f}", ("scan", "{tree}", "--no-history", "--jobs", "1", "-f", f), FORMAT_EXT[f])
      for f in FORMATS),
    Scenario("tree-json-jobs2", ("scan", "{tree}", "--no-history", "--jobs", "2", "-f", "json"), "json",
             same_as="tree-json"),
    Scenario("tree-text-quiet", ("scan", "{tree}", "--no-history", "--jobs", "1", "-q"), "txt"),
    Scenario("tree-sarif-to-file", ("scan", "{tree}", "--no-history", "--jobs", "1", "-f", "sarif",
                                    "-o", "{out}"), "sarif.json", same_as="tree-sarif", output_file=True),
    Scenario("tree-fail-on-critical", ("scan", "{tree}", "--no-history", "--jobs", "1", "--fail-on",
                                       "critical", "-q"), "txt"),
    Scenario("two-roots-json", ("scan", "tree", "repo", "--no-history", "--jobs", "1", "-f", "json"),
             "json"),  # relative roots (the cwd is the temp directory): paths are prefixed with them
    *(Scenario(f"repo-{f}", ("scan", "{repo}", "--jobs", "1", "-f", f), FORMAT_EXT[f]) for f in FORMATS),
    *(Scenario(f"repo-since-{f}", ("scan", "{repo}", "--since", "{release}", "--jobs", "1", "-f", f),
               FORMAT_EXT[f]) for f in ("text", "json")),
    Scenario("repo-branch-feature-json", ("scan", "{repo}", "--branch", "feature", "--jobs", "1", "-f",
                                          "json"), "json"),
    Scenario("bulk-json", ("scan", "{bulk}", "--jobs", "1", "-f", "json"), "json"),
    Scenario("bulk-json-jobs2", ("scan", "{bulk}", "--jobs", "2", "-f", "json"), "json",
             same_as="bulk-json"),  # forks worker pools (files and history): same report
    Scenario("bulk-text-jobs2", ("scan", "{bulk}", "--jobs", "2"), "txt"),
    Scenario("baseline-tree", ("baseline", "{tree}", "--no-history", "--jobs", "1", "-o", "{out}"), "json",
             output_file=True),
    *(Scenario(f"{root}-with-baseline-{f}", ("scan", f"{{{root}}}", "--no-history", "--jobs", "1",
                                              "--baseline", "{out:baseline-tree}", "-f", f),
               FORMAT_EXT[f], before=("baseline-tree",))
      for root in ("tree", "moved") for f in ("text", "json")),
    Scenario("baseline-repo", ("baseline", "{repo}", "--jobs", "1", "-o", "{out}"), "json", output_file=True),
    Scenario("repo-with-baseline-text", ("scan", "{repo}", "--jobs", "1", "--baseline",
                                         "{out:baseline-repo}"), "txt", before=("baseline-repo",)),
    Scenario("rules-list-text", ("rules", "list"), "txt"),
    Scenario("rules-list-json", ("rules", "list", "-f", "json"), "json"),
    Scenario("rules-list-custom-json", ("rules", "list", "-f", "json", "-c", "{tree}/.secretkeeper.yaml"),
             "json"),
    Scenario("rules-test", ("rules", "test"), "txt"),
    Scenario("rules-test-custom", ("rules", "test", "-c", "{tree}/.secretkeeper.yaml"), "txt"),
]
BY_NAME = {s.name: s for s in SCENARIOS}


def _out_path(w: World, name: str) -> Path:
    out = w.base / "out"
    out.mkdir(exist_ok=True)
    return out / f"{name}.{BY_NAME[name].ext}"


def _args(sc: Scenario, w: World) -> list[str]:
    subst = {"{tree}": str(w.tree), "{moved}": str(w.moved), "{repo}": str(w.repo), "{bulk}": str(w.bulk),
             "{out}": str(_out_path(w, sc.name)), "{release}": w.release_rev}
    args = []
    for a in sc.args:
        m = re.fullmatch(r"\{out:([\w-]+)\}", a)
        if m:
            args.append(str(_out_path(w, m.group(1))))
            continue
        for k, v in subst.items():
            a = a.replace(k, v)
        args.append(a)
    return args


def run_scenario(sc: Scenario, w: World) -> tuple[str, str]:
    """(status text, main output), both normalised."""
    for dep in sc.before:
        if dep not in w.ran:
            run_scenario(BY_NAME[dep], w)
    res = run_cli(_args(sc, w), cwd=w.base)
    assert res.exception is None, repr(res.exception)
    w.ran.add(sc.name)
    main = _out_path(w, sc.name).read_text(encoding="utf-8") if sc.output_file else res.stdout
    status = f"exit: {res.code}\n--- stderr ---\n{res.stderr}"
    if sc.output_file:
        status += f"--- stdout ---\n{res.stdout}"
    return normalise(status, w), normalise(main, w)


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.is_file(), f"{path} is missing: run with SECRETKEEPER_UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        import difflib

        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"golden/{path.name}", "actual", n=2))
        pytest.fail(f"output differs from tests/data/equivalence/golden/{path.name} (rewrite the golden "
                    f"files only for an intended change: SECRETKEEPER_UPDATE_GOLDEN=1):\n{diff[:20000]}",
                    pytrace=False)


def _probes(value: str) -> set[str]:
    """What must never appear: the value, and each random-looking run in it (12+ characters), also
    without its first four characters (a vendor prefix such as AKIA is not secret, the rest is)."""
    probes = {value.strip()} if "\n" not in value.strip() else set()
    for run in re.findall(r"[A-Za-z0-9+/=]{12,}", value):
        probes.add(run)
        if len(run) >= 16:
            probes.add(run[4:])
    return probes


def _leaks(text: str, w: World) -> list[str]:
    """Names of the planted secrets found in clear in `text`."""
    return [name for name, value in w.secrets.values.items() if any(p in text for p in _probes(value))]


def golden_names(sc: Scenario) -> list[str]:
    return [f"{sc.name}.status", *([] if sc.same_as else [f"{sc.name}.{sc.ext}"])]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_golden(sc: Scenario, world: World) -> None:
    status, main = run_scenario(sc, world)
    assert _leaks(status + main, world) == []
    check_golden(GOLDEN / f"{sc.name}.status", status)
    if not sc.same_as:
        check_golden(GOLDEN / f"{sc.name}.{sc.ext}", main)
    elif UPDATE:  # the reference is being rewritten now: compare with its fresh output
        assert main == run_scenario(BY_NAME[sc.same_as], world)[1]
    else:
        ref = BY_NAME[sc.same_as]
        check_golden(GOLDEN / f"{ref.name}.{ref.ext}", main)


def test_no_stale_golden_files() -> None:
    """A golden file that no scenario reads is stale (a renamed or removed scenario)."""
    wanted = {name for sc in SCENARIOS for name in golden_names(sc)}
    present = {p.name for p in GOLDEN.iterdir()} if GOLDEN.is_dir() else set()
    if UPDATE:
        for name in present - wanted:
            (GOLDEN / name).unlink()
        return
    assert present - wanted == set()
    assert wanted - present == set()


def test_golden_files_hold_no_planted_secret(world: World) -> None:
    """The stored reports redact: not one planted credential (nor its random part) is in a golden file."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*"))}
    assert texts
    assert {name: _leaks(text, world) for name, text in texts.items() if _leaks(text, world)} == {}
