"""A stop that cannot land: the run's ingester is gone, and its trainer ignores SIGINT and SIGTERM.

The user stops the run, forces the stop, and nothing happens (only the ingester sends signals, and it is
dead); the web app then offers "Mark as killed", asks first, and the run reads ``killed`` while its process
still runs.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

STUBBORN = """
import signal, time, runyard
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
run = runyard.init(project="deaf", name="deaf-trainer")
print("RUN_ID=" + run.id, flush=True)
for i in range(6000):
    run.log({"x": i})
    time.sleep(0.02)
"""


def _ingester_of(pid: int) -> int:
    """The pid of the runyard ingester process the trainer ``pid`` started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid) == pid and b"runyard.sinks.daemon" in cmdline:
            return int(entry.name)
    raise AssertionError(f"no ingester process under {pid}")


@pytest.fixture
def deaf_run(server: str, tmp_path: Path, root: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A live trainer that ignores SIGINT and SIGTERM, whose ingester was killed: no stop can reach it."""
    script = tmp_path / "deaf.py"
    script.write_text(STUBBORN)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("RUN_ID="), line
        run_id = line.strip().split("=", 1)[1]
        url = f"{server}/api/v1/runs/{getpass.getuser()}/deaf/{run_id}"
        deadline = time.monotonic() + 30
        while httpx.get(url).status_code != 200:
            assert time.monotonic() < deadline, "the run never reached the store"
            time.sleep(0.1)
        ingester = _ingester_of(proc.pid)
        os.kill(ingester, signal.SIGKILL)
        yield proc, run_id
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _confirm(page: Any, *words: str) -> None:
    confirm = page.get_by_test_id("confirm")
    for word in words:
        expect(confirm).to_contain_text(word)
    confirm.get_by_test_id("confirm-ok").click()


def test_mark_killed_on_the_run_page(server: str, page: Any, deaf_run: tuple[subprocess.Popen[str], str]) -> None:
    proc, run_id = deaf_run
    page.goto(f"{server}/{getpass.getuser()}/deaf/runs/{run_id}")
    badge = page.locator(".run-title-row").get_by_test_id("state-badge")
    expect(badge).to_have_text("running")
    expect(page.get_by_test_id("run-mark-killed")).to_have_count(0)  # not while a stop may still land
    page.get_by_test_id("run-stop").click()
    _confirm(page, "Ctrl-C")
    expect(page.get_by_test_id("run-stop")).to_have_attribute("data-stopping", "true")
    page.get_by_test_id("run-stop").click()
    _confirm(page, "Force stop")
    expect(page.get_by_test_id("run-mark-killed")).to_be_visible(timeout=30_000)
    assert proc.poll() is None  # the force stop did not land
    page.get_by_test_id("run-mark-killed").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("Mark this run as killed?")
    confirm.get_by_role("button", name="Cancel").click()  # asked first: cancelling changes nothing
    expect(badge).to_have_text("running")
    page.get_by_test_id("run-mark-killed").click()
    _confirm(page, "exit code 255")
    expect(badge).to_have_text("killed")
    expect(page.get_by_test_id("run-mark-killed")).to_have_count(0)
    expect(page.get_by_test_id("run-stop")).to_have_count(0)
    page.reload()
    expect(page.locator(".run-title-row").get_by_test_id("state-badge")).to_have_text("killed")
    assert proc.poll() is None  # nothing was sent to the process: only the run was ended


def test_mark_killed_from_the_runs_table(server: str, page: Any, deaf_run: tuple[subprocess.Popen[str], str]) -> None:
    proc, _ = deaf_run
    page.goto(f"{server}/{getpass.getuser()}/deaf")
    row = page.locator('[data-testid="run-row"][data-run-name="deaf-trainer"]')
    expect(row.get_by_test_id("state-badge")).to_have_attribute("data-state", "running", timeout=15_000)

    def menu() -> None:
        row.hover()
        row.get_by_test_id("run-kebab").click()

    menu()
    expect(page.get_by_test_id("menu-mark-killed")).to_have_count(0)
    page.get_by_test_id("menu-stop").click()
    _confirm(page, "Ctrl-C")
    expect(row.get_by_test_id("state-badge")).to_have_attribute("data-state", "stopping")
    menu()
    page.get_by_test_id("menu-force-stop").click()
    _confirm(page, "still runs")
    page.wait_for_timeout(11_000)  # the force stop's short time to land
    menu()
    page.get_by_test_id("menu-mark-killed").click()
    _confirm(page, "Mark as killed")
    expect(row).to_have_attribute("data-state", "killed")
    expect(row.get_by_test_id("state-badge")).to_have_attribute("data-state", "killed")
    assert proc.poll() is None
