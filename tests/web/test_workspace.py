"""The project workspace in a real browser: the runs sidebar and table, search, filter, group, sort, hide,
colour, the visualized count, chart panels (zoom, log scale, smoothing, enlarge) and persistence.

One server over one seeded store serves the whole module (seeding through the SDK costs about a second a
run); each test starts from an empty saved workspace, and none of them changes the runs themselves.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

import runyard

from .conftest import _free_port, log_run, screenshot

PROJECT = "ws"
NAMES = ["alpha-0", "alpha-1", "beta-2", "beta-3", "gamma-4", "gamma-5"]


def _metrics(i: int, steps: int):
    def fn(step: int) -> dict[str, Any]:
        loss = (1.0 + i / 10) / (step + 1)
        return {"train/loss": loss, "train/acc": step / steps, "val/loss": loss * 1.1}

    return fn


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store with six finished runs in project ``ws`` and a server over it, for the whole module."""
    import uvicorn

    from runyard.server import create_app
    from runyard.store import Store

    root = tmp_path_factory.mktemp("ws") / "runyard"
    mp = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith(("RUNYARD_", "WANDB_")):
            mp.delenv(name)
    mp.setenv("RUNYARD_DIR", str(root.parent))  # the folder that holds runyard/
    mp.setenv("RUNYARD_SILENT", "true")
    ids: dict[str, str] = {}
    try:
        for i, name in enumerate(NAMES):
            run = log_run(
                PROJECT,
                name,
                steps=40,
                config={"optimizer": "adam" if i % 2 == 0 else "sgd", "lr": 0.001 * (i + 1), "depth": 10 + i},
                metrics=_metrics(i, 40),
                tags=["even" if i % 2 == 0 else "odd"],
            )
            ids[name] = run.id
        store = Store.open(f"sqlite:///{root / 'runyard.db'}", crash_timeout=300.0)
        port = _free_port()
        config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning", access_log=False)
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not srv.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
            time.sleep(0.02)
        yield {"url": f"http://127.0.0.1:{port}", "ids": ids, "root": root}
        srv.should_exit = True
        thread.join(timeout=10)
        store.close()
    finally:
        runyard.finish()
        mp.undo()


