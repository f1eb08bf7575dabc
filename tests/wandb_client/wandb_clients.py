"""Helpers of the wandb client suite: the installed clients, a live server, running scenario scripts.

Real ``wandb`` clients against a live runyard server on a loopback port.

``scripts/install-wandb-clients`` puts each client release in its own virtual environment under
``.wandb-clients/``; the tests here run scenario scripts (``scenarios/``) with those interpreters, pointed at a
runyard app served by uvicorn in a thread, and check what the store then holds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / ".wandb-clients"
SCENARIOS = Path(__file__).with_name("scenarios")
LATEST = "0.31.0"
OLDER = ("0.30.0", "0.29.0")
VERSIONS = (LATEST, *OLDER)
KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 characters, as every client release accepts
ENTITY = "local"


def client_python(version: str) -> Path:
    """The interpreter of the virtual environment holding wandb ``version``; skips when it was not installed."""
    python = CLIENTS / f"wandb-{version}" / "bin" / "python"
    marker = CLIENTS / f"wandb-{version}" / ".installed"
    if not python.exists() or not marker.exists():
        pytest.skip(f"wandb {version} is not installed: run scripts/install-wandb-clients first")
    return python


@dataclass
class LiveServer:
    """A runyard app served on 127.0.0.1 by uvicorn in a thread, over one store."""

    url: str
    store: Any  # runyard.store.Store
    store_url: str

    def run_client(
        self,
        version: str,
        scenario: str,
        *args: str,
        tmp_path: Path,
        key: str = KEY,
        timeout: float = 90.0,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``scenarios/<scenario>.py`` with wandb ``version`` and wait for it to end."""
        proc = self.start_client(version, scenario, *args, tmp_path=tmp_path, key=key, env=env)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            out, err = proc.communicate()
            raise AssertionError(f"{scenario} with wandb {version} timed out\n{out}\n{err}") from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def start_client(
        self,
        version: str,
        scenario: str,
        *args: str,
        tmp_path: Path,
        key: str = KEY,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Start ``scenarios/<scenario>.py`` with wandb ``version`` in its own process group."""
        python = client_python(version)
        work = tmp_path / f"client-{uuid.uuid4().hex[:6]}"
        work.mkdir()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "RUNYARD_", "PYTEST_", "COV_"))}
        full_env.update(
            WANDB_BASE_URL=self.url,
            WANDB_API_KEY=key,
            WANDB_DIR=str(work),
            WANDB_CONFIG_DIR=str(work / "config"),
            WANDB_CACHE_DIR=str(work / "cache"),
            WANDB_DATA_DIR=str(work / "data"),
            WANDB_ERROR_REPORTING="false",
            WANDB_DISABLE_CODE="true",
            PYTHONUNBUFFERED="1",
        )
        full_env.update(env or {})
        return subprocess.Popen(
            [str(python), str(SCENARIOS / f"{scenario}.py"), *args],
            cwd=work,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )


def _kill(proc: subprocess.Popen[str]) -> None:
    """End a client and its wandb-core service (same process group)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def serve_in_thread(store_url: str, blobs: str | None = None, *, accounts: bool = False) -> Iterator[LiveServer]:
    """Serve a fresh app over ``store_url`` (its files' bytes in ``blobs``) until the generator is closed.

    With ``accounts``, as ``runyard server`` does: :data:`KEY` then belongs to the user :data:`ENTITY`."""
    import uvicorn

    from runyard.server.app import create_app
    from runyard.server.deps import User
    from runyard.store import Store

    store = Store.open(store_url, blobs=blobs)
    if accounts:
        store.accounts.create_user(ENTITY, None)
    store.create_api_key(ENTITY, "tests", key=KEY)
    app = create_app(store, user=User(username=ENTITY, entity=ENTITY), accounts=accounts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the runyard server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", store, store_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert a client script exited 0, showing its output when it did not."""
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result


def last_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    """The value of the last stdout line starting with ``prefix``."""
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no line starting {prefix!r} in\n{result.stdout}\n{result.stderr}")
