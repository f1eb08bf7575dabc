"""Fixtures of the server suite: a real uvicorn server on a loopback port over a store on each backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from live_server import LiveServer

from runyard.server import create_app
from runyard.server.serve import bind
from runyard.store import Store


@pytest.fixture
def live(store: Store) -> Iterator[LiveServer]:
    """The runyard app over ``store``, served by uvicorn in a thread on a free loopback port."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(store), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
        yield LiveServer(url, client, store)
    server.should_exit = True
    thread.join(10)
    sock.close()