def _api(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def _entity(base: str) -> str:
    """The entity the SDK logged the project under."""
    return next(p["entity"] for p in _api(base, "GET", "/projects")["projects"] if p["name"] == PROJECT)


@pytest.fixture
def ws(seeded: dict[str, Any], page: Any) -> dict[str, Any]:
    """A fresh (never saved) workspace, opened in the page."""
    entity = _entity(seeded["url"])
    _api(seeded["url"], "PUT", f"/projects/{entity}/{PROJECT}/workspace", {"settings": {}})
    url = f"{seeded['url']}/{entity}/{PROJECT}"
    page.goto(url)
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")
    return {**seeded, "entity": entity, "page_url": url}


def rows(page: Any) -> Any:
    return page.get_by_test_id("run-row")


def row(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="run-row"][data-run-name="{name}"]')


def panel(page: Any, key: str) -> Any:
    return page.locator(f'[data-testid="chart-panel"][data-key="{key}"]')


def drawn(page: Any, key: str = "train/loss") -> list[str]:
    value = panel(page, key).get_attribute("data-lines") or ""
    return [v for v in value.split(",") if v]


def wait_saved(page: Any) -> None:
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-saved", "true")


def names_in_order(page: Any) -> list[str]:
    return [r.get_attribute("data-run-name") for r in rows(page).all()]


def test_sidebar_charts_and_visualized_count(ws: dict[str, Any], page: Any) -> None:
    ids = ws["ids"]
    expect(rows(page)).to_have_count(6)
    # newest first by default
    assert names_in_order(page) == list(reversed(NAMES))
    expect(page.get_by_test_id("run-count")).to_have_text("6 (6 visualized)")
    # a panel per history key, in sections by prefix
    sections = page.get_by_test_id("chart-section")
    expect(sections).to_have_count(2)
    assert {s.get_attribute("data-section") for s in sections.all()} == {"train", "val"}
    for key in ("train/loss", "train/acc", "val/loss"):
        expect(panel(page, key)).to_have_attribute("data-lines", re.compile(r"^(\w+,){5}\w+$"))
    assert set(drawn(page)) == set(ids.values())
    assert int(panel(page, "train/loss").get_attribute("data-points") or 0) == 6 * 40
    expect(panel(page, "train/loss").locator("canvas")).to_have_count(1)
    screenshot(page, "workspace")

    # N: the charts draw the first N runs of the sorted list
    page.get_by_test_id("max-runs").fill("3")
    page.get_by_test_id("max-runs").press("Enter")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (3 visualized)")
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", re.compile(r"^\w+,\w+,\w+$"))
    assert set(drawn(page)) == {ids["gamma-5"], ids["gamma-4"], ids["beta-3"]}
    assert row(page, "gamma-5").get_attribute("data-visualized") == "true"
    assert row(page, "alpha-0").get_attribute("data-visualized") == "false"

    # sorting decides which runs are drawn
    page.get_by_test_id("sort-key").select_option("display_name")
    page.get_by_test_id("sort-dir").click()
    expect(rows(page).first).to_have_attribute("data-run-name", "alpha-0")
    assert names_in_order(page) == NAMES
    first3 = ",".join(ids[n] for n in NAMES[:3])
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", first3)

    # everything persists per project
    wait_saved(page)
    page.reload()
    expect(page.get_by_test_id("max-runs")).to_have_value("3")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (3 visualized)")
    expect(rows(page).first).to_have_attribute("data-run-name", "alpha-0")
    expect(page.get_by_test_id("sort-key")).to_have_value("display_name")


def test_sort_by_a_summary_metric(ws: dict[str, Any], page: Any) -> None:
    # final train/loss grows with the run's index: ascending puts alpha-0 first
    page.get_by_test_id("sort-key").select_option("summary_metrics.train/loss")
    expect(page.get_by_test_id("sort-dir")).to_have_attribute("data-desc", "true")
    expect(rows(page).first).to_have_attribute("data-run-name", "gamma-5")
    page.get_by_test_id("sort-dir").click()
    expect(rows(page).first).to_have_attribute("data-run-name", "alpha-0")
    assert names_in_order(page) == NAMES


def test_hide_and_colour_a_run(ws: dict[str, Any], page: Any) -> None:
    ids = ws["ids"]
    target = row(page, "beta-2")
    target.get_by_test_id("run-eye").click()
    expect(target).to_have_attribute("data-hidden", "true")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (5 visualized)")
    for key in ("train/loss", "val/loss"):
        expect(panel(page, key)).not_to_have_attribute("data-lines", re.compile(ids["beta-2"]))
    assert len(drawn(page)) == 5

    # colour: the palette sets it on the swatch and on the line
    other = row(page, "gamma-4")
    other.get_by_test_id("run-color").click()
    page.locator('[data-testid="palette-swatch"][data-color="#911eb4"]').click()
    expect(page.get_by_test_id("palette")).to_have_count(0)
    expect(other.get_by_test_id("run-color")).to_have_css("background-color", "rgb(145, 30, 180)")
    lines = drawn(page)
    colors = (panel(page, "train/loss").get_attribute("data-colors") or "").split(",")
    assert colors[lines.index(ids["gamma-4"])] == "#911eb4"

    wait_saved(page)
    page.reload()
    expect(row(page, "beta-2")).to_have_attribute("data-hidden", "true")
    expect(row(page, "gamma-4").get_by_test_id("run-color")).to_have_css("background-color", "rgb(145, 30, 180)")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (5 visualized)")

    # and back
    row(page, "beta-2").get_by_test_id("run-eye").click()
    expect(page.get_by_test_id("run-count")).to_have_text("6 (6 visualized)")
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", re.compile(ids["beta-2"]))


def test_regex_search_and_the_servers_error(ws: dict[str, Any], page: Any) -> None:
    search = page.get_by_test_id("run-search")
    search.fill("^beta-[23]$")
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("run-count")).to_have_text("2 (2 visualized)")
    assert sorted(names_in_order(page)) == ["beta-2", "beta-3"]
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", re.compile(r"^\w+,\w+$"))

    search.fill("beta-(")
    error = page.get_by_test_id("search-error")
    expect(error).to_contain_text("not a valid regular expression")
    search.fill("/GAMMA/")  # slashes and any case
    expect(error).to_have_count(0)
    expect(rows(page)).to_have_count(2)

    wait_saved(page)
    page.reload()
    expect(page.get_by_test_id("run-search")).to_have_value("/GAMMA/")
    expect(rows(page)).to_have_count(2)
    page.get_by_test_id("run-search").press("Escape")
    expect(rows(page)).to_have_count(6)


