"""Workspace defects seen by users, in a real browser: panel legends, live refresh against inputs being edited,
the expanded runs table (pinned name column, default columns, reordering, group aggregates), number formats.

Uses test_workspace's module-scoped seeded store (six finished runs in project ``ws``); each test starts from an
empty saved workspace.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_workspace import _api, panel, row, rows, seeded, wait_saved, ws  # noqa: F401  (fixtures)


@pytest.fixture
def opened(request: pytest.FixtureRequest) -> dict[str, Any]:
    """test_workspace's ``ws``: a fresh workspace over the seeded store, opened in the page."""
    return request.getfixturevalue("ws")  # type: ignore[no-any-return]


def test_panels_show_a_legend_of_their_lines_that_can_be_turned_off(opened: dict[str, Any], page: Any) -> None:
    ids = opened["ids"]
    loss = panel(page, "train/loss")
    legend = loss.get_by_test_id("panel-legend-item")
    expect(legend).to_have_count(6)
    labels = {item.get_attribute("data-line"): item.inner_text() for item in legend.all()}
    assert labels == {run_id: name for name, run_id in ids.items()}
    # the legend's colours are the lines' and the sidebar's
    swatch = row(page, "beta-2").get_by_test_id("run-color").evaluate("e => getComputedStyle(e).backgroundColor")
    item = loss.locator(f'[data-testid="panel-legend-item"][data-line="{ids["beta-2"]}"] .pl-swatch')
    assert item.evaluate("e => getComputedStyle(e).backgroundColor") == swatch

    # grouped: one entry per group
    page.get_by_test_id("group-by").select_option("config.optimizer")
    expect(loss.get_by_test_id("panel-legend-item")).to_have_count(2)
    expect(loss.get_by_test_id("panel-legend")).to_contain_text("adam")
    expect(loss.get_by_test_id("panel-legend")).to_contain_text("sgd")

    # toggled off, saved with the workspace
    page.get_by_test_id("legend-toggle").uncheck()
    expect(page.get_by_test_id("panel-legend")).to_have_count(0)
    wait_saved(page)
    page.reload()
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", re.compile("."))
    expect(page.get_by_test_id("panel-legend")).to_have_count(0)
    expect(page.get_by_test_id("legend-toggle")).not_to_be_checked()


def _next_refresh(page: Any) -> None:
    """Wait for the workspace's next live refresh to have been answered (and rendered)."""
    with page.expect_response(lambda r: r.url.endswith("/runs/query"), timeout=20_000):
        pass
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_live_refresh_never_overwrites_a_number_being_typed(opened: dict[str, Any], page: Any) -> None:
    box = page.get_by_test_id("max-runs")
    expect(box).to_have_value("10")
    box.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    # the periodic refresh comes and goes while the box still holds the typing
    _next_refresh(page)
    _next_refresh(page)
    expect(box).to_have_value("3")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (6 visualized)")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (3 visualized)")
    page.keyboard.type("0")  # "30": more than there are runs
    _next_refresh(page)
    expect(box).to_have_value("30")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("run-count")).to_have_text("6 (6 visualized)")
    expect(box).to_have_value("30")

    # the smoothing window, the other number box in the panels' toolbar
    page.get_by_test_id("smoothing").select_option("avg")
    window = page.get_by_test_id("smoothing-window")
    window.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("25")
    _next_refresh(page)
    expect(window).to_have_value("25")
    page.keyboard.press("Enter")
    wait_saved(page)
    saved = _api(opened["url"], "GET", f"/projects/{opened['entity']}/ws/workspace")["settings"]
    assert saved["maxRuns"] == 30
    assert saved["chart"]["smoothing"]["window"] == 25


def _columns(page: Any) -> list[str]:
    head = page.get_by_test_id("table-head")
    return [c.get_attribute("data-column") for c in head.get_by_test_id("column-head").all()]


