"""A fault shim for the Vault store's tests: an HTTP(S) proxy on 127.0.0.1 in front of a Vault server that
forwards every request unless a rule says otherwise, and records what it saw.

Test infrastructure only (never shipped). Rules match a method and a path prefix, and act a number of
times (or always):

    with VaultFaults(upstream) as shim:                  # shim.address: http://127.0.0.1:PORT
        shim.answer(503, {"errors": ["Vault is sealed"]})              # every request: sealed
        shim.answer(403, {"errors": ["permission denied"]}, path="/v1/kv/data/", times=1)
        shim.answer(500, {"errors": []}, times=2)                     # two failures, then forwarded
        shim.answer(307, {}, headers={"Location": other})             # a redirect
        shim.delay(2.0, path="/v1/kv/data/")                          # forwarded late: client timeouts
        shim.drop(path="/v1/kv/data/")                                # connection closed, no answer
        shim.requests                                                 # Seen(method, path, headers, body)
        shim.count("/v1/auth/token/renew-self")

`VaultFaults(upstream, tls=make_server_tls())` serves HTTPS with that certificate (tests/emulators/
kube_tls.py), for the TLS verification tests.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.emulators.kube_tls import ServerTLS

FORWARD_TIMEOUT = 60


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with its query
    headers: dict[str, str]
    body: bytes


@dataclass
class Rule:
    method: str | None  # None: any
    path: str  # prefix of the request path
    action: str  # "answer" | "delay" | "drop"
    status: int = 0
    body: Any = None
    headers: dict[str, str] | None = None
    seconds: float = 0.0
    times: int | None = None  # None: always

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and path.startswith(self.path) \
            and (self.times is None or self.times > 0)


class VaultFaults:
    def __init__(self, upstream: str, *, tls: ServerTLS | None = None) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[Seen] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.server_context().wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.address = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> VaultFaults:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, status: int, body: Any, *, path: str = "/", method: str | None = None,
               times: int | None = None, headers: dict[str, str] | None = None) -> None:
        self._add(Rule(method, path, "answer", status=status, body=body, headers=headers, times=times))

    def delay(self, seconds: float, *, path: str = "/", method: str | None = None,
              times: int | None = None) -> None:
        self._add(Rule(method, path, "delay", seconds=seconds, times=times))

    def drop(self, *, path: str = "/", method: str | None = None, times: int | None = None) -> None:
        self._add(Rule(method, path, "drop", times=times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    def count(self, path_prefix: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests
                       if r.path.startswith(path_prefix) and (method is None or r.method == method))

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _take(self, method: str, path: str, seen: Seen) -> Rule | None:
        with self._lock:
            self.requests.append(seen)
            for rule in self._rules:
                if rule.matches(method, path):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
                rule = shim._take(self.command, self.path, seen)
                if rule is not None and rule.action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if rule is not None and rule.action == "answer":
                    self._reply(rule.status, json.dumps(rule.body).encode(),
                                {"Content-Type": "application/json", **(rule.headers or {})})
                    return
                if rule is not None and rule.action == "delay":
                    time.sleep(rule.seconds)
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(*shim._upstream, timeout=FORWARD_TIMEOUT)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    keep = {k: v for k, v in response.getheaders()
                            if k.lower() not in ("transfer-encoding", "connection", "content-length")}
                    self._reply(response.status, payload, keep)
                finally:
                    conn.close()

            def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_LIST = _handle

        return Handler