def test_filter_builder(ws: dict[str, Any], page: Any) -> None:
    page.get_by_test_id("filter-button").click()
    builder = page.get_by_test_id("filter-builder")
    builder.get_by_test_id("filter-field").select_option("config.optimizer")
    builder.get_by_test_id("filter-value").fill("sgd")
    builder.get_by_test_id("filter-add").click()
    second = builder.get_by_test_id("filter-row").nth(1)
    second.get_by_test_id("filter-field").select_option("config.depth")
    second.get_by_test_id("filter-op").select_option(">")
    second.get_by_test_id("filter-value").fill("11")
    builder.get_by_test_id("filter-apply").click()
    expect(rows(page)).to_have_count(2)
    assert sorted(names_in_order(page)) == ["beta-3", "gamma-5"]
    expect(page.get_by_test_id("filter-button")).to_have_text("Filter (2)")

    # tags and state
    page.get_by_test_id("filter-button").click()
    builder = page.get_by_test_id("filter-builder")
    builder.get_by_test_id("filter-clear").click()
    expect(rows(page)).to_have_count(6)
    page.get_by_test_id("filter-button").click()
    builder = page.get_by_test_id("filter-builder")
    builder.get_by_test_id("filter-field").select_option("tags")
    builder.get_by_test_id("filter-value").fill("even")
    builder.get_by_test_id("filter-add").click()
    second = builder.get_by_test_id("filter-row").nth(1)
    second.get_by_test_id("filter-field").select_option("state")
    second.get_by_test_id("filter-value").select_option("finished")
    builder.get_by_test_id("filter-apply").click()
    expect(rows(page)).to_have_count(3)
    assert sorted(names_in_order(page)) == ["alpha-0", "beta-2", "gamma-4"]
    wait_saved(page)
    page.reload()
    expect(rows(page)).to_have_count(3)


def test_group_by_config_draws_bands(ws: dict[str, Any], page: Any) -> None:
    page.get_by_test_id("group-by").select_option("config.optimizer")
    groups = page.get_by_test_id("group-row")
    expect(groups).to_have_count(2)
    labels = {g.get_attribute("data-group") for g in groups.all()}
    assert labels == {"adam", "sgd"}
    expect(page.get_by_test_id("chart-panels")).to_have_attribute("data-grouped", "true")
    loss = panel(page, "train/loss")
    expect(loss).to_have_attribute("data-lines", re.compile(r"^group:\S+,group:\S+$"))
    expect(loss).to_have_attribute("data-bands", "2")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (2 visualized)")
    screenshot(page, "workspace-grouped")

    # the band and the aggregate are selectable
    page.get_by_test_id("group-band").select_option("std")
    expect(loss).to_have_attribute("data-bands", "2")
    page.get_by_test_id("group-band").select_option("none")
    expect(loss).to_have_attribute("data-bands", "0")
    page.get_by_test_id("group-agg").select_option("median")

    # a group row expands into its runs; its eye hides the group's line
    page.locator('[data-testid="group-row"][data-group="sgd"]').get_by_test_id("group-toggle").click()
    expect(rows(page)).to_have_count(3)
    assert sorted(names_in_order(page)) == ["alpha-1", "beta-3", "gamma-5"]
    page.locator('[data-testid="group-row"][data-group="sgd"]').get_by_test_id("run-eye").click()
    expect(loss).to_have_attribute("data-lines", re.compile(r"^group:\S+$"))

    wait_saved(page)
    page.reload()
    expect(page.get_by_test_id("group-by")).to_have_value("config.optimizer")
    expect(page.get_by_test_id("group-row")).to_have_count(2)
    expect(page.get_by_test_id("group-agg")).to_have_value("median")

    # group by tags, then no grouping
    page.get_by_test_id("group-by").select_option("tags")
    expect(page.get_by_test_id("group-row")).to_have_count(2)
    page.get_by_test_id("group-by").select_option("")
    expect(rows(page)).to_have_count(6)


