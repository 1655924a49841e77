"""A small Docker Registry HTTP API v2 / OCI distribution client: manifests and blobs, with auth.

Auth follows what `docker` does: credentials from `$DOCKER_CONFIG/config.json` (`auths` entries with
`auth` or `username`/`password`, `identitytoken`, and `credHelpers` / `credsStore` helpers), answered to
the registry's `WWW-Authenticate` challenge — Basic directly, Bearer through the token realm. TLS is
always verified; plain HTTP is used only for loopback registries (as Docker does for 127.0.0.0/8).
Credentials never appear in errors, and URLs in errors have their userinfo and query redacted.

Everything a registry answers is attacker-controlled when CI scans an untrusted pull request, so:
- every response is streamed and capped (manifest 4 MiB, config 32 MiB, token response 1 MiB; a larger
  Content-Length is refused before reading); the body of a redirect or a 401 is never read;
- every operation has a deadline on the time spent waiting for the network (connect, TLS, headers and
  every read): `DEADLINE` (60 s) for a manifest, a token or a config; a blob stream gets one more second
  per `BLOB_RATE` bytes received (1 MiB), so a registry that stalls or drips fails in about a minute
  while a slow but working one does not. Time spent scanning a layer between reads does not count;
- credentials go to the registry itself (https, or loopback over http), and to a token realm only over
  https, or over plain http when both the realm and the registry are loopback; any other realm is asked
  for an anonymous token. Redirects are followed by hand and never carry Authorization to another
  origin, nor go to plain http off loopback.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from scanners.imagejson import DIGEST, parse_json
from secretkeeper.errors import SecretkeeperError
from secretkeeper.redact import redact_url

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
TIMEOUT = (10, 60)  # per connect / per read; DEADLINE bounds the whole operation
MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 32 * 1024 * 1024
MAX_TOKEN_RESPONSE = 1024 * 1024
DEADLINE = 60.0  # seconds of network time per manifest, token or config operation
BLOB_RATE = 1024 * 1024  # a blob stream's deadline grows by 1 s per this many bytes received
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_LAYER_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port]
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


_REF_RE = re.compile(
    r"^(?P<host>[A-Za-z0-9.-]+(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?)/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    rf"(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>{DIGEST}))?$"
)


def parse_reference(text: str) -> ImageRef:
    """`host[:port]/repo[:tag][@digest]`; the registry host is required (no implicit default registry)."""
    raw = text.removeprefix("docker://")
    m = _REF_RE.match(raw)
    host = m.group("host") if m else ""
    if not m or not ("." in host or ":" in host or host == "localhost"):
        raise SecretkeeperError(
            f"--image {redact_url(text)!r}: expected REGISTRY_HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], "
            "oci:DIR[:TAG] or docker-archive:FILE.tar"
        )
    return ImageRef(host, m.group("repo"), m.group("tag") or (None if m.group("digest") else "latest"),
                    m.group("digest"))


def is_loopback(host: str) -> bool:
    """`host[:port]` (IPv6 in brackets) names this machine: localhost, 127.0.0.0/8 or ::1."""
    name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") or "]:" in host else host.strip("[]")
    return _is_loopback_name(name)


def _is_loopback_name(name: str | None) -> bool:
    if not name:
        return False
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def may_send_credentials(registry_host: str, realm: str) -> bool:
    """Whether the user's credentials for `registry_host` may go to the token realm it named: over https
    (TLS verified: the realm proves who it is, as docker trusts it), or over plain http only when the realm
    and the registry are both on this machine. A registry under scan must not be able to make us send a
    docker login in clear across the network, or to a host that merely claims to be a token service."""
    parts = urlsplit(realm)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and _is_loopback_name(parts.hostname) and is_loopback(registry_host)


class DockerCredentials:
    """Reads `config.json` the way the docker CLI does; returns (username, secret) or None."""

    def __init__(self, config_dir: str | None = None) -> None:
        base = config_dir or os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
        self.path = Path(base) / "config.json"
        self._doc: dict[str, Any] | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            try:
                self._doc = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._doc = {}
            except (OSError, ValueError):
                raise SecretkeeperError(f"{self.path}: not a readable docker config.json") from None
        return self._doc

    def lookup(self, host: str) -> tuple[str, str] | None:
        doc = self.doc
        helper = (doc.get("credHelpers") or {}).get(host) or doc.get("credsStore")
        if helper:
            found = self._helper(helper, host)
            if found:
                return found
        for key, entry in (doc.get("auths") or {}).items():
            if _auth_host(key) != host or not isinstance(entry, dict):
                continue
            if entry.get("identitytoken"):
                return ("<token>", str(entry["identitytoken"]))
            if entry.get("auth"):
                try:
                    user, _, secret = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    raise SecretkeeperError(f"{self.path}: auths[{key!r}].auth is not base64 user:password") from None
                return (user, secret)
            if entry.get("username"):
                return (str(entry["username"]), str(entry.get("password", "")))
        return None

    def _helper(self, name: str, host: str) -> tuple[str, str] | None:
        exe = shutil.which(f"docker-credential-{name}")
        if not exe:
            return None
        try:
            proc = subprocess.run([exe, "get"], input=host.encode(), capture_output=True, timeout=20, check=False)
            data = json.loads(proc.stdout or b"{}") if proc.returncode == 0 else {}
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return None
        if data.get("Secret"):
            return (str(data.get("Username", "")), str(data["Secret"]))
        return None


def _auth_host(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key)
    return key.split("/", 1)[0]


# -- network plumbing: a watchdog for deadlines, sockets it can stop --------------------------------------
_CURRENT = threading.local()  # the deadline of the operation this thread is running, for new sockets


class _Watchdog:
    """One daemon thread that shuts down the sockets of operations whose deadline passed. requests'
    timeouts are per read: a server that drips a byte every few seconds never trips them."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._armed: set[_Deadline] = set()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: _Deadline) -> None:
        with self._cv:
            self._armed.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="registry-deadline", daemon=True)
                self._thread.start()
            self._cv.notify()

    def disarm(self, deadline: _Deadline) -> None:
        with self._cv:
            self._armed.discard(deadline)

    def watch(self, deadline: _Deadline, sock: socket.socket) -> None:
        with self._cv:
            deadline._watch(sock)

    def _run(self) -> None:
        with self._cv:
            while True:
                now = time.monotonic()
                for d in [d for d in self._armed if d.expires <= now]:
                    self._armed.discard(d)
                    d._fire()
                nearest = min((d.expires for d in self._armed), default=None)
                self._cv.wait(None if nearest is None else max(nearest - now, 0.01))


