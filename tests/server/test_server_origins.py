"""Pages of other sites cannot act through a visitor's browser: cross-site calls and DNS rebinding are refused.

The headers here are the ones browsers send (``Origin``, ``Sec-Fetch-Site``, the ``Host`` of a rebound
name); ``tests/web/test_cross_site.py`` has Chromium send them for real. Programs (the SDK, curl, the wandb
client) send none of them and keep working.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run

from runyard.server import create_app
from runyard.server.serve import bind
from runyard.store import Store

RUN = f"/runs/{ENTITY}/{PROJECT}/r0"
EVIL = "http://evil.example:8080"


@pytest.fixture
def running(live: LiveServer) -> LiveServer:
    seed_run(live.store, "r0", state=None)
    return live


def _stop_requested(live: LiveServer) -> Any:
    return live.client.get(RUN).json()["stop_requested_at"]


def test_a_form_post_from_another_site_does_not_stop_the_run(running: LiveServer) -> None:
    post = running.client.post
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # What a form on evil.example sends, in a browser that sends Origin (all current ones) ...
    assert_error(post(RUN + "/stop", content=b"x=1", headers={**form, "Origin": EVIL}), 403, "cross_site", EVIL)
    # ... or only Sec-Fetch-Site ...
    headers = {**form, "Sec-Fetch-Site": "cross-site"}
    assert_error(post(RUN + "/stop", content=b"x=1", headers=headers), 403, "cross_site", "another site")
    # ... or neither (an old browser): a form cannot send JSON, and the REST API takes nothing else.
    assert_error(post(RUN + "/stop", content=b"x=1", headers=form), 415, "json_required", "application/json")
    plain = {"Content-Type": "text/plain"}
    assert_error(post(RUN + "/stop", content=b"x=1", headers=plain), 415, "json_required", "text/plain")
    # A sibling port of the same machine is another origin (another local web app), and so is a sandbox.
    other_port = {"Origin": running.url.rsplit(":", 1)[0] + ":1"}
    assert_error(post(RUN + "/stop", headers=other_port), 403, "cross_site")
    assert_error(post(RUN + "/stop", headers={"Origin": "null"}), 403, "cross_site")
    assert_error(post(RUN + "/stop", headers={"Sec-Fetch-Site": "same-site"}), 403, "cross_site")
    assert _stop_requested(running) is None
    # The other state-changing calls are guarded the same way.
    evil = {"Origin": EVIL}
    assert_error(running.client.delete(RUN, headers=evil), 403, "cross_site")
    assert_error(running.client.patch(RUN, json={"name": "pwned"}, headers=evil), 403, "cross_site")
    workspace = f"/projects/{ENTITY}/{PROJECT}/workspace"
    assert_error(running.client.put(workspace, json={"settings": {}}, headers=evil), 403, "cross_site")
    assert running.client.get(RUN).json()["name"] == "run-r0"


def test_the_web_app_and_programs_still_stop_runs(running: LiveServer) -> None:
    # The web app's own fetch: Origin is the server itself, the call same-origin.
    own = {"Origin": running.url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
    assert running.client.post(RUN + "/stop", headers=own).status_code == 202
    seed_run(running.store, "r1", state=None)
    # A program: no Origin, no body (curl -X POST).
    assert running.client.post(f"/runs/{ENTITY}/{PROJECT}/r1/stop").status_code == 202
    # Reads are never refused for their origin: the browser keeps their answers from other sites.
    assert running.client.get(RUN, headers={"Origin": EVIL}).status_code == 200


def test_a_rebound_host_name_gets_nothing(running: LiveServer) -> None:
    # evil.example resolving to 127.0.0.1: the browser sends Host: evil.example:PORT, and would let the page read.
    port = running.url.rsplit(":", 1)[1]
    rebound = {"Host": f"evil.example:{port}"}
    for path in ("/api/v1/projects", "/api/v1/health", "/", f"/{ENTITY}/{PROJECT}"):
        answer = httpx.get(running.url + path, headers=rebound)
        assert_error(answer, 400, "bad_host", "'evil.example'", "--allowed-host evil.example")
    answer = httpx.post(running.url + "/api/v1" + RUN + "/stop", headers=rebound)
    assert_error(answer, 400, "bad_host")
    assert _stop_requested(running) is None
    # Names of this machine are answered.
    for host in ("127.0.0.1", "localhost", "app.localhost", "[::1]", socket.gethostname()):
        answer = httpx.get(running.url + "/api/v1/health", headers={"Host": f"{host}:{port}"})
        assert answer.status_code == 200, (host, answer.text)
    # The wandb client's protocol authenticates every call: it is reachable under any name (here: no key).
    graphql = httpx.post(running.url + "/graphql", json={"query": "{ viewer { id } }"}, headers=rebound)
    assert graphql.status_code == 401


@pytest.fixture
def serve_app(store: Store) -> Iterator[Callable[..., str]]:
    """Serve ``create_app(store, **options)`` on loopback; returns its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(**options: Any) -> str:
        sock = bind("127.0.0.1", 0)
        config = uvicorn.Config(create_app(store, **options), log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.005)
        servers.append((server, thread, sock))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_allowed_hosts_and_origins(store: Store, serve_app: Callable[..., str]) -> None:
    seed_run(store, "r0", state=None)
    url = serve_app(
        allowed_hosts=["runyard.example.com", ".corp.example"], allowed_origins=["https://runyard.example.com"]
    )
    port = url.rsplit(":", 1)[1]
    for host, status in [
        ("runyard.example.com", 200),
        ("RUNYARD.example.com.", 200),
        ("corp.example", 200),
        ("gpu-1.corp.example", 200),
        ("evilcorp.example", 400),
        ("runyard.example.com.evil.example", 400),
    ]:
        answer = httpx.get(f"{url}/api/v1/health", headers={"Host": f"{host}:{port}"})
        assert answer.status_code == status, (host, answer.text)
    stop = f"{url}/api/v1{RUN}/stop"
    # A proxy in front (https://runyard.example.com) passes Host: 127.0.0.1:PORT; the allowed origin is accepted.
    assert httpx.post(stop, headers={"Origin": "http://runyard.example.com"}).status_code == 403  # not https
    assert httpx.post(stop, headers={"Origin": "https://runyard.example.com"}).status_code == 202
    anything = serve_app(allowed_hosts=["*"], allowed_origins=["*"])
    assert httpx.get(f"{anything}/api/v1/health", headers={"Host": "whatever.example"}).status_code == 200


def test_runyard_server_takes_allowed_hosts(tmp_path: Path) -> None:
    allow = ["--allowed-host", "runyard.example.com", "--allowed-origin", "https://runyard.example.com"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "server", "--db", f"sqlite:///{tmp_path}/s.db", "--port", "0", *allow],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0].rstrip("/")
        port = url.rsplit(":", 1)[1]
        named = httpx.get(url + "/api/v1/health", headers={"Host": f"runyard.example.com:{port}"}, timeout=10)
        assert named.status_code == 200
        other = httpx.get(url + "/api/v1/health", headers={"Host": f"other.example:{port}"}, timeout=10)
        assert_error(other, 400, "bad_host", "other.example")
    finally:
        proc.terminate()
        proc.wait(10)
