"""Build the demo repository: a few commits of planted *synthetic* leaks and look-alikes.

    python scripts/demo_repo.py DIR

Every credential here is random, generated on each run in the shape of the real thing (prefix,
length, checksum); none was ever issued by a vendor. Used by scripts/demo.sh (`make demo`).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import zlib
from pathlib import Path

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def github_pat() -> str:
    body = rand(B62, 30)
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    check = ""
    while n:
        n, r = divmod(n, 62)
        check = B62[r] + check
    return f"ghp_{body}{check.rjust(6, '0')}"


def password() -> str:
    while True:
        pw = rand(B62 + "!#%^*-_", 20)
        if any(c.isdigit() for c in pw) and any(c.islower() for c in pw) and any(c.isupper() for c in pw):
            return pw


def private_key() -> str:
    """A freshly generated throwaway RSA key (never used anywhere)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()).decode()


def commit(repo: Path, message: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {**os.environ, "GIT_AUTHOR_NAME": "Demo Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Demo Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    subprocess.run(["git", "add", "--", *files], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True, env=env)


def main(target: str) -> int:
    repo = Path(target)
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    aws_id = "AKIA" + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    aws_secret = rand(B62 + "+/", 40)
    db_pw, app_pw, url_pw = password(), password(), password()

    commit(repo, "Initial service skeleton", {
        "README.md": "# orders-service\n\nSet `DATABASE_PASSWORD` in your environment; see .env.example.\n",
        ".env.example": "DATABASE_PASSWORD=changeme\nGITHUB_TOKEN=<your-token>\n",
        "app/settings.py": (
            "import os\n\n"
            "DATABASE_PASSWORD = os.environ[\"DATABASE_PASSWORD\"]  # read at runtime, not a leak\n"
            "REQUEST_ID = \"0b5f9c1e-3d4a-4c2b-9f1e-8a7d6c5b4a39\"\n"
            "BUILD_SHA = \"3f1c9e7b2a8d4f6e0c5b9a7d3e1f8c2b6a4d0e9f\"\n"),
        "deploy/authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO4Jc8W0xBv0pD0p4oVQ1xq2m0aQbq1c4zZ7y2dE3f5K ci@build\n",
    })
    commit(repo, "Add AWS upload and GitHub release automation", {
        "config/aws.yaml": f"region: eu-west-1\nbucket: orders-exports\naws_access_key_id: {aws_id}\n"
                           f"aws_secret_access_key: {aws_secret}\n",
        "tools/release.py": ("import requests\n\n"
                             f"GITHUB_TOKEN = \"{github_pat()}\"\n\n"
                             "def publish(tag):\n"
                             "    return requests.post(\"https://api.github.com/repos/acme/orders/releases\",\n"
                             "                         headers={\"Authorization\": f\"token {GITHUB_TOKEN}\"},\n"
                             "                         json={\"tag_name\": tag})\n"),
    })
    commit(repo, "Local dev setup, deploy key and Kubernetes manifests", {
        ".env": f"DATABASE_HOST=db.internal\nDATABASE_USER=orders\nDATABASE_PASSWORD={db_pw}\nLOG_LEVEL=debug\n",
        "deploy/id_rsa": private_key(),
        "k8s/secret.yaml": ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\n  namespace: orders\n"
                            "type: Opaque\nstringData:\n  username: orders\n"
                            f"  password: {app_pw}\n"),
        "k8s/deployment.yaml": ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n"
                                "  template:\n    spec:\n      containers:\n        - name: orders\n"
                                "          image: registry.internal/orders:1.4.2\n          env:\n"
                                "            - name: DATABASE_PASSWORD\n              valueFrom:\n"
                                "                secretKeyRef: {name: orders-db, key: password}\n"),
        "config/database.yml": f"production:\n  url: postgres://orders:{url_pw}@db.internal:5432/orders\n"
                               "development:\n  url: postgres://localhost:5432/orders_dev\n",
    })
    # The classic mistake: the .env is "removed" but stays in history (found by a history scan only).
    subprocess.run(["git", "rm", "-q", ".env"], cwd=repo, check=True)
    commit(repo, "Stop tracking .env", {".gitignore": ".env\n"})
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: demo_repo.py DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