_WATCHDOG = _Watchdog()


class _Deadline:
    """A budget of network time for one operation (connect, TLS, headers, reads, auth and redirects).
    Inside `with deadline.running(stage):` the clock runs; past the budget every socket the operation
    opened is shut down, which ends whatever read is blocked, and the operation raises a one-line error
    naming `what` and the stage."""

    def __init__(self, seconds: float, what: str) -> None:
        self.what = what
        self.allowed = seconds
        self.expires = float("inf")
        self.expired = False
        self.stage = ""
        self._started = 0.0
        self._used = 0.0
        self._dups: list[socket.socket] = []

    def grant(self, seconds: float) -> None:
        """More time (a blob stream earns some with every byte received)."""
        with _WATCHDOG._cv:
            self.allowed += seconds
            self.expires += seconds  # inf while paused

    def running(self, stage: str) -> _Running:
        return _Running(self, stage)

    def error(self) -> SecretkeeperError:
        seconds = f"{self.allowed:.0f}" if self.allowed >= 10 else f"{self.allowed:.1f}"
        return SecretkeeperError(f"{self.what}: {self.stage} exceeded its {seconds} s deadline "
                                 "(the registry is stalled or too slow)")

    def _watch(self, sock: socket.socket) -> None:  # under the watchdog's lock
        try:
            dup = socket.fromfd(sock.fileno(), sock.family, sock.type)  # ours to shut down, never reused
        except OSError:
            return
        self._dups.append(dup)
        if self.expired:
            self._shutdown(dup)

    def _fire(self) -> None:  # under the watchdog's lock
        self.expired = True
        for dup in self._dups:
            self._shutdown(dup)

    @staticmethod
    def _shutdown(dup: socket.socket) -> None:
        try:
            dup.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        with _WATCHDOG._cv:
            dups, self._dups = self._dups, []
        for dup in dups:
            dup.close()


class _Running:
    def __init__(self, deadline: _Deadline, stage: str) -> None:
        self.deadline = deadline
        self.stage = stage
        self._outer: _Deadline | None = None

    def __enter__(self) -> _Deadline:
        d = self.deadline
        d.stage = self.stage
        self._outer = getattr(_CURRENT, "deadline", None)
        _CURRENT.deadline = d
        if not d.expired:
            d._started = time.monotonic()
            d.expires = d._started + max(d.allowed - d._used, 0.0)
            _WATCHDOG.arm(d)
        return d

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        d = self.deadline
        _WATCHDOG.disarm(d)
        if not d.expired:
            d._used += time.monotonic() - d._started
            d.expires = float("inf")
        _CURRENT.deadline = self._outer
        if d.expired:  # whatever the shut-down socket made the code under us raise (or a short read)
            raise d.error() from None
        return False