def test_expanded_table_columns_pinned_name_reorder_and_group_aggregates(opened: dict[str, Any], page: Any) -> None:
    page.set_viewport_size({"width": 900, "height": 800})
    page.get_by_test_id("expand-table").click()
    expect(page.get_by_test_id("table-head")).to_be_visible()
    # it opens with the project's config and summary keys as columns
    columns = _columns(page)
    assert columns[:4] == ["name", "state", "created", "duration"]
    assert {"config.lr", "config.optimizer", "config.depth"} <= set(columns)
    assert "summary.train/loss" in columns
    expect(row(page, "beta-2").locator('[data-column="config.lr"]')).to_have_text("0.003")

    # scrolled sideways, the name column stays pinned and readable beside the colour and eye controls
    listing = page.get_by_test_id("run-list")
    listing.evaluate("e => { e.scrollLeft = 500; }")
    page.wait_for_function("() => document.querySelector('[data-testid=run-list]').scrollLeft > 0")
    name = row(page, "beta-2").locator(".cell-name")
    box = name.bounding_box()
    controls = row(page, "beta-2").locator(".row-controls").bounding_box()
    assert box["x"] >= controls["x"] + controls["width"] - 1
    top = name.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " const hit = document.elementFromPoint(r.left + 8, r.top + r.height / 2);"
        " return !!hit && e.contains(hit); }"
    )
    assert top, "the pinned name is covered"
    listing.evaluate("e => { e.scrollLeft = 0; }")

    # columns move left and right, and the order is saved
    lr = page.get_by_test_id("table-head").locator('[data-column="config.lr"]')
    before = _columns(page)
    at = before.index("config.lr")
    lr.hover()
    lr.get_by_test_id("column-left").click()
    after = _columns(page)
    assert after.index("config.lr") == at - 1
    assert sorted(after) == sorted(before)
    expect(row(page, "beta-2").locator(".cell").nth(at - 1)).to_have_text("0.003")
    lr.hover()
    lr.get_by_test_id("column-right").click()
    lr.hover()
    lr.get_by_test_id("column-right").click()
    moved = _columns(page)
    assert moved.index("config.lr") == at + 1
    wait_saved(page)
    page.reload()
    expect(page.get_by_test_id("table-head")).to_be_visible()
    assert _columns(page) == moved

    # grouped, the group rows show the mean ± std of their runs' numbers
    page.get_by_test_id("group-by").select_option("config.optimizer")
    adam = page.locator('[data-testid="group-row"][data-group="adam"]')
    sgd = page.locator('[data-testid="group-row"][data-group="sgd"]')
    expect(adam.locator('[data-column="config.lr"]')).to_have_text("0.003 ± 0.001633")
    expect(sgd.locator('[data-column="config.lr"]')).to_have_text("0.004 ± 0.001633")
    expect(adam.locator('[data-column="config.depth"]')).to_have_text("12 ± 1.633")
    expect(adam.get_by_test_id("group-count")).to_have_text("3")
    agg = adam.locator('[data-column="config.lr"] [data-testid="group-agg"]')
    assert "over 3 runs" in (agg.get_attribute("title") or "")
    page.set_viewport_size({"width": 1400, "height": 900})
    screenshot(page, "workspace-table-grouped")


def test_the_view_lives_in_the_url_back_undoes_and_a_link_shares_it(opened: dict[str, Any], page: Any) -> None:
    ids = opened["ids"]
    expect(rows(page)).to_have_count(6)
    page.get_by_test_id("run-search").fill("beta|gamma")
    expect(rows(page)).to_have_count(4)
    expect(page).to_have_url(re.compile(r"[?&]q=beta%7Cgamma"))
    page.get_by_test_id("group-by").select_option("config.optimizer")
    expect(page.get_by_test_id("group-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]g=config.optimizer"))
    page.get_by_test_id("group-by").select_option("")
    expect(rows(page)).to_have_count(4)
    row(page, "beta-3").get_by_test_id("run-eye").click()
    expect(page).to_have_url(re.compile(rf"[?&]h={ids['beta-3']}"))
    shared = page.url

    # Back undoes one change at a time
    page.go_back()
    expect(row(page, "beta-3")).to_have_attribute("data-hidden", "false")
    page.go_back()
    expect(page.get_by_test_id("group-row")).to_have_count(2)
    page.go_back()
    expect(page.get_by_test_id("group-row")).to_have_count(0)
    expect(rows(page)).to_have_count(4)
    page.go_back()
    expect(rows(page)).to_have_count(6)
    expect(page.get_by_test_id("run-search")).to_have_value("")
    page.go_forward()
    expect(rows(page)).to_have_count(4)
    expect(page.get_by_test_id("run-search")).to_have_value("beta|gamma")

    # a link opens its view, whatever the saved workspace holds
    wait_saved(page)
    _api(opened["url"], "PUT", f"/projects/{opened['entity']}/ws/workspace", {"settings": {}})
    other = page.context.new_page()
    other.goto(shared)
    expect(other.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")
    expect(other.get_by_test_id("run-search")).to_have_value("beta|gamma")
    expect(other.get_by_test_id("run-row")).to_have_count(4)
    hidden = other.locator(f'[data-testid="run-row"][data-run-id="{ids["beta-3"]}"]')
    expect(hidden).to_have_attribute("data-hidden", "true")
    other.close()


def test_compare_runs_shows_only_what_differs(opened: dict[str, Any], page: Any) -> None:
    ids = opened["ids"]
    for name in ("alpha-1", "beta-3", "gamma-4", "gamma-5"):
        row(page, name).get_by_test_id("run-eye").click()
    expect(page.get_by_test_id("run-count")).to_have_text("6 (2 visualized)")
    page.get_by_test_id("compare-button").click()
    dialog = page.get_by_test_id("compare")
    runs = [h.get_attribute("data-run-id") for h in dialog.get_by_test_id("compare-run").all()]
    assert sorted(runs) == sorted([ids["alpha-0"], ids["beta-2"]])
    keys = {r.get_attribute("data-key") for r in dialog.get_by_test_id("compare-row").all()}
    # alpha-0 and beta-2 share the optimizer (adam) and the final train/acc: only lr, depth and the losses differ
    assert keys == {"config.depth", "config.lr", "summary.train/loss", "summary.val/loss"}, keys
    lr = dialog.locator('[data-testid="compare-row"][data-key="config.lr"] td')
    values = {runs[i]: lr.nth(i).inner_text() for i in range(2)}
    assert values == {ids["alpha-0"]: "0.001", ids["beta-2"]: "0.003"}
    dialog.get_by_test_id("compare-all").check()
    expect(dialog.locator('[data-testid="compare-row"][data-key="config.optimizer"]')).to_have_count(1)
    expect(dialog.locator('[data-testid="compare-row"][data-key="summary.train/acc"]')).to_have_count(1)
    screenshot(page, "workspace-compare")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
