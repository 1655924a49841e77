"""A real Docker registry (Debian's `docker-registry`) on 127.0.0.1 for image-scanning tests, plus an
OCI-layout builder and a skopeo push helper. Test infrastructure only."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import pytest


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is not installed (CI must install it: make system-deps)")
    pytest.skip(f"{tool} is not installed (apt-get install {tool.replace('docker-registry', 'docker-registry')})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def registry(tmp: Path, htpasswd: Path | None = None, auth: str = "") -> Iterator[tuple[str, Path]]:
    """Start docker-registry on a free loopback port; yields (host:port, log file)."""
    exe = require("docker-registry")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd}\n"
    cfg = tmp / "registry.yml"
    cfg.write_text(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    log = tmp / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([exe, "serve", str(cfg)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError("docker-registry did not start in 20 s")
        yield f"127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def push(layout: Path, tag: str, dest: str, *, all_platforms: bool = False, creds: str | None = None) -> None:
    exe = require("skopeo")
    cmd = [exe, "copy", "--dest-tls-verify=false", "--insecure-policy"]
    if all_platforms:
        cmd.append("--all")
    if creds:
        cmd += ["--dest-creds", creds]
    cmd += [f"oci:{layout}:{tag}", f"docker://{dest}"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def _tar_gz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class OciLayout:
    """Builds an OCI image layout directory: blobs, manifests, indexes, tags."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.index: dict = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": []}

    def blob(self, data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"digest": digest, "size": len(data)}

    def image(self, *, env: list[str], history: list[str], layers: list[dict[str, bytes]],
              labels: dict[str, str] | None = None, arch: str = "amd64") -> dict:
        layer_descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **self.blob(_tar_gz(files))}
                       for files in layers]
        config = {
            "architecture": arch, "os": "linux",
            "config": {"Env": env, "Labels": labels or {}, "Cmd": ["/bin/app"]},
            "rootfs": {"type": "layers", "diff_ids": [
                "sha256:" + hashlib.sha256(gzip.decompress((self.root / "blobs" / "sha256" /
                                                            d["digest"][7:]).read_bytes())).hexdigest()
                for d in layer_descs]},
            "history": [{"created_by": h} for h in history],
        }
        cfg = {"mediaType": "application/vnd.oci.image.config.v1+json",
               **self.blob(json.dumps(config).encode())}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": layer_descs}
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                **self.blob(json.dumps(manifest).encode()),
                "platform": {"os": "linux", "architecture": arch}}

    def tag(self, desc: dict, tag: str) -> dict:
        entry = {**desc, "annotations": {"org.opencontainers.image.ref.name": tag}}
        entry.pop("platform", None)
        self.index["manifests"].append(entry)
        (self.root / "index.json").write_text(json.dumps(self.index))
        return entry

    def multi(self, manifests: list[dict], tag: str) -> dict:
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        desc = {"mediaType": "application/vnd.oci.image.index.v1+json", **self.blob(json.dumps(idx).encode())}
        return self.tag(desc, tag)


def docker_archive(path: Path, *, env: list[str], history: list[str], layers: list[dict[str, bytes]],
                   tag: str = "demo/app:v1") -> None:
    """A `docker save`-format tarball: manifest.json, config JSON, layer tars."""
    with tarfile.open(path, "w") as out:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))

        layer_names = []
        for i, files in enumerate(layers):
            raw = gzip.decompress(_tar_gz(files))
            name = f"layer{i}/layer.tar"
            add(name, raw)
            layer_names.append(name)
        config = {"architecture": "amd64", "os": "linux", "config": {"Env": env},
                  "history": [{"created_by": h} for h in history]}
        cfg = json.dumps(config).encode()
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        add(cfg_name, cfg)
        add("manifest.json", json.dumps([{"Config": cfg_name, "RepoTags": [tag], "Layers": layer_names}]).encode())


class TokenService:
    """A Docker registry token service (the `auth.token` realm) on loopback: checks Basic credentials and
    returns an ES256 JWT with an `x5c` chain the registry trusts. Test infrastructure only."""

    def __init__(self, tmp: Path, users: dict[str, str], service: str = "test-registry",
                 issuer: str = "test-issuer") -> None:
        import datetime
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.service, self.issuer, self.users = service, issuer, users
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token-signer")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        tmp.mkdir(parents=True, exist_ok=True)
        self.bundle = tmp / "token-ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.requests = 0
        svc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                svc.requests += 1
                status, body = svc.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, authorization: str) -> tuple[int, dict]:
        import base64 as b64
        import secrets as rnd
        import time as clock
        from urllib.parse import parse_qs, urlparse

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        query = parse_qs(urlparse(path).query)
        user = None
        if authorization.startswith("Basic "):
            name, _, password = b64.b64decode(authorization[6:]).decode().partition(":")
            if self.users.get(name) != password:
                return 401, {"errors": [{"code": "UNAUTHORIZED"}]}
            user = name
        if user is None:
            return 401, {"errors": [{"code": "UNAUTHORIZED"}]}
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(clock.time())
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": rnd.token_hex(8), "access": access}
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [b64.b64encode(der).decode()]}

        def part(obj: dict) -> bytes:
            return b64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=")

        signing_input = part(header) + b"." + part(claims)
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = b64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=")
        return 200, {"token": (signing_input + b"." + sig).decode(), "expires_in": 300}

    def registry_auth(self) -> str:
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.service}\n"
                f"    issuer: {self.issuer}\n    rootcertbundle: {self.bundle}\n")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
