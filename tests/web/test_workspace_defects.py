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
