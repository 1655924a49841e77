"""A registry under scan is attacker-controlled: it must not exhaust memory, hang the scan, collect the
user's docker credentials, or make an error print a secret. Each test plants one attack against a loopback
server (tests/integration/hostile.py, or Debian's docker-registry) and bounds time and memory. Nothing here
talks to anything but 127.0.0.1: a guard refuses any request to another host before DNS or connect."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from scanners import registry
from scanners.registry import DockerCredentials, RegistryClient, may_send_credentials
from secretkeeper.errors import SecretkeeperError
from secretkeeper.redact import redact_url
from tests.integration.hostile import HostileServer, run_bounded
from tests.integration.registry_server import OciLayout

pytestmark = pytest.mark.integration

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Records every request made through requests in this process; refuses (ConnectionError, no DNS, no
    connect) any whose host is not loopback. Returns the list of (url, headers) sent."""
    sent: list[tuple[str, dict[str, str]]] = []
    real_send = HTTPAdapter.send

    def guarded(self, request, *args, **kwargs):
        sent.append((request.url, dict(request.headers)))
        if not registry._is_loopback_name(urlsplit(request.url).hostname):
            raise requests.ConnectionError("test guard: off-loopback request refused")
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", guarded)
    return sent


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """An empty DOCKER_CONFIG; call it with {host: (user, password)} to log in."""
    home = tmp_path / "docker"
    home.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(home))

    def login(entries: dict[str, tuple[str, str]]) -> Path:
        auths = {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in entries.items()}
        (home / "config.json").write_text(json.dumps({"auths": auths}))
        return home

    return login


@pytest.fixture(scope="module")
def detector():
    from secretkeeper.engine import Detector
    from secretkeeper.rules import load_rule_file

    return Detector(load_rule_file(Path(__file__).parents[2] / "secretkeeper" / "rules" / "vcs.toml"))


def scan_layers_of(refs, detector):
    from scanners.images import scan_images
    from scanners.options import ImageOptions
    from secretkeeper.config import Config
    from secretkeeper.results import ScanStats

    stats = ScanStats()
    options = ImageOptions(refs=(), layers=True)
    return scan_images(refs, detector, options, stats, max_size=Config().scan.max_file_size), stats


def client_for(server: HostileServer) -> RegistryClient:
    return RegistryClient(server.host, DockerCredentials())


def small_manifest() -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                       "config": {"digest": "sha256:" + "0" * 64, "size": 2}, "layers": []}).encode()


# -- 1. every response streamed with a cap ------------------------------------------------------------------
@pytest.mark.timeout(20)
def test_content_length_over_the_cap_is_refused_before_reading(docker_config):
    """A 3 GB manifest announced by Content-Length: refused at once, no byte of the body read."""
    def handle(srv, req, sock):
        srv.send(sock, b"HTTP/1.1 200 OK\r\nContent-Type: " + MANIFEST_TYPE.encode()
                 + b"\r\nContent-Length: 3221225472\r\n\r\n")
        srv.stopped.wait(30)  # and then nothing: reading would block until a timeout

    with HostileServer(handle) as srv:
        started = time.monotonic()
        with pytest.raises(SecretkeeperError) as err:
            client_for(srv).manifest("team/app", "v1")
        assert time.monotonic() - started < 5
    assert str(err.value) == (f"{srv.host}/team/app:v1: manifest larger than {registry.MAX_MANIFEST} bytes "
                              "(Content-Length 3221225472)")


