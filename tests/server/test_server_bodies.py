"""Request bodies are bounded before any work: declared sizes, streamed sizes, and gzip inflation.

The requests are written on a raw socket, so that a test can declare a body and not send it: a server that
answers at once has decided without reading it; one that waits for it would only time out.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import zlib
from urllib.parse import urlsplit

import psutil
import pytest
from live_server import ENTITY, PROJECT, LiveServer, seed_run

from runyard.server.bodies import MAX_API_BODY, MAX_PROTOCOL_BODY

KEY = "0123456789abcdef0123456789abcdef01234567"
AUTH = "Authorization: Basic " + base64.b64encode(f"api:{KEY}".encode()).decode()
QUERY = f"/api/v1/projects/{ENTITY}/{PROJECT}/runs/query"
MiB = 1024 * 1024


def _exchange(
    url: str, head: str, body: bytes = b"", chunks: int = 0, chunk: bytes = b""
) -> tuple[int, dict[str, object]]:
    """Send ``head`` (request line and headers), then ``body``, or ``chunks`` chunks of ``chunk`` in chunked
    encoding; read the answer (30 s at most). Returns the status and the JSON body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        host = f"Host: {parts.hostname}:{parts.port}\r\n"
        sock.sendall(head.replace("\r\n", "\r\n" + host, 1).encode() + b"\r\n" + body)
        try:
            for _ in range(chunks):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if chunks:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the end of the body: the answer is waiting
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            assert data, f"the server closed without answering: {answer!r}"
            answer += data
        head_bytes, _, rest = answer.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:"))
        while len(rest) < length:
            data = sock.recv(65536)
            assert data, "the server closed in the middle of its answer"
            rest += data
    return status, json.loads(rest[:length])


def _message(answer: dict[str, object]) -> str:
    error = answer["error"]
    assert isinstance(error, dict)
    return str(error["message"])


def test_a_rest_body_declared_too_large_is_refused_before_it_is_sent(live: LiveServer) -> None:
    head = f"POST {QUERY} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {200 * MiB}\r\n"
    status, answer = _exchange(live.url, head)  # no byte of the body is ever sent
    assert status == 413
    assert "8 MiB" in _message(answer)
    assert live.client.get("/health").status_code == 200


def test_a_streamed_rest_body_is_cut_off_at_the_limit(live: LiveServer) -> None:
    seed_run(live.store, "r0")
    text = b'{"search": "' + b"a" * (MAX_API_BODY + MiB) + b'"}'
    head = f"POST {QUERY} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    status, answer = _exchange(live.url, head, b"", chunks=1, chunk=text)
    assert status == 413, answer
    # Under the limit, the same request is answered.
    small = b'{"search": "run"}'
    status, answer = _exchange(live.url, head, b"", chunks=1, chunk=small)
    assert status == 200 and answer["total"] == 1


@pytest.mark.parametrize("path", ["/graphql", f"/files/{ENTITY}/{PROJECT}/r0/file_stream"])
def test_a_call_without_a_key_is_refused_before_its_body_is_read(live: LiveServer, path: str) -> None:
    head = f"POST {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    head += "Content-Length: 400000\r\n"
    status, answer = _exchange(live.url, head)  # the 400 KB are never sent
    assert status == 401
    assert "API key" in str(answer)


def _gzip_bomb(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join(packer.compress(zeros) for _ in range(inflated // MiB)) + packer.flush()


@pytest.mark.parametrize("path", ["/graphql", f"/files/{ENTITY}/{PROJECT}/r0/file_stream"])
def test_a_gzip_bomb_is_inflated_no_further_than_the_limit(live: LiveServer, path: str) -> None:
    live.store.create_api_key(ENTITY, "tests", key=KEY)
    bomb = _gzip_bomb(400 * MiB)
    assert len(bomb) < MiB
    # The server runs in this process: watch its memory while it handles the bomb.
    me = psutil.Process()
    baseline = me.memory_info().rss
    peak = baseline
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, me.memory_info().rss)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        head = (
            f"POST {path} HTTP/1.1\r\n{AUTH}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(bomb)}\r\n"
        )
        status, answer = _exchange(live.url, head, bomb)
    finally:
        done.set()
        watcher.join()
    assert status == 413
    assert "once inflated" in _message(answer) and "64 MiB" in _message(answer)
    # Inflating all of it would take 400 MiB; the bound is 64 MiB (and a step of 1 MiB).
    assert peak - baseline < 3 * MAX_PROTOCOL_BODY, (peak - baseline) // MiB


def test_gzip_bodies_under_the_limit_still_work(live: LiveServer) -> None:
    live.store.create_api_key(ENTITY, "tests", key=KEY)
    query = json.dumps({"query": "query Viewer { viewer { username } }"}).encode()
    packed = zlib.compress(query, 9, wbits=31)
    head = (
        f"POST /graphql HTTP/1.1\r\n{AUTH}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(packed)}\r\n"
    )
    status, answer = _exchange(live.url, head, packed)
    assert status == 200, answer
    assert answer["data"] == {"viewer": {"username": ENTITY}}
    broken = packed[: len(packed) // 2]
    head = head.replace(f"Content-Length: {len(packed)}", f"Content-Length: {len(broken)}")
    status, answer = _exchange(live.url, head, broken)
    assert status == 400 and "gzip" in _message(answer)