class _Watched:
    """Registers every socket a connection uses with the running operation's deadline: new ones right after
    the TCP connect (before TLS, so a dripped handshake is bounded too), reused ones per request."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.sock is not None:
            _register(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]


def _register(sock: socket.socket) -> None:
    deadline = getattr(_CURRENT, "deadline", None)
    if deadline is not None:
        _WATCHDOG.watch(deadline, sock)


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _Session(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> None:
        # requests reads a redirect's whole body (even with allow_redirects=False); RegistryClient follows
        # redirects itself and never reads their bodies.
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _without_userinfo(url: str) -> str:
    """requests would turn `user:pass@` in a URL a registry named into an Authorization header."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


_BROKEN = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)


# -- the client -------------------------------------------------------------------------------------------
class RegistryClient:
    """Fetches manifests and blobs for one registry host, answering auth challenges once per scope."""

    def __init__(self, host: str, credentials: DockerCredentials | None = None) -> None:
        self.host = host
        self.scheme = "http" if is_loopback(host) else "https"
        self.credentials = credentials or DockerCredentials()
        self.session = _Session()
        self.session.trust_env = False  # no proxies or netrc from the environment for a scanner
        self.session.headers["Accept-Encoding"] = "identity"  # sizes and caps are of the bytes sent
        adapter = _Adapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._auth_header: dict[str, str] = {}

    def _url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}/v2/{path}"

    # -- requests ----------------------------------------------------------------------------------------
    def _send(self, url: str, headers: dict[str, str], auth: dict[str, str],
              params: dict[str, str] | None = None) -> requests.Response:
        """GET with redirects followed by hand: `auth` headers only to the first URL's origin, no plain http
        off loopback, no redirect body read."""
        url = _without_userinfo(url)
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            send = {**headers, **auth} if _origin(url) == origin else dict(headers)
            try:
                resp = self.session.get(url, headers=send, params=params, timeout=TIMEOUT, stream=True,
                                        verify=True, allow_redirects=False)
            except requests.exceptions.SSLError:
                raise SecretkeeperError(f"registry {self.host}: TLS verification failed") from None
            except _BROKEN as exc:
                raise SecretkeeperError(f"registry {self.host}: unreachable ({type(exc).__name__})") from None
            location = resp.headers.get("location")
            if resp.status_code not in (301, 302, 303, 307, 308) or not location:
                return resp
            resp.close()
            target = urljoin(url, location)
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or (
                    parts.scheme == "http" and not _is_loopback_name(parts.hostname)):
                raise SecretkeeperError(f"registry {self.host}: refused a redirect to {redact_url(target)} "
                                        "(only https, or http on loopback)")
            url, params = _without_userinfo(target), None
        raise SecretkeeperError(f"registry {self.host}: more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, headers: dict[str, str], deadline: _Deadline) -> requests.Response:
        resp = self._send(url, headers, self._auth_header)
        if resp.status_code == 401 and "www-authenticate" in resp.headers:
            challenge = resp.headers["www-authenticate"]
            resp.close()
            stage, deadline.stage = deadline.stage, "token request"
            self._authenticate(challenge)
            deadline.stage = stage
            resp = self._send(url, headers, self._auth_header)
        return resp

    def _authenticate(self, challenge: str) -> None:
        scheme, _, params_text = challenge.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', params_text))
        creds = self.credentials.lookup(self.host)
        if scheme.lower() == "basic":
            if not creds:
                raise SecretkeeperError(f"registry {self.host}: needs credentials (docker login {self.host})")
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            self._auth_header = {"Authorization": f"Basic {token}"}
            return
        if scheme.lower() != "bearer" or "realm" not in params:
            raise SecretkeeperError(f"registry {self.host}: unsupported auth challenge {scheme!r}")
        realm = params["realm"]
        if urlsplit(realm).scheme not in ("http", "https"):
            raise SecretkeeperError(f"registry {self.host}: token realm {redact_url(realm)!r} is not an http(s) URL")
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        basic: dict[str, str] = {}
        withheld = ""
        if creds and creds[0] != "<token>":
            if may_send_credentials(self.host, realm):
                basic = {"Authorization": "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()}
            else:
                # Asked anonymously rather than refused: public images still scan, and a private one fails
                # with the reason below instead of the docker login crossing the network in clear.
                withheld = (f"; credentials for {self.host} were not sent to the plain-http token realm "
                            f"{redact_url(realm)} (only https, or http when realm and registry are both loopback)")
        try:
            resp = self._send(realm, {}, basic, params=query)
        except SecretkeeperError as exc:
            raise SecretkeeperError(str(exc).replace(f"registry {self.host}: ", f"registry {self.host}: token service: ")
                                    + withheld) from None
        with resp:
            if resp.status_code != 200:
                raise SecretkeeperError(f"registry {self.host}: token service refused ({resp.status_code}){withheld}")
            body = self._read_capped(resp, MAX_TOKEN_RESPONSE, f"registry {self.host}", "token response")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise SecretkeeperError(f"registry {self.host}: token service answered non-JSON") from None
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not token or not isinstance(token, str):
            raise SecretkeeperError(f"registry {self.host}: token service gave no token")
        self._auth_header = {"Authorization": f"Bearer {token}"}

    def _check(self, resp: requests.Response, what: str) -> None:
        if resp.status_code == 200:
            return
        resp.close()
        if resp.status_code in (401, 403):
            raise SecretkeeperError(f"{what}: access denied by registry {self.host} ({resp.status_code})")
        if resp.status_code == 404:
            raise SecretkeeperError(f"{what}: not found in registry {self.host}")
        raise SecretkeeperError(f"{what}: registry {self.host} answered {resp.status_code}")

    def _read_capped(self, resp: requests.Response, limit: int, what: str, kind: str,
                     deadline: _Deadline | None = None) -> bytes:
        """The body, refused past `limit` bytes: by its Content-Length before reading, else at limit+1."""
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            resp.close()
            raise SecretkeeperError(f"{what}: {kind} larger than {limit} bytes (Content-Length {declared})")
        buf = bytearray()
        try:
            while True:
                chunk = resp.raw.read(min(_CHUNK, limit + 1 - len(buf)), decode_content=False)
                if not chunk:
                    break
                buf += chunk
                if deadline is not None:
                    deadline.grant(len(chunk) / BLOB_RATE)
                if len(buf) > limit:
                    raise SecretkeeperError(f"{what}: {kind} larger than {limit} bytes")
        except _BROKEN as exc:
            raise SecretkeeperError(f"{what}: connection to registry {self.host} broke while reading the "
                                    f"{kind} ({type(exc).__name__})") from None
        finally:
            resp.close()
        return bytes(buf)

    # -- operations --------------------------------------------------------------------------------------
    def manifest(self, repo: str, reference: str) -> tuple[dict[str, Any], str, str]:
        """(manifest, media type, digest) — the digest verified against the bytes received."""
        what = f"{self.host}/{repo}:{reference}" if not reference.startswith("sha256:") else \
            f"{self.host}/{repo}@{reference}"
        deadline = _Deadline(DEADLINE, what)
        try:
            with deadline.running("manifest request"):
                resp = self._request(self._url(f"{repo}/manifests/{reference}"),
                                     {"Accept": ", ".join(MANIFEST_TYPES)}, deadline)
                self._check(resp, what)
                media_header = resp.headers.get("content-type", "")
                raw = self._read_capped(resp, MAX_MANIFEST, what, "manifest")
        finally:
            deadline.close()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise SecretkeeperError(f"{what}: manifest digest mismatch")
        doc = parse_json(raw, f"{what} manifest")
        media = doc.get("mediaType") or media_header.split(";")[0]
        return doc, media, digest

    def blob(self, repo: str, digest: str, limit: int) -> bytes:
        what = f"{self.host}/{repo}@{digest}"
        deadline = _Deadline(DEADLINE, what)
        try:
            with deadline.running("blob download"):
                resp = self._request(self._url(f"{repo}/blobs/{digest}"), {}, deadline)
                self._check(resp, what)
                data = self._read_capped(resp, limit, what, "blob", deadline)
        finally:
            deadline.close()
        verify_digest(data, digest, what)
        return data

    def blob_stream(self, repo: str, digest: str) -> Iterator[bytes]:
        """The blob in chunks. Its deadline runs only while waiting for the network (not while the caller
        scans a chunk) and grows by one second per BLOB_RATE bytes received. A connection that breaks
        mid-stream raises ConnectionError (an OSError: the layer is reported unreadable); a deadline
        passed raises SecretkeeperError."""
        what = f"{self.host}/{repo}@{digest}"
        deadline = _Deadline(DEADLINE, what)
        resp = None
        try:
            with deadline.running("layer download"):
                resp = self._request(self._url(f"{repo}/blobs/{digest}"), {}, deadline)
                self._check(resp, what)
            while True:
                try:
                    with deadline.running("layer download"):
                        chunk = resp.raw.read(_LAYER_CHUNK, decode_content=False)
                except _BROKEN as exc:
                    raise ConnectionError(f"{what}: connection broke ({type(exc).__name__})") from None
                if not chunk:
                    return
                deadline.grant(len(chunk) / BLOB_RATE)
                yield chunk
        finally:
            if resp is not None:
                resp.close()
            deadline.close()


def verify_digest(data: bytes, digest: str, what: str) -> None:
    algo, _, want = digest.partition(":")
    if algo != "sha256":
        raise SecretkeeperError(f"{what}: unsupported digest algorithm {algo!r}")
    if hashlib.sha256(data).hexdigest() != want:
        raise SecretkeeperError(f"{what}: content does not match its digest")
