"""A kubeconfig or an API server must not make `scan --cluster` print a credential, end clean without
credentials, loop, exhaust memory or fail with an internal error (issue 20, items 7 and 9).

The API servers here are loopback servers whose every answer the test writes (tests/integration/hostile.py);
they speak plain http, which the kubernetes client accepts from a kubeconfig like https."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from secretkeeper.kube import client
from secretkeeper.kube.client import Resource, Unlistable, connect, list_objects
from tests.bounded import bounded, one_line_error
from tests.conftest import make_token, run_cli
from tests.integration.hostile import HostileServer

pytestmark = pytest.mark.integration

PODS = Resource("pods", "Pod", "v1")


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


# -- 9. listing: endless, huge or malformed answers ---------------------------------------------------------
def _pod(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}, "spec": {"containers": []}}


@pytest.mark.timeout(120)
def test_a_repeated_continue_token_ends_the_listing_with_a_warning(tmp_path, api):
    def pages(plural, query, req):
        if plural != "pods":
            return empty(plural, query, req)
        return {"items": [_pod(f"p{len(srv.requests)}")], "metadata": {"continue": "again"}}

    srv = api(pages)
    path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"token": "t"})
    proc = bounded(["scan", "--cluster", "-f", "json"], seconds=60, env={"KUBECONFIG": str(path)}, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    warning = "pods in namespace shop: the API server repeated a continue token"
    assert any(w.startswith(warning) for w in json.loads(proc.stdout)["summary"]["warnings"]), proc.stdout
    assert sum("/pods" in r.path for r in srv.requests) == 2


@pytest.mark.timeout(60)
def test_a_listing_that_never_ends_stops_at_the_page_cap(tmp_path, api, monkeypatch):
    def pages(plural, query, req):
        return {"items": [_pod(f"p{len(srv.requests)}")], "metadata": {"continue": f"next-{len(srv.requests)}"}}

    srv = api(pages)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", srv.url, {"token": "t"})))
    monkeypatch.setattr(client, "MAX_PAGES", 20)
    listed = []
    with connect() as conn, pytest.raises(Unlistable, match="pods in namespace shop: more than 20 pages"):
        listed.extend(list_objects(conn, PODS, "shop"))
    assert len(listed) == 20 and len(srv.requests) == 20


@pytest.mark.timeout(120)
def test_an_endless_response_is_read_up_to_the_cap(tmp_path, api):
    # It was read whole into memory. Each page is asked again with a smaller limit (a page of large
    # objects is real: Helm release Secrets), and the listing stops once even one object is too large.
    def handle(server, req, sock):
        if "/pods" in req.path:
            server.endless(sock, headers={"Content-Type": "application/json"}, fill=b"[")
        else:
            server.respond(sock, 200, b'{"items": []}')

    srv = HostileServer(handle)
    try:
        path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"token": "t"})
        proc = bounded(["scan", "--cluster"], seconds=90, max_mb=600, env={"KUBECONFIG": str(path)}, cwd=tmp_path)
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr
    assert "pods in namespace shop: the API server answered more than 64 MiB for one object" in proc.stderr
    limits = [parse_qs(urlsplit(r.path).query)["limit"][0] for r in srv.requests if "/pods" in r.path]
    assert limits == ["500", "125", "31", "7", "1"]


def test_a_page_too_large_is_asked_again_with_a_smaller_limit(tmp_path, api, monkeypatch):
    def pages(plural, query, req):
        limit = int(query["limit"])
        start = int(query.get("continue", 0))
        names = [f"helm-release-{i}" for i in range(start, min(start + limit, 40))]
        return {"items": [{**_pod(n), "data": {"release": "x" * 20_000}} for n in names],
                "metadata": {"continue": str(start + limit) if start + limit < 40 else ""}}

    srv = api(pages)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", srv.url, {"token": "t"})))
    monkeypatch.setattr(client, "MAX_PAGE_BYTES", 200_000)  # ~9 such objects
    with connect() as conn:
        listed = [o["metadata"]["name"] for o in list_objects(conn, PODS, "shop")]
    assert listed == [f"helm-release-{i}" for i in range(40)]
    assert [parse_qs(urlsplit(r.path).query)["limit"][0] for r in srv.requests][:3] == ["500", "125", "31"]


_POD = {"metadata": {"name": "web", "namespace": "shop"}}
MALFORMED = {  # plural, page: each gave "internal error (AttributeError | TypeError | ...)"
    "page not an object": ("pods", [1, 2]),
    "items not a list": ("pods", {"items": 5}),
    "item not an object": ("configmaps", {"items": ["x"]}),
    "metadata not an object": ("secrets", {"items": [{"metadata": "x"}]}),
    "name not a string": ("configmaps", {"items": [{"metadata": {"name": {"a": 1}}, "data": {"k": "v"}}]}),
    "annotations not a map": ("secrets", {"items": [{"metadata": {"name": "s", "annotations": "x"}}]}),
    "ownerReferences not a list": ("pods", {"items": [{"metadata": {"name": "p", "ownerReferences": 5}}]}),
    "continue not a string": ("pods", {"items": [], "metadata": {"continue": 5}}),
    "JSON nested too deeply": ("pods", b"[" * 100_000 + b"]" * 100_000),
}
ODD_OBJECTS = {  # well-formed lists of objects whose fields have odd types: scanned, no error
    "status not an object": ("pods", {"items": [{**_POD, "status": "Running"}]}),
    "containerStatuses not a list": ("pods", {"items": [{**_POD, "status": {"phase": "Running",
                                                                            "containerStatuses": 5}}]}),
    "containers not a list": ("pods", {"items": [{**_POD, "spec": {"containers": 5}}]}),
    "env not a list": ("pods", {"items": [{**_POD, "spec": {"containers": [{"name": "c", "env": 5}]}}]}),
    "args not a list": ("deployments", {"items": [{**_POD, "spec": {"template": {"spec": {"containers": [
        {"name": "c", "args": 5, "command": "x"}]}}}}]}),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(MALFORMED) + sorted(ODD_OBJECTS))
def test_odd_list_responses_are_a_warning_or_one_line_never_an_internal_error(tmp_path, api, case):
    plural, page = MALFORMED.get(case) or ODD_OBJECTS[case]
    srv = api(lambda p, query, req: page if p == plural else empty(p, query, req))
    path = kubeconfig(tmp_path / "kubeconfig", srv.url, {"token": "t"})
    res = run_cli(["scan", "--cluster", "--images-from-cluster", "-f", "json"], env={"KUBECONFIG": str(path)})
    assert "internal error" not in res.stderr and res.exception is None, res.output
    if case == "JSON nested too deeply":
        assert res.code == 2 and "context prod" in res.stderr and "listing pods returned a response that is not JSON" in res.stderr
    elif case in MALFORMED:
        assert res.code == 0, res.output
        assert any(w.startswith(f"{plural} in namespace shop: the API server answered ")
                   for w in json.loads(res.stdout)["summary"]["warnings"]), res.stdout
    else:
        assert res.code in (0, 1), res.output
        assert json.loads(res.stdout)["summary"]["objects"] >= 1
