"""The server's commands as real processes: ``runyard ui`` and ``runyard demo`` print their URL and answer."""

from __future__ import annotations

import getpass
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

URL = re.compile(r"at (http://127\.0\.0\.1:\d+/\S*)")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env["RUNYARD_DIR"] = str(tmp_path / "runyard")
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end is interrupted, then killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _runyard(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _url(proc: subprocess.Popen[str]) -> str:
    """Read the process's output up to the line with the URL it serves at."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        found = URL.search(line)
        if found:
            return found.group(1)
    raise AssertionError("no URL printed:\n" + "".join(seen) + (proc.stderr.read() if proc.stderr else ""))


def test_ui_prints_its_url_and_answers(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    proc = _runyard(tmp_path, "ui", "--port", "0")
    spawn.append(proc)
    url = _url(proc)
    assert httpx.get(url + "api/v1/health", timeout=10).json()["ok"] is True
    assert httpx.get(url + "api/v1/projects", timeout=10).json() == {"projects": []}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_ui_says_when_the_port_is_taken(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    first = _runyard(tmp_path, "ui", "--port", "0")
    spawn.append(first)
    port = _url(first).rsplit(":", 1)[1].strip("/")
    second = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "ui", "--port", port],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in second.stderr and "--port" in second.stderr


def test_demo_ends_serving_its_runs(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    proc = _runyard(tmp_path, "demo", "--steps", "20", "--port", "0")
    spawn.append(proc)
    url = _url(proc)
    entity = getpass.getuser()
    assert url.endswith(f"/{entity}/demo-moons")
    base = url.rsplit("/", 2)[0]
    project = httpx.get(f"{base}/api/v1/projects/{entity}/demo-moons", timeout=10).json()
    assert project["run_count"] == 4


def test_demo_no_ui_exits(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "demo", "--steps", "5", "--no-ui"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "project demo-moons now holds 4 run(s)" in done.stdout
    assert "serving" not in done.stdout
