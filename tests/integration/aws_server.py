"""moto in server mode for the AWS tests and the rotation benchmark, over real HTTP.

`MotoServer` starts `python -m tests.integration.aws_server --port N`: moto's own server application
(what `python -m moto.server` runs) behind a small counter of API requests by operation, read at
`/_counts`, so a test or benchmark can count the requests a run made — a `secretkeeper rotate` child
process included — without trusting the client to count itself. Clients are created only once the
server answers. Each test names its secrets uniquely (`unique_path`), so one server serves a session.

Fixtures (import them into a test module): `moto` (the session's server), `own_moto` (a test's own
server, for server-wide settings such as IAM authorization), `aws_env` (fake credentials
in the environment, the user's ~/.aws out of reach), `aws_store` (an AwsStore on that server),
`aws_client` (a plain boto3 client, to act as a consumer or as someone else).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # seconds; moto imports in about 2 s on an idle machine
REGION = "eu-west-1"

# What every AWS test runs with: fake keys (moto accepts any until its auth is switched on), a region,
# and no way to the user's own configuration, credentials or instance role.
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "moto-fake-secret-key-not-a-real-one",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ROLE_ARN",
           "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
           "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_CA_BUNDLE", "SECRETKEEPER_CRASH_AT")


def fake_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) with the fake AWS settings: for child processes."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in CLEARED}
    return {**env, **FAKE_ENV}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_path(label: str = "s") -> str:
    return f"t-{uuid.uuid4().hex[:10]}/{label}"


class MotoUnavailable(RuntimeError):
    pass


class MotoServer:
    """A moto server in a child process on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # request lines and moto's own errors; no bodies
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        try:
            import moto.server  # noqa: F401  (present, or the caller skips)
        except ImportError as exc:
            raise MotoUnavailable(f"moto[server] is not installed ({exc.name})") from None
        self._proc = subprocess.Popen([sys.executable, "-m", "tests.integration.aws_server", "--port", str(self.port)],
                                      cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._log.seek(0)
                tail = self._log.read()[-2000:].decode(errors="replace")
                raise MotoUnavailable(f"moto server exited with {self._proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_counts", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise MotoUnavailable(f"moto server did not answer within {START_TIMEOUT:.0f} s")

    def __exit__(self, *_: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def counts(self) -> Counter[str]:
        """API requests answered since the start (or the last reset), by operation."""
        with urllib.request.urlopen(f"{self.endpoint}/_counts", timeout=10) as answer:
            return Counter(json.load(answer))

    def reset_counts(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/_counts", method="DELETE"), timeout=10).close()

    def reset(self) -> None:
        """Forget every secret (moto's own reset): for tests that reuse the same secret names."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def enable_auth(self) -> None:
        """Switch moto's IAM authorization on: from now on only keys made through its IAM API work."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})  # a form body reads as empty
        urllib.request.urlopen(request, timeout=10).close()


# -- the server process --------------------------------------------------------------------------------
def _operation(environ: Mapping[str, Any]) -> str:
    """The API operation of a request, from its headers only (the body is left to moto)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:  # JSON protocols: "secretsmanager.PutSecretValue"
        return target.rsplit(".", 1)[-1]
    credential = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2].split("/")
    return credential[3] if len(credential) > 3 else "other"  # query protocols (STS): the service name


def counting(app: Callable[..., Any]) -> Callable[..., Any]:
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/_counts":
            with lock:
                if environ["REQUEST_METHOD"] == "DELETE":
                    counts.clear()
                body = json.dumps(counts).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            with lock:
                counts[_operation(environ)] += 1
        return app(environ, start_response)

    return wrapped


def main(argv: list[str]) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ["MOTO_PORT"] = str(args.port)
    run_simple("127.0.0.1", args.port, counting(DomainDispatcherApplication(create_backend_app)), threaded=True,
               request_handler=MotoRequestHandler)


# -- fixtures ------------------------------------------------------------------------------------------
def _serve() -> Iterator[MotoServer]:
    from tests.integration.conftest import need

    try:
        server = MotoServer().__enter__()
    except MotoUnavailable as exc:
        need(str(exc))
    try:
        yield server
    finally:
        server.__exit__()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    yield from _serve()


@pytest.fixture
def own_moto() -> Iterator[MotoServer]:
    """A server of the test's own, for settings that apply to a whole server (IAM authorization)."""
    yield from _serve()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws_store(moto: MotoServer, aws_env: None) -> Any:
    return make_store(moto.endpoint)


@pytest.fixture
def aws_client(moto: MotoServer, aws_env: None) -> Any:
    import boto3

    return boto3.client("secretsmanager", endpoint_url=moto.endpoint, region_name=REGION)


def make_store(endpoint: str, name: str = "test", **config: Any) -> Any:
    from providers.stores.aws.store import AwsStore
    from secretkeeper.config.stores import AwsSecretsManagerStore

    return AwsStore(name, AwsSecretsManagerStore("aws-secrets-manager", **{"region": REGION,
                                                                           "endpoint_url": endpoint, **config}))


if __name__ == "__main__":
    main(sys.argv[1:])
