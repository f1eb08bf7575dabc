"""A real ``runyard server`` process on a loopback port, which a test can kill and start again on the same port."""

from __future__ import annotations

import getpass
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runyard.store import Store

_URL = re.compile(r"at (http://127\.0\.0\.1:\d+)/")


def add_key(store: Store, key: str, username: str | None = None) -> str:
    """Make ``username`` (default: this machine's user, the SDK's default entity) a user of the server's store
    and give them ``key``: a key of `runyard server` belongs to a user with accounts. Returns the username."""
    name = username or getpass.getuser()
    if store.accounts.get_user(name) is None:
        store.accounts.create_user(name, None)
    store.create_api_key(name, "tests", key=key)
    return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without runyard's and wandb's variables (nor pytest's), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_", "PYTEST_"))}
    env.update(extra)
    return env


class ServerProcess:
    """``runyard server --db <store_url> --port <port>``, started by :meth:`start`."""

    def __init__(self, store_url: str, folder: Path, port: int | None = None) -> None:
        self.store_url = store_url
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        """Start the server and wait until it serves."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runyard.cli", "server", "--db", self.store_url, "--port", str(self.port)],
            env=clean_env(RUNYARD_DIR=str(self.folder / "server")),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:
            seen.append(line)
            if _URL.search(line):
                break
        else:
            raise AssertionError("the server did not start:\n" + "".join(seen))
        # The URL is printed once the port is bound; uvicorn listens a moment later.
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=10).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, "the server does not answer"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to finish anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)  # a PostgreSQL server's shutdown is slow on a loaded machine
            except subprocess.TimeoutExpired:
                self.kill()
