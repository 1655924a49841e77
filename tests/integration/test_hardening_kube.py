"""A kubeconfig must not make `scan --cluster` print a credential, nor end clean without the credentials it
declares (issue 20, item 7).

The API servers here are loopback servers whose every answer the test writes (tests/integration/hostile.py);
they speak plain http, which the kubernetes client accepts from a kubeconfig like https."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.bounded import bounded, one_line_error
from tests.conftest import make_token, run_cli
from tests.integration.hostile import HostileServer

pytestmark = pytest.mark.integration


def kubeconfig(path: Path, server: str, user: dict) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}]}))
    return path


def kube_api(pages):
    """A hostile API server: `pages(plural, query, request)` gives the body of each list request
    (a dict as JSON, bytes as they are); anonymous requests get 403, as a cluster that allows anonymous
    access answers them."""

    def handle(server, req, sock):
        if "authorization" not in req.headers:
            server.respond(sock, 403, b'{"kind": "Status", "reason": "Forbidden"}')
            return
        url = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = pages(url.path.rstrip("/").rsplit("/", 1)[-1], query, req)
        server.respond(sock, 200, body if isinstance(body, bytes) else json.dumps(body).encode())

    return HostileServer(handle)


def empty(plural, query, req):
    return {"items": [], "metadata": {}}


@pytest.fixture
def api():
    servers = []

    def start(pages=empty):
        servers.append(kube_api(pages))
        return servers[-1]

    yield start
    for srv in servers:
        srv.close()


# -- 7. kubeconfig: URLs redacted, an auth failure is exit 2 ------------------------------------------------
def test_server_url_userinfo_is_redacted(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    password = make_token()
    path = kubeconfig(tmp_path / "kubeconfig", f"https://admin:{password}@127.0.0.1:{port}/?token={password}",
                      {"token": "placeholder"})
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert password not in res.output
    assert f"https://***@127.0.0.1:{port}" in res.stderr and "context prod" in res.stderr


def _plugin(tmp_path: Path, script: str) -> Path:
    path = tmp_path / "sso-login"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


EXEC_CREDENTIAL = '{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": %s}'
FAILING_PLUGINS = {  # script (TOKEN: a token it leaks on the way), what the error says
    "exits non-zero": ("echo 'refresh failed for TOKEN' >&2; exit 3", "exited with status 3"),
    "prints no token": (f"echo '{EXEC_CREDENTIAL % '{}'}'; echo 'TOKEN' >&2", "printed no token"),
    "prints no credential": ("echo 'session TOKEN expired'", "printed no valid ExecCredential"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(FAILING_PLUGINS))
def test_a_failing_exec_plugin_is_exit_2_and_never_echoed(tmp_path, api, case):
    # The client logged the plugin's stderr (its token) and went on without credentials: against a server
    # that answers anonymous requests with 403, every resource was "not visible" and the scan exited 0.
    token = make_token()
    script, said = FAILING_PLUGINS[case]
    plugin = _plugin(tmp_path, script.replace("TOKEN", token))
    srv = api()
    path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin), "args": ["--secret", token]}})
    proc = bounded(["scan", "--cluster", "-f", "json"], seconds=60, env={"KUBECONFIG": str(path)}, cwd=tmp_path)
    line = one_line_error(proc, f"kubeconfig {path}: context prod", f"the exec auth plugin sso-login {said}")
    assert token not in line + proc.stdout
    assert not srv.requests  # nothing was listed anonymously


@pytest.mark.timeout(120)
def test_an_exec_plugin_failing_when_its_token_expires_is_exit_2(tmp_path, api):
    token = make_token()
    expired = json.dumps({"token": token, "expirationTimestamp": "2000-01-01T00:00:00Z"})
    plugin = _plugin(tmp_path, f"""\
if [ -e "{tmp_path}/ran" ]; then echo "renewal of {token} refused" >&2; exit 1; fi
touch "{tmp_path}/ran"; echo '{EXEC_CREDENTIAL % expired}'
""")
    srv = api()
    path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}})
    proc = bounded(["scan", "--cluster"], seconds=60, env={"KUBECONFIG": str(path)}, cwd=tmp_path)
    line = one_line_error(proc, "context prod", "the exec auth plugin sso-login exited with status 1")
    assert token not in line + proc.stdout


def test_a_token_file_that_gives_no_token_is_exit_2(tmp_path, api):
    srv = api()
    (tmp_path / "token").write_text("")
    path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"tokenFile": str(tmp_path / "token")})
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(path)})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "context prod: the user's token file is empty" in res.stderr
    missing = kubeconfig(tmp_path / "missing", srv.url, {"tokenFile": str(tmp_path / "absent")})
    res = run_cli(["scan", "--cluster"], env={"KUBECONFIG": str(missing)})
    assert res.code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "context prod cannot be loaded" in res.stderr and "absent" in res.stderr
    assert not srv.requests
