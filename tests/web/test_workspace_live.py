"""The workspace while runs change: a live run's row and charts update without a reload, Stop ends the real
training process (the run reads ``killed``), and rename and delete act on the store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import log_run, screenshot

TRAINER = Path(__file__).with_name("workspace_trainer.py")


def _query(server: str, entity: str, project: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        f"{server}/api/v1/projects/{entity}/{project}/runs/query", data=json.dumps(body).encode(), method="POST"
    )
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def _entity(server: str, project: str) -> str:
    with urllib.request.urlopen(f"{server}/api/v1/projects") as resp:
        projects = json.loads(resp.read())["projects"]
    return next(p["entity"] for p in projects if p["name"] == project)


@pytest.fixture
def trainer(root: Path) -> Iterator[subprocess.Popen[str]]:
    """A real training process logging into the root's store (project ``live``), killed at teardown if alive."""
    proc = subprocess.Popen(
        [sys.executable, str(TRAINER), "live"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def _run_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("RUN_ID="):
            return line.strip().split("=", 1)[1]
        if not line and proc.poll() is not None:
            break
    raise AssertionError("the trainer did not start a run")


def test_live_run_updates_and_stops(server: str, page: Any, trainer: subprocess.Popen[str]) -> None:
    log_run("live", "done-run", steps=5)
    run_id = _run_id(trainer)
    entity = _entity(server, "live")
    deadline = time.monotonic() + 20
    while not any(r["id"] == run_id for r in _query(server, entity, "live", {})["runs"]):
        assert time.monotonic() < deadline, "the live run never reached the store"
        time.sleep(0.1)
    page.goto(f"{server}/{entity}/live")
    live = page.locator(f'[data-testid="run-row"][data-run-id="{run_id}"]')
    expect(live).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("live")).to_be_visible()
    expect(page.get_by_test_id("run-count")).to_have_text("2 (2 visualized)")

    # the chart gains points and the row updates, with no reload
    page.evaluate("window.__noReload = true")
    panel = page.locator('[data-testid="chart-panel"][data-key="train/loss"]')
    expect(panel).to_have_attribute("data-lines", f"{run_id},{_other(server, entity, run_id)}")
    before = int(panel.get_attribute("data-points") or 0)
    page.wait_for_function(
        "([n]) => Number(document.querySelector('[data-testid=chart-panel][data-key=\"train/loss\"]')"
        ".dataset.points) > n + 5",
        arg=[before],
        timeout=15_000,
    )
    assert page.evaluate("window.__noReload") is True
    screenshot(page, "workspace-live")

    # a finished run offers no Stop
    done = page.locator('[data-testid="run-row"][data-run-name="done-run"]')
    done.hover()
    done.get_by_test_id("run-kebab").click()
    expect(page.get_by_test_id("menu-rename")).to_be_visible()
    expect(page.get_by_test_id("menu-stop")).to_have_count(0)
    page.keyboard.press("Escape")

    # Stop: the row says so at once, the process ends, the run reads killed
    live.hover()
    live.get_by_test_id("run-kebab").click()
    page.get_by_test_id("menu-stop").click()
    page.get_by_test_id("confirm").get_by_test_id("confirm-ok").click()
    expect(live.get_by_test_id("state-badge")).to_have_attribute("data-state", "stopping", timeout=3_000)
    trainer.wait(timeout=30)
    expect(live).to_have_attribute("data-state", "killed", timeout=15_000)
    expect(page.get_by_test_id("live")).to_have_count(0, timeout=10_000)
    assert page.evaluate("window.__noReload") is True


def _other(server: str, entity: str, run_id: str) -> str:
    runs = _query(server, entity, "live", {"limit": 10})["runs"]
    return next(r["id"] for r in runs if r["id"] != run_id)


def test_rename_and_delete(server: str, page: Any) -> None:
    log_run("edits", "keep-me", steps=3)
    log_run("edits", "old-name", steps=3)
    entity = _entity(server, "edits")
    page.goto(f"{server}/{entity}/edits")
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(2)

    target = page.locator('[data-testid="run-row"][data-run-name="old-name"]')
    target.hover()
    target.get_by_test_id("run-kebab").click()
    page.get_by_test_id("menu-rename").click()
    page.get_by_test_id("rename-input").fill("new-name")
    page.get_by_test_id("rename-save").click()
    renamed = page.locator('[data-testid="run-row"][data-run-name="new-name"]')
    expect(renamed).to_have_count(1)
    expect(renamed.get_by_test_id("run-name")).to_have_text("new-name")
    names = [r["name"] for r in _query(server, entity, "edits", {})["runs"]]
    assert sorted(names) == ["keep-me", "new-name"]

    # delete asks first; cancel keeps the run
    renamed.hover()
    renamed.get_by_test_id("run-kebab").click()
    page.get_by_test_id("menu-delete").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("new-name")
    confirm.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(2)
    renamed.hover()
    renamed.get_by_test_id("run-kebab").click()
    page.get_by_test_id("menu-delete").click()
    page.get_by_test_id("confirm-ok").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("run-count")).to_have_text("1 (1 visualized)")
    assert [r["name"] for r in _query(server, entity, "edits", {})["runs"]] == ["keep-me"]
    page.reload()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-name", "keep-me")
