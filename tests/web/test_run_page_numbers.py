"""How numbers, times and the command read in a real browser: plain decimals where they are readable, Unix times
as dates, one "live" dot, the command in full (wrapped, and in full on hover)."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import runyard

from .conftest import screenshot

LONG_ARGS = [f"--option-number-{i}=value-{i}" for i in range(40)]


def _entity(server: str, project: str) -> str:
    """The project's entity, once the server has the live run's first records."""
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(f"{server}/api/v1/projects") as resp:
            found = [p["entity"] for p in json.loads(resp.read())["projects"] if p["name"] == project]
        if found or time.monotonic() > deadline:
            assert found, f"project {project} never appeared"
            return str(found[0])
        time.sleep(0.1)


def test_numbers_times_live_and_the_command(
    root: Path, server: str, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "train.py", *LONG_ARGS])
    run = runyard.init(
        project="numbers",
        name="readable",
        config={"lr": 0.0003, "eps": 1.5e-8, "big": 1234567.891},
        settings=runyard.Settings(disable_stats=True),
    )
    run.log({"loss": 0.00025})
    run.summary["started_at"] = 1796000000.25
    entity = _entity(server, "numbers")

    # the workspace: one live dot, drawn once
    page.goto(f"{server}/{entity}/numbers")
    live = page.get_by_test_id("live")
    expect(live).to_be_visible(timeout=30_000)
    assert live.inner_text().strip() == "live"
    assert "●" not in live.inner_text()

    page.goto(f"{server}/{entity}/numbers/runs/{run.id}")
    config = page.get_by_test_id("config")
    expect(config.locator('[data-key="lr"] td')).to_have_text("0.0003")
    expect(config.locator('[data-key="eps"] td')).to_have_text("1.5e-8")
    expect(config.locator('[data-key="big"] td')).to_have_text("1,234,567.89")
    summary = page.get_by_test_id("summary")
    expect(summary.locator('[data-key="loss"] td')).to_have_text("0.00025")
    started = summary.locator('[data-key="started_at"] td')
    expect(started).to_contain_text("2026")
    assert "e+" not in started.inner_text()
    timestamp = summary.locator('[data-key="_timestamp"] td')
    if timestamp.count():
        assert "e+" not in timestamp.inner_text()

    # the command: every argument on the page, within its box, and in full on hover
    command = page.get_by_test_id("command")
    expect(command).to_contain_text(LONG_ARGS[-1])
    full = command.get_attribute("title") or ""
    assert full.endswith(LONG_ARGS[-1]) and "train.py" in full
    fits = command.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert fits, "the command overflows its box sideways"
    box = command.bounding_box()
    fact = page.locator('[data-fact="command"], .fact:has([data-testid="command"])').first.bounding_box()
    assert box["x"] + box["width"] <= fact["x"] + fact["width"] + 1
    screenshot(page, "run-overview-numbers")
    run.finish()
