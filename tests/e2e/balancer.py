"""A round-robin HTTP load balancer on loopback: each request goes to the next replica, as any balancer without
sticky sessions sends them; a replica that refuses the connection is skipped (failover)."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers of one hop only (RFC 9110, 7.6.1): never forwarded.
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class Balancer:
    """Serves on ``url`` and sends each request to the next of ``backends`` (base URLs) in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: Counter[str] = Counter()  # backend -> requests it answered
        self._next = 0
        self._lock = threading.Lock()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                body = self._read_body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if body or self.command in ("POST", "PUT", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                status, reason, answer_headers, answer = balancer.send(self.command, self.path, headers, body)
                self.send_response(status, reason)
                for name, value in answer_headers:
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            def _read_body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass  # trailers
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def send(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request to the next replica that accepts a connection; 502 when none does."""
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self.backends)
        for i in range(len(self.backends)):
            backend = self.backends[(start + i) % len(self.backends)]
            parts = urlsplit(backend)
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
            try:
                conn.request(method, path, body=body or None, headers=headers)
            except (ConnectionRefusedError, ConnectionResetError):
                conn.close()
                continue  # this replica is down: the next one takes the request
            try:
                response = conn.getresponse()
                answer = response.read()
            except (ConnectionResetError, http.client.RemoteDisconnected):
                conn.close()
                return 502, "Bad Gateway", [], b""  # the replica died with the request: the client retries
            conn.close()
            with self._lock:
                self.served[backend] += 1
            return response.status, response.reason, response.getheaders(), answer
        return 502, "Bad Gateway", [], b""

    def __enter__(self) -> Balancer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
