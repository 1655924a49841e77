"""An AWS JSON-protocol endpoint that answers every request with one error, for the errors moto cannot
make (throttling, KMS failures): `with AwsFault("ThrottlingException", 400) as fault:` points a client at
`fault.endpoint`; `fault.requests` counts what arrived, retries included. Bodies are read and dropped."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AwsFault:
    def __init__(self, code: str, status: int = 400) -> None:
        self.code, self.status, self.requests = code, status, 0
        fault = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault.requests += 1
                body = json.dumps({"__type": fault.code, "message": "injected by tests/emulators/aws_faults"}).encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AwsFault:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
