"""Media logged by the real wandb 0.31 client to a runyard server, shown in Chromium: every panel kind, and every
custom chart preset the client's ``wandb.plot`` functions produce, drawn from the tables the client uploaded."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runyard.store import Store

from .conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / ".wandb-clients" / "wandb-0.31.0" / "bin" / "python"
SCENARIO = ROOT / "tests" / "wandb_client" / "scenarios" / "media.py"
KEY = "0123456789abcdef0123456789abcdef01234567"
PROJECT = "wandb-media"


def _client_env() -> dict[str, str]:
    if not CLIENT.exists():
        pytest.skip("wandb 0.31.0 is not installed: run scripts/install-wandb-clients")
    extra = os.environ.get("RUNYARD_TEST_CLIENT_PATH", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "RUNYARD_", "PYTEST_"))}
    if extra:
        env["PYTHONPATH"] = extra
    if subprocess.run([str(CLIENT), "-c", "import numpy, PIL"], env=env, capture_output=True).returncode:
        pytest.skip("wandb 0.31.0's environment lacks numpy or Pillow: run scripts/install-wandb-clients")
    return env


@pytest.fixture
def logged(server: str, store_url: str, tmp_path: Path) -> str:
    env = _client_env()
    with Store.open(store_url) as store:
        store.create_api_key("local", "tests", key=KEY)
    work = tmp_path / "client"
    work.mkdir()
    env.update(
        WANDB_BASE_URL=server,
        WANDB_API_KEY=KEY,
        WANDB_DIR=str(work),
        WANDB_CONFIG_DIR=str(work / "config"),
        WANDB_CACHE_DIR=str(work / "cache"),
        WANDB_DATA_DIR=str(work / "data"),
        WANDB_ERROR_REPORTING="false",
        WANDB_DISABLE_CODE="true",
    )
    done = subprocess.run(
        [str(CLIENT), str(SCENARIO), PROJECT], cwd=work, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with urllib.request.urlopen(f"{server}/api/v1/projects") as resp:
        projects = json.loads(resp.read())["projects"]
    entity = next(p["entity"] for p in projects if p["name"] == PROJECT)
    return f"{server}/{entity}/{PROJECT}"


PRESETS = {
    "line_plot": "wandb/line/v0",
    "scatter_plot": "wandb/scatter/v0",
    "bar_plot": "wandb/bar/v0",
    "hist_plot": "wandb/histogram/v0",
    "series_plot": "wandb/lineseries/v0",
    "confusion": "wandb/confusion_matrix/v1",
}


def test_the_real_clients_media_in_the_workspace(logged: str, page: Any) -> None:
    page.goto(logged)
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")

    def panel(key: str) -> Any:
        found = page.locator(f'[data-testid="media-panel"][data-key="{key}"]')
        found.scroll_into_view_if_needed()
        return found

    expect(panel("img").get_by_test_id("media-image")).to_have_count(1)
    expect(panel("img").locator(".media-caption")).to_have_text("step 2")
    expect(panel("grid").get_by_test_id("media-image")).to_have_count(3)
    expect(panel("weights").get_by_test_id("hist-canvas")).to_have_attribute("data-rows", "3")
    expect(panel("samples").get_by_test_id("table-count")).to_have_text("20 rows")
    expect(panel("sound").get_by_test_id("media-audio")).to_have_count(1)
    expect(panel("clip").get_by_test_id("media-video")).to_have_count(1)
    expect(panel("page").get_by_test_id("media-html").content_frame.locator("h1")).to_have_text("hello runyard")
    for key, preset in PRESETS.items():
        body = panel(key).get_by_test_id("plot-body")
        expect(body).to_have_attribute("data-preset", preset)
        drawn = "plot-confusion" if key == "confusion" else "plot-uplot"
        expect(
            body.get_by_test_id(drawn).locator("canvas") if drawn == "plot-uplot" else body.get_by_test_id(drawn)
        ).to_have_count(1)
        screenshot(page, f"media-wandb-{key}")
    # the plots' tables are not panels of their own; media keys are never line charts
    expect(page.locator('[data-testid="media-panel"][data-key="line_plot_table"]')).to_have_count(0)
    assert page.get_by_test_id("chart-panel").evaluate_all("els => els.map(e => e.dataset.key)") == ["loss"]
