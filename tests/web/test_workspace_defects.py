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

from .test_workspace import _api, panel, row, rows, seeded, wait_saved, ws  # noqa: F401  (fixtures)


@pytest.fixture
def opened(request: pytest.FixtureRequest) -> dict[str, Any]:
    """test_workspace's ``ws``: a fresh workspace over the seeded store, opened in the page."""
    return request.getfixturevalue("ws")  # type: ignore[no-any-return]


def test_panels_show_a_legend_of_their_lines_that_can_be_turned_off(opened: dict[str, Any], page: Any) -> None:
    ids = opened["ids"]
    loss = panel(page, "train/loss")
    legend = loss.get_by_test_id("legend-item")
    expect(legend).to_have_count(6)
    labels = {item.get_attribute("data-line"): item.inner_text() for item in legend.all()}
    assert labels == {run_id: name for name, run_id in ids.items()}
    # the legend's colours are the lines' and the sidebar's
    swatch = row(page, "beta-2").get_by_test_id("run-color").evaluate("e => getComputedStyle(e).backgroundColor")
    item = loss.locator(f'[data-testid="legend-item"][data-line="{ids["beta-2"]}"] .legend-swatch')
    assert item.evaluate("e => getComputedStyle(e).backgroundColor") == swatch

    # grouped: one entry per group
    page.get_by_test_id("group-by").select_option("config.optimizer")
    expect(loss.get_by_test_id("legend-item")).to_have_count(2)
    expect(loss.get_by_test_id("chart-legend")).to_contain_text("adam")
    expect(loss.get_by_test_id("chart-legend")).to_contain_text("sgd")

    # toggled off, saved with the workspace
    page.get_by_test_id("legend-toggle").uncheck()
    expect(page.get_by_test_id("chart-legend")).to_have_count(0)
    wait_saved(page)
    page.reload()
    expect(panel(page, "train/loss")).to_have_attribute("data-lines", re.compile("."))
    expect(page.get_by_test_id("chart-legend")).to_have_count(0)
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