ENDLESS_CASES = {
    # what: (code run in the child, expected error fragment or None for success)
    "manifest": ("RegistryClient(HOST).manifest('team/app', 'v1')", "manifest larger than 4194304 bytes"),
    "manifest-chunked": ("RegistryClient(HOST).manifest('team/app', 'chunked')", "manifest larger than 4194304 bytes"),
    "config": ("RegistryClient(HOST).blob('team/app', 'sha256:' + 'a' * 64, registry.MAX_CONFIG)",
               "blob larger than 33554432 bytes"),
    "token": ("RegistryClient(HOST).manifest('team/authed', 'v1')", "token response larger than 1048576 bytes"),
    "redirect-body": ("result = RegistryClient(HOST).manifest('team/moved', 'v1')[2]", None),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("what", sorted(ENDLESS_CASES))
def test_endless_responses_stop_at_their_cap(what, tmp_path):
    """A body that never ends (close-delimited or chunked), for a manifest, a config blob, a token response
    and the body of a redirect: read up to the cap and refused (the redirect's body is not read at all), in
    a child capped at 1 GiB of address space whose peak RSS stays small. Before: read whole, MemoryError."""
    manifest = small_manifest()

    def handle(srv, req, sock):
        if req.path.startswith("/v2/team/authed/"):
            if "authorization" in req.headers:
                srv.respond(sock, 200, manifest, {"Content-Type": MANIFEST_TYPE})
            else:
                srv.respond(sock, 401, b"", {"WWW-Authenticate": f'Bearer realm="{srv.url}/token",service="x"'})
        elif req.path.startswith("/token"):
            srv.endless(sock, 200, {"Content-Type": "application/json"}, fill=b"[")
        elif req.path == "/v2/team/moved/manifests/v1":
            srv.endless(sock, 302, {"Location": "/v2/team/app/manifests/small"})
        elif req.path == "/v2/team/app/manifests/small":
            srv.respond(sock, 200, manifest, {"Content-Type": MANIFEST_TYPE})
        else:
            srv.endless(sock, 200, {"Content-Type": MANIFEST_TYPE}, chunked=req.path.endswith("/chunked"))

    code, expected = ENDLESS_CASES[what]
    with HostileServer(handle) as srv:
        out = run_bounded(f"""
            from scanners import registry
            from scanners.registry import RegistryClient
            HOST = {srv.host!r}
            {code}
            """, memory_mb=1024, env={"DOCKER_CONFIG": str(tmp_path)})
    if expected is None:
        assert out["error"] is None and out["result"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
    else:
        assert out["error"] is not None and expected in out["error"], out
        assert "\n" not in out["error"]
    assert out["maxrss_mb"] < 200, out
    assert srv.sent < 256 << 20, "the client stopped reading near the cap"


# -- 3. a deadline per operation ----------------------------------------------------------------------------
@pytest.fixture
def short_deadline(monkeypatch):
    monkeypatch.setattr(registry, "DEADLINE", 1.5)
    return 1.5


def drip_headers(srv, req, sock):
    srv.send(sock, b"HTTP/1.1 200 OK\r\n")
    srv.drip(sock, b"X-Slow: " + b"a" * 1000, every=0.2)


def drip_body(srv, req, sock):
    srv.send(sock, b"HTTP/1.1 200 OK\r\nContent-Type: " + MANIFEST_TYPE.encode() + b"\r\nContent-Length: 1000\r\n\r\n")
    srv.drip(sock, b" " * 1000, every=0.2)


def drip_token(srv, req, sock):
    if req.path.startswith("/token"):
        drip_body(srv, req, sock)
    else:
        srv.respond(sock, 401, b"", {"WWW-Authenticate": f'Bearer realm="{srv.url}/token",service="x"'})


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("handler", "stage"), [(drip_headers, "manifest request"), (drip_body, "manifest request"),
                                                (drip_token, "token request")])
def test_a_dripping_registry_hits_the_deadline(handler, stage, short_deadline, docker_config):
    """A byte every 0.2 s never trips a per-read timeout; the operation's deadline (1.5 s here) stops it:
    one line naming the image and the stage. Before: no deadline, the test timed out."""
    with HostileServer(handler) as srv:
        started = time.monotonic()
        with pytest.raises(SecretkeeperError) as err:
            client_for(srv).manifest("team/app", "v1")
        elapsed = time.monotonic() - started
    assert elapsed < short_deadline + 3
    assert str(err.value) == (f"{srv.host}/team/app:v1: {stage} exceeded its 1.5 s deadline "
                              "(the registry is stalled or too slow)")


def serve_layout(layout: OciLayout, tag_desc: dict, layer_handler=None):
    """A registry answering from an OCI layout; layer blobs through `layer_handler` when given."""
    blobs = layout.root / "blobs" / "sha256"
    manifest_bytes = (blobs / tag_desc["digest"][7:]).read_bytes()
    layer_digests = {d["digest"] for d in json.loads(manifest_bytes)["layers"]}

    def handle(srv, req, sock):
        if "/manifests/" in req.path:
            srv.respond(sock, 200, manifest_bytes, {"Content-Type": MANIFEST_TYPE})
        elif "/blobs/" in req.path:
            digest = req.path.rsplit("/", 1)[1]
            if digest in layer_digests and layer_handler:
                layer_handler(srv, req, sock, (blobs / digest[7:]).read_bytes())
            else:
                srv.respond(sock, 200, (blobs / digest[7:]).read_bytes())
        else:
            srv.respond(sock, 404)

    return handle


@pytest.mark.timeout(30)
def test_a_dripping_layer_hits_its_deadline(tmp_path, short_deadline, docker_config, detector):
    """`--image-layers` against a registry that drips a layer: the stream's deadline (1.5 s, plus 1 s per
    MiB received) ends it with one line naming the repository, the layer and the stage."""
    layout = OciLayout(tmp_path / "oci")
    desc = layout.image(env=[], history=[], layers=[{"a.txt": b"hello\n" * 100}])

    def drip_layer(srv, req, sock, data):
        srv.send(sock, f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode())
        srv.drip(sock, data, every=0.2)

    with HostileServer(serve_layout(layout, desc, drip_layer)) as srv:
        started = time.monotonic()
        with pytest.raises(SecretkeeperError) as err:
            scan_layers_of([f"{srv.host}/team/app:v1"], detector)
        elapsed = time.monotonic() - started
    layer = json.loads((layout.root / "blobs" / "sha256" / desc["digest"][7:]).read_text())["layers"][0]
    assert elapsed < short_deadline + 3
    assert str(err.value) == (f"{srv.host}/team/app@{layer['digest']}: layer download exceeded its 1.5 s "
                              "deadline (the registry is stalled or too slow)")


@pytest.mark.timeout(30)
def test_a_slow_but_steady_blob_earns_time(short_deadline, monkeypatch, docker_config):
    """The blob deadline grows with the bytes received: 2 MiB at ~0.6 MiB/s takes over 3 s, twice the
    1.5 s base, and succeeds because each 32 KiB buys a second (BLOB_RATE lowered for the test)."""
    monkeypatch.setattr(registry, "BLOB_RATE", 32 * 1024)
    data = bytes(range(256)) * 8192  # 2 MiB
    digest = "sha256:" + hashlib.sha256(data).hexdigest()

    def steady(srv, req, sock):
        srv.send(sock, f"HTTP/1.1 200 OK\r\nContent-Length: {len(data)}\r\n\r\n".encode())
        for i in range(0, len(data), 64 * 1024):
            if srv.stopped.wait(0.1):
                return
            srv.send(sock, data[i:i + 64 * 1024])

    with HostileServer(steady) as srv:
        started = time.monotonic()
        assert client_for(srv).blob("team/app", digest, registry.MAX_CONFIG) == data
        assert time.monotonic() - started > 2 * short_deadline


# -- 4. credentials only where they belong ------------------------------------------------------------------
@pytest.mark.parametrize(("registry_host", "realm", "expected"), [
    ("127.0.0.1:5000", "http://127.0.0.1:5001/token", True),   # both on this machine
    ("localhost:5000", "http://[::1]:5001/token", True),
    ("[::1]:5000", "http://localhost/token", True),
    ("127.0.0.1:5000", "http://auth.example.com/token", False),  # plain http across the network
    ("127.0.0.1:5000", "http://localhost.invalid/token", False),
    ("registry.example.com", "http://127.0.0.1/token", False),  # a remote registry naming our loopback
    ("registry.example.com", "http://auth.example.com/token", False),
    ("registry.example.com", "https://auth.example.com/token", True),  # TLS verified, as docker does
    ("127.0.0.1:5000", "https://auth.example.com/token", True),
    ("127.0.0.1:5000", "ftp://127.0.0.1/token", False),
])
def test_which_realms_get_credentials(registry_host, realm, expected):
    assert may_send_credentials(registry_host, realm) is expected


@pytest.mark.timeout(120)
def test_a_plain_http_realm_elsewhere_never_gets_the_docker_login(tmp_path, docker_config, loopback_only):
    """A real registry (Debian's docker-registry, token auth) on 127.0.0.1 whose challenge names a plain-http
    realm on another host: the token is asked for without credentials, and the error says why. Before:
    `Authorization: Basic` with the user's docker login went to that host."""
    from tests.integration.registry_server import TokenService, registry as start_registry

    tokens = TokenService(tmp_path / "tok", {"ci": "t0ken-pass"})
    realm = "http://alice:realm-pass@registry-auth.invalid/token?sig=QUERY-SECRET"
    auth = tokens.registry_auth().replace(tokens.realm, realm)
    try:
        with start_registry(tmp_path / "reg", auth=auth) as (host, _log):
            docker_config({host: ("ci", "t0ken-pass")})
            with pytest.raises(SecretkeeperError) as err:
                RegistryClient(host, DockerCredentials()).manifest("team/app", "v1")
    finally:
        tokens.close()
    to_realm = [headers for url, headers in loopback_only if urlsplit(url).hostname == "registry-auth.invalid"]
    assert to_realm, "the realm was asked (anonymously)"
    assert all("Authorization" not in h for h in to_realm)
    message = str(err.value)
    assert message.startswith(f"registry {host}: token service: unreachable (ConnectionError); credentials for "
                              f"{host} were not sent to the plain-http token realm http://***@registry-auth.invalid/token?***")
    secret_b64 = base64.b64encode(b"ci:t0ken-pass").decode()
    for secret in ("t0ken-pass", secret_b64, "realm-pass", "QUERY-SECRET"):
        assert secret not in message


@pytest.mark.timeout(30)
def test_redirects_carry_authorization_only_to_the_registry_itself(docker_config, loopback_only):
    """Basic auth against a loopback registry that redirects: to itself the header goes along; to another
    origin (another port on 127.0.0.1) it does not; to plain http off loopback the redirect is refused
    (redacted, and never attempted). Verified, not assumed from requests' behaviour."""
    manifest = small_manifest()
    with HostileServer(lambda srv, req, sock: srv.respond(sock, 200, manifest, {"Content-Type": MANIFEST_TYPE})) as cdn:
        def handle(srv, req, sock):
            if "authorization" not in req.headers:
                srv.respond(sock, 401, b"", {"WWW-Authenticate": 'Basic realm="r"'})
            elif req.path.endswith("/same"):
                srv.respond(sock, 307, b"", {"Location": "/v2/team/app/manifests/final"})
            elif req.path.endswith("/other"):
                srv.respond(sock, 307, b"", {"Location": f"{cdn.url}/blob?X-Amz-Signature=sig"})
            elif req.path.endswith("/plain"):
                srv.respond(sock, 307, b"", {"Location": "http://cdn.invalid/blob?X-Amz-Signature=SIGNED-SECRET"})
            else:
                srv.respond(sock, 200, manifest, {"Content-Type": MANIFEST_TYPE})

        with HostileServer(handle) as reg:
            docker_config({reg.host: ("ci", "reg-pass")})
            client = client_for(reg)
            client.manifest("team/app", "same")
            assert reg.requests[-1].path.endswith("/final") and reg.requests[-1].headers["authorization"].startswith("Basic ")
            client.manifest("team/app", "other")
            assert cdn.requests and "authorization" not in cdn.requests[-1].headers
            with pytest.raises(SecretkeeperError) as err:
                client.manifest("team/app", "plain")
    assert str(err.value) == (f"registry {reg.host}: refused a redirect to http://cdn.invalid/blob?*** "
                              "(only https, or http on loopback)")
    assert not any("cdn.invalid" in url for url, _ in loopback_only)


@pytest.mark.timeout(30)
def test_a_token_realm_redirect_drops_the_credentials(docker_config):
    """A loopback realm may get the login; if it redirects to another origin, the login stays behind."""
    with HostileServer(lambda srv, req, sock: srv.respond(sock, 200, b'{"token": "t"}')) as elsewhere:
        def handle(srv, req, sock):
            if req.path.startswith("/token"):
                srv.respond(sock, 302, b"", {"Location": f"{elsewhere.url}/token"})
            elif "authorization" in req.headers:
                srv.respond(sock, 200, small_manifest(), {"Content-Type": MANIFEST_TYPE})
            else:
                srv.respond(sock, 401, b"", {"WWW-Authenticate": f'Bearer realm="{srv.url}/token",service="x"'})

        with HostileServer(handle) as reg:
            docker_config({reg.host: ("ci", "reg-pass")})
            client_for(reg).manifest("team/app", "v1")
            token_requests = [r for r in reg.requests if r.path.startswith("/token")]
    assert token_requests and token_requests[0].headers["authorization"].startswith("Basic ")
    assert elsewhere.requests and "authorization" not in elsewhere.requests[0].headers


# -- 5. nothing secret in errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["https://user:pa55word@h.example/p?token=SEKRET#frag=SEKRET2",
                                 "docker://user:pa55word@127.0.0.1:5000/Team/App"])
def test_urls_in_errors_are_redacted(url):
    redacted = redact_url(url)
    assert "pa55word" not in redacted and "SEKRET" not in redacted and "***@" in redacted


def test_a_bad_reference_with_userinfo_is_redacted():
    with pytest.raises(SecretkeeperError) as err:
        registry.parse_reference("docker://ci:pa55word@127.0.0.1:5000/Team/App")
    assert "pa55word" not in str(err.value) and "***@127.0.0.1:5000" in str(err.value)
