"""The product's promise for the rotation commands: a planted value never appears in clear in any output,
audit record, error or file but the intended ones (the encrypted local store, the 0600 manifest target).

One canary per test is planted as secret values (`put`), as credentials the issuers and stores use against
servers that do not answer (a PostgreSQL admin password, a Vault token, an AWS secret key, a kubeconfig
token), and as a literal in the config that must be refused; `put`, `rotate`, `status`, `reseal` run with
and without --debug, on working and failing paths; then stdout, stderr, the audit log, every other file
under the temp folder and every new file in /tmp are searched for it, in clear and base64.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import tempfile
import time
from pathlib import Path


from tests.rotation.conftest import CLI, Backend, Project
from tests.sealed_kit import cert_pem, make_key
from tests.test_canary import files_holding


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(port: int) -> str:
    return f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
  vault: {{type: vault, address: "http://127.0.0.1:{port}", auth: {{method: token, token: {{env: SK_TEST_VAULT}}}},
          timeout: 2}}
secrets:
  - name: api-key
    store: local
    path: apps/api
    issuer: {{type: static}}
    sync:
      - manifest: {{dir: out/secrets}}
      - sealed: {{cert: sealing-cert.pem, dir: gitops/shop, namespace: shop}}
  - name: app-db
    store: local
    path: apps/db
    keys: [password]
    issuer: {{type: random, length: 40}}
    rotate: {{every: 30d}}
    sync:
      - manifest: {{dir: out/secrets}}
  - name: pg-admin
    store: local
    path: admin/pg
    keys: [username, password]
    issuer: {{type: static}}
  - name: orders-db
    store: local
    path: apps/orders
    issuer: {{type: postgres, host: 127.0.0.1, port: {port}, database: orders, role: orders, admin: pg-admin,
             connect_timeout: 2}}
    rotate: {{every: 30d}}
  - name: reports-db
    store: local
    path: apps/reports
    issuer: {{type: vault-database, role: reports, store: vault}}
    rotate: {{every: 30d}}
  - name: ci-keys
    store: local
    path: ci/keys
    issuer: {{type: aws-iam-key, user: ci-bot, region: eu-west-1, endpoint_url: "http://127.0.0.1:{port}",
             verify_timeout: 2s}}
    rotate: {{every: 30d}}
  - name: internal-ca
    store: local
    path: pki/ca
    issuer: {{type: x509-ca, common_name: Canary Test CA, ttl: 3650d}}
    rotate: {{every: 365d}}
  - name: api-tls
    store: local
    path: pki/api
    issuer: {{type: x509, ca: internal-ca, common_name: api.example.internal, ttl: 30d}}
    rotate: {{every: 30d}}
    sync:
      - manifest: {{dir: out/secrets}}
  - name: reports-token
    store: local
    path: kube/reports
    issuer: {{type: k8s-token, namespace: reports, service_account: reports, audiences: [api], ttl: 24h}}
    rotate: {{every: 1d}}
"""