def test_expand_into_the_table_with_columns(ws: dict[str, Any], page: Any) -> None:
    page.get_by_test_id("expand-table").click()
    head = page.get_by_test_id("table-head")
    expect(head).to_be_visible()
    expect(page.get_by_test_id("charts-pane")).to_have_count(0)
    columns = [c.get_attribute("data-column") for c in head.get_by_test_id("column-head").all()]
    assert columns[:4] == ["name", "state", "created", "duration"]
    assert "config.lr" in columns

    page.get_by_test_id("columns-button").click()
    page.locator('[data-testid="column-option"][data-column="config.lr"]').check()
    page.locator('[data-testid="column-option"][data-column="summary.train/loss"]').check()
    page.keyboard.press("Escape")
    expect(head.locator('[data-column="config.lr"]')).to_be_visible()
    lr = row(page, "beta-2").locator('[data-column="config.lr"]')
    expect(lr).to_have_text("0.003")

    # header click sorts by the column (descending first for numbers)
    head.locator('[data-column="config.lr"]').click()
    expect(rows(page).first).to_have_attribute("data-run-name", "gamma-5")
    head.locator('[data-column="config.lr"]').click()
    expect(rows(page).first).to_have_attribute("data-run-name", "alpha-0")
    head.locator('[data-column="name"]').click()
    expect(rows(page).first).to_have_attribute("data-run-name", "alpha-0")
    screenshot(page, "workspace-table")

    wait_saved(page)
    page.reload()
    expect(page.get_by_test_id("table-head").locator('[data-column="summary.train/loss"]')).to_be_visible()
    page.get_by_test_id("expand-table").click()
    expect(page.get_by_test_id("charts-pane")).to_be_visible()


def _plot_box(page: Any, key: str) -> dict[str, float]:
    over = panel(page, key).locator(".u-over")
    expect(over).to_be_visible()  # drawn: a panel scrolled in is mounted, then drawn, a frame later
    box = over.bounding_box()
    assert box is not None
    return box


def test_zoom_log_smoothing_and_enlarge(ws: dict[str, Any], page: Any) -> None:
    loss = panel(page, "train/loss")
    expect(loss).to_have_attribute("data-points", "240")
    box = _plot_box(page, "train/loss")
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    expect(loss).to_have_attribute("data-zoomed", "true")
    expect(loss).to_have_attribute("data-loading", "false")
    zoomed_points = int(loss.get_attribute("data-points") or 0)
    assert 0 < zoomed_points < 240  # re-requested over the zoomed range only
    page.mouse.dblclick(box["x"] + box["width"] / 2, y)
    expect(loss).to_have_attribute("data-zoomed", "false")
    expect(loss).to_have_attribute("data-points", "240")

    # hover lists each run's value
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    tip = loss.get_by_test_id("chart-tip")
    expect(tip).to_be_visible()
    expect(tip.locator(".tip-row")).to_have_count(6)

    loss.get_by_test_id("log-toggle").click()
    expect(loss).to_have_attribute("data-log", "true")

    page.get_by_test_id("smoothing").select_option("ema")
    expect(loss).to_have_attribute("data-smoothing", "ema")

    page.get_by_test_id("x-axis").select_option("_runtime")
    expect(loss).to_have_attribute("data-x", "_runtime")
    page.get_by_test_id("x-axis").select_option("auto")
    expect(loss).to_have_attribute("data-x", "_step")

    loss.get_by_test_id("enlarge").click()
    modal = page.get_by_test_id("chart-modal")
    expect(modal.get_by_test_id("chart-panel")).to_have_attribute("data-points", "240")
    expect(modal.get_by_test_id("chart-legend")).to_contain_text("gamma-5")
    page.keyboard.press("Escape")
    expect(modal).to_have_count(0)

    # a collapsed section stays collapsed
    page.locator('[data-testid="chart-section"][data-section="val"]').get_by_test_id("section-toggle").click()
    expect(panel(page, "val/loss")).to_have_count(0)
    wait_saved(page)
    page.reload()
    expect(panel(page, "train/loss")).to_have_attribute("data-log", "true")
    expect(panel(page, "val/loss")).to_have_count(0)


def test_keyboard_focuses_search(ws: dict[str, Any], page: Any) -> None:
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.get_by_test_id("run-search")).to_be_focused()
    page.keyboard.type("alpha")
    expect(rows(page)).to_have_count(2)
    page.keyboard.press("Escape")
    expect(rows(page)).to_have_count(6)


def test_missing_project_shows_the_first_run_lines(seeded: dict[str, Any], page: Any) -> None:
    entity = _entity(seeded["url"])
    page.goto(f"{seeded['url']}/{entity}/nothing-here")
    hint = page.get_by_test_id("first-run-hint")
    expect(hint).to_be_visible()
    assert 'project="nothing-here"' in hint.inner_text()
