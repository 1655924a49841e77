"""Hostile servers and inputs for hardening tests: a loopback HTTP server whose every answer the test writes
(dripped headers, endless bodies, redirects), decompression bombs built in milliseconds, and a runner that
executes code in a child process under a memory limit and reports its peak RSS. Test infrastructure only;
everything listens on and talks to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tarfile
import textwrap
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


@dataclass
class HostileServer:
    """`handle(server, request, sock)` writes whatever it likes to `sock`; the connection is closed after.
    Every request is recorded in `requests`; `sent` counts the bytes written through `send`."""

    handle: Callable[[HostileServer, Request, socket.socket], None]
    requests: list[Request] = field(default_factory=list)
    sent: int = 0
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.url = f"http://{self.host}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            req = Request(method, path, headers)
            self.requests.append(req)
            self.handle(self, req, conn)
        except OSError:
            pass
        finally:
            conn.close()

    def send(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)
        self.sent += len(data)

    def respond(self, sock: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                content_length: bool = True) -> None:
        head = f"HTTP/1.1 {status} X\r\nConnection: close\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if content_length:
            head += f"Content-Length: {len(body)}\r\n"
        self.send(sock, head.encode() + b"\r\n" + body)

    def endless(self, sock: socket.socket, status: int = 200, headers: dict[str, str] | None = None,
                chunked: bool = False, fill: bytes = b" ") -> None:
        """Headers, then a body that never ends (until the client goes away or the server stops)."""
        head = f"HTTP/1.1 {status} X\r\nConnection: close\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if chunked:
            head += "Transfer-Encoding: chunked\r\n"
        self.send(sock, head.encode() + b"\r\n")
        block = fill * (1 << 16)
        piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        while not self.stopped.is_set():
            self.send(sock, piece)

    def drip(self, sock: socket.socket, data: bytes, every: float) -> None:
        """`data` one byte at a time, `every` seconds apart."""
        for i in range(len(data)):
            if self.stopped.wait(every):
                return
            self.send(sock, data[i:i + 1])

    def close(self) -> None:
        self.stopped.set()
        self._listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_bounded(code: str, *, memory_mb: int = 1024, timeout: float = 60,
                env: dict[str, str] | None = None) -> dict:
    """Run `code` (Python statements; may set `result`) in a child whose address space is capped at
    `memory_mb`, so a regression fails with MemoryError instead of exhausting the machine. Returns
    {"result": ..., "error": "Type: message" or None, "maxrss_mb": peak RSS of the child}."""
    script = textwrap.dedent("""\
        import json, resource, sys
        limit = {limit}
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        out = {{"result": None, "error": None}}
        try:
        {body}
            out["result"] = locals().get("result")
        except BaseException as exc:
            out["error"] = f"{{type(exc).__name__}}: {{exc}}"
        # VmHWM: this process's own peak. ru_maxrss would also count the parent's pages at exec time
        # (subprocess may vfork, and Linux carries the old address space's peak over exec), so a test
        # run that grew the pytest process would fail here for nothing this child did.
        with open("/proc/self/status") as status:
            hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
        out["maxrss_mb"] = int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sys.stdout.write(json.dumps(out, default=str))
        """).format(limit=memory_mb << 20, body=textwrap.indent(textwrap.dedent(code), "    "))
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "HOME": os.environ.get("HOME", "/"),
                "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=str(REPO_ROOT), check=False)
    if not proc.stdout:
        raise AssertionError(f"child died ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


# -- decompression bombs ----------------------------------------------------------------------------------
def tar_header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    info.mode = 0o644
    return info.tobuf(format=tarfile.GNU_FORMAT)


def tar_member(name: str, data: bytes) -> bytes:
    """One regular file as raw tar bytes (header + data padded to 512)."""
    return tar_header(name, len(data)) + data + b"\0" * (-len(data) % 512)


TAR_END = b"\0" * 1024


class GzipWriter:
    """A gzip stream assembled from pieces, where runs of zeros cost almost nothing to build: a
    full-flushed deflate block of 1 MiB of zeros is self-contained and can be repeated."""

    _ZERO_BLOCK = 1 << 20

    def __init__(self) -> None:
        self.parts: list[bytes] = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"]
        self.crc = 0
        self.size = 0
        self.sha = hashlib.sha256()  # of the uncompressed bytes: an image config's diff_id
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._zeros = comp.compress(bytes(self._ZERO_BLOCK)) + comp.flush(zlib.Z_FULL_FLUSH)
        self._zero_crc = zlib.crc32(bytes(self._ZERO_BLOCK))

    def data(self, data: bytes) -> GzipWriter:
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.parts.append(comp.compress(data) + comp.flush(zlib.Z_FULL_FLUSH))
        self.crc = zlib.crc32(data, self.crc)
        self.sha.update(data)
        self.size += len(data)
        return self

    def zeros(self, n: int) -> GzipWriter:
        """n zero bytes; n is rounded down to whole MiB."""
        blocks = n // self._ZERO_BLOCK
        self.parts.append(self._zeros * blocks)
        block = bytes(self._ZERO_BLOCK)
        for _ in range(blocks):
            self.crc = zlib.crc32(block, self.crc)
            self.sha.update(block)
        self.size += blocks * self._ZERO_BLOCK
        return self

    def finish(self) -> bytes:
        end = zlib.compressobj(6, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
        return b"".join(self.parts) + end + struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF)


def bomb_layer(before: dict[str, bytes], bomb_size: int, after: dict[str, bytes]) -> bytes:
    """A gzip tar layer: the files `before`, one file of `bomb_size` zero bytes (whole MiB), the files
    `after`."""
    return bomb_writer(before, bomb_size, after).finish()


def bomb_writer(before: dict[str, bytes], bomb_size: int, after: dict[str, bytes]) -> GzipWriter:
    """bomb_layer before `finish()`, for its diff_id (`sha`)."""
    assert bomb_size % (1 << 20) == 0
    gz = GzipWriter()
    for name, data in before.items():
        gz.data(tar_member(name, data))
    gz.data(tar_header("bomb.bin", bomb_size)).zeros(bomb_size)
    for name, data in after.items():
        gz.data(tar_member(name, data))
    return gz.data(TAR_END)