def _kubeconfig(path: Path, port: int, token: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    path.chmod(0o600)
    return path


def _needles(canary: str) -> list[bytes]:
    raw = canary.encode()
    return [raw, raw[4:], base64.b64encode(raw)[4:-4]]


def _intended(root: Path) -> set[Path]:
    """Files meant to hold values: the encrypted store (and its key), the 0600 manifest target."""
    out = {p.resolve() for p in (root / ".secretkeeper").rglob("*") if p.is_file()}
    out |= {p.resolve() for p in root.glob(".secretkeeper*") if p.is_file()}
    out |= {p.resolve() for p in (root / "out").rglob("*") if p.is_file()}
    return out


def test_canary_never_leaks_from_rotation_commands(tmp_path, canary):
    started = time.time() - 1
    port = _closed_port()
    project = Project(tmp_path / "project", _config(port), kind="local")
    (project.root / "sealing-cert.pem").write_bytes(cert_pem(make_key()))
    (project.root / "new-cert.pem").write_bytes(cert_pem(make_key()))
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", port, canary + "-kube")
    audit = tmp_path / "audit.jsonl"
    env = {"SK_TEST_VAULT": canary + "-vault", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLECANARY0001",
           "AWS_SECRET_ACCESS_KEY": canary + "-aws", "KUBECONFIG": str(kubeconfig),
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    runs = []

    def run(*args: str, input: bytes | None = None, codes=(0,), debug=False):
        """The command, and for a failing path the same with --debug (a traceback, never a value)."""
        logged = ["--audit-log", str(audit)] if args[0] in ("put", "rotate") else []
        for extra in ([], ["--debug"]) if debug else ([],):
            proc = project.run(*extra, *args, *logged, env=env, input=input)
            assert proc.returncode in codes, (args, proc.returncode, proc.stderr)
            assert "Traceback" not in proc.stderr or extra, proc.stderr
            runs.append(proc)
        return proc

    run("put", "api-key", input=canary.encode())
    run("put", "pg-admin", input=json.dumps({"username": "admin", "password": canary}).encode())
    run("put", "app-db", input=json.dumps({"password": canary + "-db"}).encode())
    run("rotate", "internal-ca", "api-tls", "app-db", "--force")
    # Every one of these fails: nothing answers on the port (PostgreSQL, Vault, IAM, the API server).
    for name in ("orders-db", "reports-db", "ci-keys", "reports-token"):
        proc = run("rotate", name, "--force", codes=(1, 2), debug=True)
        assert name in proc.stderr + proc.stdout
    run("rotate", "--due", codes=(1, 2))
    run("status", debug=True)
    run("reseal", "gitops/shop", "--cert", "new-cert.pem")
    run("reseal", "gitops/shop", "--list")
    run("reseal", "gitops/shop", "--cert", "api-key-missing.pem", codes=(2,), debug=True)
    run("status", "--format", "json")
    # Refused values: a key it does not hold, JSON cut short, a value that is not text
    run("put", "pg-admin", input=json.dumps({"username": "admin", "pasword": canary}).encode(), codes=(2,), debug=True)
    run("put", "pg-admin", input=b'{"username": "admin", "password": "' + canary.encode(), codes=(2,), debug=True)
    run("put", "pg-admin", input=b'{"username": "admin", "password": ' + canary.encode() + b"}", codes=(2,), debug=True)
    run("put", "pg-admin", input=b'{"username": 7, "password": "' + canary.encode() + b'"}', codes=(2,), debug=True)

    texts = [p.stdout.encode() + p.stderr.encode() for p in runs]
    texts.append(audit.read_bytes())
    assert b'"outcome"' in texts[-1] or b"outcome" in texts[-1]  # the audit log was written
    for text in texts:
        for needle in _needles(canary):
            assert needle not in text
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    # The values the issuers made (a random password, private keys) are no more visible than the canary.
    made = [project.value("app-db")["password"]]
    for name in ("internal-ca", "api-tls"):
        pem = project.value(name)["tls.key"].decode()
        made += [line.encode() for line in pem.splitlines() if len(line) > 40][:3]
    for text in texts:
        for value in made:
            assert value not in text
    intended = _intended(project.root) | {kubeconfig.resolve()}
    for needle in _needles(canary):
        assert files_holding(needle, tmp_path, started, intended) == []
        assert files_holding(needle, Path(tempfile.gettempdir()), started, intended) == []
    for target in (project.root / "out/secrets").iterdir():
        assert stat.S_IMODE(target.stat().st_mode) == 0o600, target


def test_a_credential_literal_in_the_config_is_refused_without_echoing_it(tmp_path, canary):
    bodies = [
        "  vault: {type: vault, address: 'http://127.0.0.1:1', auth: {method: token, token: %s}}\n",
        "  vault: {type: vault, address: 'http://127.0.0.1:1', auth: {method: approle, role_id: r, secret_id: %s}}\n",
        "  vault: {type: vault, address: 'http://u:%s@127.0.0.1:1'}\n",
        "  aws: {type: aws-secrets-manager, region: eu-west-1, secret_access_key: %s}\n",
        "  pg: {type: local, path: x, admin_password: '%s'}\n",
    ]
    for i, body in enumerate(bodies):
        config = "stores:\n  local: {type: local, path: .secretkeeper/store}\n" + body % canary + \
                 "secrets:\n  - {name: a, store: local, path: a, issuer: {type: static}}\n"
        root = tmp_path / f"p{i}"
        root.mkdir()
        (root / "secretkeeper.yaml").write_text(config)
        project = Project.__new__(Project)
        project.root, project.kind, project.command, project.fork = root, "local", CLI, False
        project.backend = Backend("local")
        for debug in ([], ["--debug"]):
            for args in (["status"], ["put", "a"]):
                proc = project.run(*debug, *args, input=b"x")
                assert proc.returncode == 2, (body, args, proc.stderr)
                assert "Traceback" not in proc.stderr or debug
                assert len(proc.stderr.strip().splitlines()) == 1 or debug, proc.stderr
                for needle in _needles(canary):
                    assert needle.decode() not in proc.stdout + proc.stderr, (body, args, proc.stderr)


def test_a_vault_address_from_the_environment_with_a_password_is_refused_without_echoing_it(tmp_path, canary):
    config = ("stores:\n  vault: {type: vault, auth: {method: token, token: {env: SK_TEST_VAULT}}, timeout: 2}\n"
              "secrets:\n  - {name: a, store: vault, path: a, issuer: {type: static}}\n")
    project = Project(tmp_path / "p", config, kind="local")
    env = {"VAULT_ADDR": f"http://u:{canary}@127.0.0.1:{_closed_port()}", "SK_TEST_VAULT": "t"}
    for debug in ([], ["--debug"]):
        for args in (["status"], ["rotate", "a", "--force"]):
            proc = project.run(*debug, *args, env=env, input=b"x")
            assert proc.returncode == 2, (args, proc.stderr)
            assert "VAULT_ADDR" in proc.stderr
            for needle in _needles(canary):
                assert needle.decode() not in proc.stdout + proc.stderr, (args, proc.stderr)
