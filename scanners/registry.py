"""A small Docker Registry HTTP API v2 / OCI distribution client: manifests and blobs, with auth.

Auth follows what `docker` does: credentials from `$DOCKER_CONFIG/config.json` (`auths` entries with
`auth` or `username`/`password`, `identitytoken`, and `credHelpers` / `credsStore` helpers), answered to
the registry's `WWW-Authenticate` challenge — Basic directly, Bearer through the token realm. TLS is
always verified; plain HTTP is used only for loopback registries (as Docker does for 127.0.0.0/8).
Credentials never appear in errors.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import requests

from secretkeeper.errors import SecretkeeperError

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
TIMEOUT = (10, 60)
MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 32 * 1024 * 1024


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
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def parse_reference(text: str) -> ImageRef:
    """`host[:port]/repo[:tag][@digest]`; the registry host is required (no implicit default registry)."""
    raw = text.removeprefix("docker://")
    m = _REF_RE.match(raw)
    host = m.group("host") if m else ""
    if not m or not ("." in host or ":" in host or host == "localhost"):
        raise SecretkeeperError(
            f"--image {text!r}: expected REGISTRY_HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], "
            "oci:DIR[:TAG] or docker-archive:FILE.tar"
        )
    return ImageRef(host, m.group("repo"), m.group("tag") or (None if m.group("digest") else "latest"),
                    m.group("digest"))


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") or "]:" in host else host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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


class RegistryClient:
    """Fetches manifests and blobs for one registry host, answering auth challenges once per scope."""

    def __init__(self, host: str, credentials: DockerCredentials | None = None) -> None:
        self.host = host
        self.scheme = "http" if is_loopback(host) else "https"
        self.credentials = credentials or DockerCredentials()
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment for a scanner
        self._auth_header: dict[str, str] = {}

    def _url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}/v2/{path}"

    def _request(self, url: str, headers: dict[str, str], stream: bool = False) -> requests.Response:
        try:
            resp = self.session.get(url, headers={**headers, **self._auth_header}, timeout=TIMEOUT,
                                    stream=stream, verify=True)
            if resp.status_code == 401 and "www-authenticate" in resp.headers:
                self._authenticate(resp.headers["www-authenticate"])
                resp.close()
                resp = self.session.get(url, headers={**headers, **self._auth_header}, timeout=TIMEOUT,
                                        stream=stream, verify=True)
        except requests.exceptions.SSLError:
            raise SecretkeeperError(f"registry {self.host}: TLS verification failed") from None
        except requests.exceptions.RequestException as exc:
            raise SecretkeeperError(f"registry {self.host}: unreachable ({type(exc).__name__})") from None
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
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        auth = (creds[0], creds[1]) if creds and creds[0] != "<token>" else None
        try:
            resp = self.session.get(params["realm"], params=query, auth=auth, timeout=TIMEOUT, verify=True)
        except requests.exceptions.RequestException as exc:
            raise SecretkeeperError(f"registry {self.host}: token service unreachable ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise SecretkeeperError(f"registry {self.host}: token service refused ({resp.status_code})")
        try:
            body = resp.json()
        except ValueError:
            raise SecretkeeperError(f"registry {self.host}: token service answered non-JSON") from None
        token = body.get("token") or body.get("access_token")
        if not token:
            raise SecretkeeperError(f"registry {self.host}: token service gave no token")
        self._auth_header = {"Authorization": f"Bearer {token}"}

    def _check(self, resp: requests.Response, what: str) -> None:
        if resp.status_code == 200:
            return
        if resp.status_code in (401, 403):
            raise SecretkeeperError(f"{what}: access denied by registry {self.host} ({resp.status_code})")
        if resp.status_code == 404:
            raise SecretkeeperError(f"{what}: not found in registry {self.host}")
        raise SecretkeeperError(f"{what}: registry {self.host} answered {resp.status_code}")

    def manifest(self, repo: str, reference: str) -> tuple[dict[str, Any], str, str]:
        """(manifest, media type, digest) — the digest verified against the bytes received."""
        what = f"{self.host}/{repo}:{reference}" if not reference.startswith("sha256:") else \
            f"{self.host}/{repo}@{reference}"
        resp = self._request(self._url(f"{repo}/manifests/{reference}"), {"Accept": ", ".join(MANIFEST_TYPES)})
        self._check(resp, what)
        raw = resp.content[: MAX_MANIFEST + 1]
        if len(raw) > MAX_MANIFEST:
            raise SecretkeeperError(f"{what}: manifest larger than {MAX_MANIFEST} bytes")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise SecretkeeperError(f"{what}: manifest digest mismatch")
        try:
            doc = json.loads(raw)
        except ValueError:
            raise SecretkeeperError(f"{what}: manifest is not JSON") from None
        media = doc.get("mediaType") or resp.headers.get("content-type", "").split(";")[0]
        return doc, media, digest

    def blob(self, repo: str, digest: str, limit: int) -> bytes:
        resp = self._request(self._url(f"{repo}/blobs/{digest}"), {})
        self._check(resp, f"{self.host}/{repo}@{digest}")
        data = resp.content[: limit + 1]
        if len(data) > limit:
            raise SecretkeeperError(f"{self.host}/{repo}@{digest}: blob larger than {limit} bytes")
        verify_digest(data, digest, f"{self.host}/{repo}@{digest}")
        return data

    def blob_stream(self, repo: str, digest: str) -> Iterator[bytes]:
        resp = self._request(self._url(f"{repo}/blobs/{digest}"), {}, stream=True)
        self._check(resp, f"{self.host}/{repo}@{digest}")
        with resp:
            yield from resp.iter_content(chunk_size=1 << 20)


def verify_digest(data: bytes, digest: str, what: str) -> None:
    algo, _, want = digest.partition(":")
    if algo != "sha256":
        raise SecretkeeperError(f"{what}: unsupported digest algorithm {algo!r}")
    if hashlib.sha256(data).hexdigest() != want:
        raise SecretkeeperError(f"{what}: content does not match its digest")
