"""One keep-alive HTTP/1.1 connection to a runyard server, over the standard library's :mod:`http.client`.

Why :mod:`http.client` and not httpx or urllib3: the ingester process is started for every run, talks to one
server one request at a time, and ``finish()`` of a short run waits for its first batch. http.client gives it
keep-alive, TLS (:func:`ssl.create_default_context`: the system's certificate authorities, or the bundle named by
``SSL_CERT_FILE``), and connect and read timeouts, for ~3 ms of imports. Measured on this project's machines,
``import httpx`` costs ~145 ms and ~8 MB of memory, ``import urllib3`` ~100 ms and ~6 MB, per process; their
extras (connection pools, HTTP/2, redirects, cookies) are of no use to one connection posting batches.

Failures are :class:`~runyard.errors.RemoteError`. A request on a kept-alive connection that the server had
already closed (its idle timeout) is sent once more on a new connection; every request runyard sends is
idempotent, so sending one twice is harmless.
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from runyard.errors import RemoteError

__all__ = ["Answer", "Connection"]

# Errors that mean "the connection was already dead" when they hit a reused connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True)
class Answer:
    """A server's answer: status, headers (lower-case names) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Connection:
    """A connection to the server at ``base_url``, opened on first use and reopened after a failure.

    Not thread-safe: one thread sends at a time (the ingester's).
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        """Prepare the connection; nothing is sent until :meth:`request`.

        Args:
            base_url: ``http(s)://host[:port][/prefix]``; request paths are appended to the prefix.
            headers: sent with every request (the ``Authorization`` header).
            connect_timeout: seconds to wait for the TCP (and TLS) connection.
            read_timeout: seconds to wait for each read of the answer.
        """
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError(f"not a server address: {base_url!r}")
        self.base_url = base_url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._headers = dict(headers or {})
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | IO[bytes] | None = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """Send one request and read its whole answer; raises :class:`RemoteError` when no answer came.

        ``body`` may be an open file (sent in blocks, from its start: give ``Content-Length`` in ``headers``).
        """
        sent = {**self._headers, **(headers or {})}
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        for attempt in range(2):
            reused = self._conn is not None
            try:
                if body is not None and not isinstance(body, bytes):
                    body.seek(start)  # a second attempt sends the file from its start again
                conn = self._open()
                conn.request(method, self._prefix + path, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
            except _STALE as exc:
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed the idle connection: once more, on a new one
                raise self._unreachable(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(exc) from exc
            if response.will_close:
                self.close()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
            return Answer(response.status, answer_headers, data)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def stream(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[Answer, Iterator[bytes]]:
        """``GET path`` on a connection of its own, its body read in chunks as the iterator is consumed (a large
        download never sits in memory). A success's :class:`Answer` has an empty body; another answer's is whole
        and the iterator empty. The connection closes when the iterator ends or is closed."""
        keep, self._conn = self._conn, None
        try:
            conn = self._open()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        finally:
            self._conn = keep
        try:
            conn.request("GET", self._prefix + path, headers={**self._headers, **(headers or {})})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._unreachable(exc) from exc
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        if not 200 <= response.status < 300:
            body = response.read()
            conn.close()
            return Answer(response.status, answer_headers, body), iter(())

        def chunks() -> Iterator[bytes]:
            try:
                while block := response.read(1024 * 1024):
                    yield block
            except (OSError, http.client.HTTPException) as exc:
                raise self._unreachable(exc) from exc
            finally:
                conn.close()

        return Answer(response.status, answer_headers, b""), chunks()

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def _open(self) -> http.client.HTTPConnection:
        if self._conn is not None:
            return self._conn
        conn: http.client.HTTPConnection
        if self._https:
            import ssl  # only for https servers: ~10 ms of imports

            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(self.read_timeout)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    def _unreachable(self, exc: BaseException) -> RemoteError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = f"timed out (connect {self.connect_timeout:g} s, read {self.read_timeout:g} s)"
        elif isinstance(exc, ConnectionRefusedError):
            reason = "connection refused: is the server running?"
        return RemoteError(f"cannot reach the runyard server at {self.base_url}: {reason}", exc, retryable=True)
