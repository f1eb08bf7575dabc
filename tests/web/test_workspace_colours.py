"""Run colours in a real browser: a run keeps the colour it was first given through every view (search,
grouping, sort, new runs starting) and on its run page, until the user picks another."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .conftest import log_run

PROJECT = "colours"


def _api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + "/api/v1" + path) as resp:
        return json.loads(resp.read())


def _hex(css: str) -> str:
    r, g, b = (int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _colours(page: Any) -> dict[str, str]:
    """Each run row's swatch colour, by run name."""
    out = {}
    for r in page.get_by_test_id("run-row").all():
        css = r.get_by_test_id("run-color").evaluate("e => getComputedStyle(e).backgroundColor")
        out[r.get_attribute("data-run-name")] = _hex(css)
    return out


def _line_colours(page: Any, key: str = "train/loss") -> dict[str, str]:
    panel = page.locator(f'[data-testid="chart-panel"][data-key="{key}"]')
    ids = (panel.get_attribute("data-lines") or "").split(",")
    colours = (panel.get_attribute("data-colors") or "").split(",")
    return dict(zip(ids, colours, strict=True))


def _ready(page: Any) -> None:
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")


def test_a_run_keeps_its_colour_in_every_view_and_on_its_page(root: Path, server: str, page: Any) -> None:
    names = [f"run-{i}" for i in range(6)]
    ids = {}
    for i, name in enumerate(names):
        ids[name] = log_run(PROJECT, name, steps=5, config={"opt": "adam" if i % 2 else "sgd"}).id
    entity = next(p["entity"] for p in _api(server, "/projects")["projects"] if p["name"] == PROJECT)
    url = f"{server}/{entity}/{PROJECT}"
    page.goto(url)
    _ready(page)
    expect(page.get_by_test_id("run-row")).to_have_count(6)
    first = _colours(page)
    # six runs drawn together for the first time: six different colours, and the lines use them
    assert len(set(first.values())) == 6, first
    lines = _line_colours(page)
    assert {name: lines[ids[name]] for name in names} == first

    # a search keeps each colour
    page.get_by_test_id("run-search").fill("run-[45]")
    expect(page.get_by_test_id("run-row")).to_have_count(2)
    assert _colours(page) == {n: first[n] for n in ("run-4", "run-5")}
    page.get_by_test_id("run-search").fill("")
    expect(page.get_by_test_id("run-row")).to_have_count(6)

    # new runs starting keep the old ones' colours, and take colours of their own
    for name in ("run-6", "run-7"):
        ids[name] = log_run(PROJECT, name, steps=5).id
    expect(page.get_by_test_id("run-row")).to_have_count(8, timeout=30_000)
    after = _colours(page)
    assert {n: after[n] for n in names} == first
    assert after["run-6"] != after["run-7"]

    # after a reload: the same colours
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-saved", "true")
    page.reload()
    _ready(page)
    expect(page.get_by_test_id("run-row")).to_have_count(8)
    assert _colours(page) == after

    # the run page shows the run's colour, the one its line has in its charts too
    for name in ("run-0", "run-3", "run-7"):
        page.goto(f"{url}/runs/{ids[name]}")
        expect(page.get_by_test_id("run-color-dot")).to_have_attribute("data-color", after[name])
        page.goto(f"{url}/runs/{ids[name]}?tab=charts")
        chart = page.locator('[data-testid="chart-panel"][data-key="train/loss"]')
        expect(chart).to_have_attribute("data-colors", after[name])


def test_a_run_page_seen_first_gives_the_workspace_its_colour(root: Path, server: str, page: Any) -> None:
    run = log_run(PROJECT, "solo", steps=3)
    entity = next(p["entity"] for p in _api(server, "/projects")["projects"] if p["name"] == PROJECT)
    page.goto(f"{server}/{entity}/{PROJECT}/runs/{run.id}")
    dot = page.get_by_test_id("run-color-dot")
    expect(dot).to_be_visible()
    colour = dot.get_attribute("data-color")
    page.goto(f"{server}/{entity}/{PROJECT}")
    _ready(page)
    swatch = page.get_by_test_id("run-row").first.get_by_test_id("run-color")
    expect(swatch).to_be_visible()
    assert _hex(swatch.evaluate("e => getComputedStyle(e).backgroundColor")) == colour
