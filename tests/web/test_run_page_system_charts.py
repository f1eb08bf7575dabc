"""The run page's System tab in a real browser: ranges that do not exaggerate noise, units on the axes, a colour
per line."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

import runyard
from runyard import records as R

from .conftest import screenshot

CPU = [98.2, 99.6, 100.0, 98.9, 99.1]


def _sampled_run(project: str) -> runyard.Run:
    """A finished run whose system samples are known: a busy CPU (98–100 %), memory, two GPUs."""
    run = runyard.init(project=project, name="busy", settings=runyard.Settings(disable_stats=True))
    t0 = time.time()
    for i, cpu in enumerate(CPU):
        values = {
            "system/cpu": cpu,
            "system/proc.memory.rssMB": 500.0 + i,
            "system/gpu.0.temp": 61.0 + i,
            "system/gpu.1.temp": 64.0 - i,
        }
        with run._lock:
            run._write(R.KIND_SYSTEM, {"t": t0 + i, "runtime": float(i), "values": values})
    run.log({"loss": 1.0})
    run.finish()
    return run


def test_system_charts_ranges_units_and_colours(root: Path, server: str, page: Any) -> None:
    run = _sampled_run("sys")
    with urllib.request.urlopen(f"{server}/api/v1/projects") as resp:
        entity = next(p["entity"] for p in json.loads(resp.read())["projects"] if p["name"] == "sys")
    page.goto(f"{server}/{entity}/sys/runs/{run.id}?tab=system")
    cpu = page.locator('[data-testid="sys-panel"][data-title="CPU utilization"]')
    expect(cpu).to_have_attribute("data-y-range", "0,100")
    expect(cpu).to_have_attribute("data-unit", "%")
    expect(cpu).to_have_attribute("data-axis-labels", "Runtime|%")

    rss = page.locator('[data-testid="sys-panel"][data-title="Process memory in use (RSS)"]')
    expect(rss).to_have_attribute("data-y-range", re.compile(r"^0,"))
    expect(rss).to_have_attribute("data-axis-labels", "Runtime|MiB")

    temp = page.locator('[data-testid="sys-panel"][data-title="GPU temperature"]')
    expect(temp).to_have_attribute("data-axis-labels", "Runtime|°C")
    # every line of the tab has a colour of its own
    colours = []
    for panel in page.get_by_test_id("sys-panel").all():
        colours += (panel.get_attribute("data-colors") or "").split(",")
    assert len(colours) == 4
    assert len(set(colours)) == 4, colours
    screenshot(page, "run-system-ranges")
