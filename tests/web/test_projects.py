"""The projects page in a real browser: the empty state, the list, search by name, through to a workspace."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from runyard.store import Store

from .conftest import log_run, screenshot


def test_empty_store_shows_the_first_run_lines(server: str, page: Any) -> None:
    page.goto(server + "/")
    hint = page.get_by_test_id("first-run-hint")
    expect(hint).to_be_visible()
    text = hint.inner_text()
    assert "import runyard as wandb" in text
    assert "wandb.init(" in text
    assert "run.log(" in text
    assert page.get_by_test_id("projects-table").count() == 0


def test_list_search_and_open_a_project(server: str, store_url: str, page: Any) -> None:
    log_run("mnist-baseline", "a", steps=3)
    log_run("mnist-baseline", "b", steps=3)
    log_run("Vision-Transformer", "c", steps=3)
    with Store.open(store_url) as store:
        expected = {p.name: p for p in store.list_projects()}
    assert set(expected) == {"mnist-baseline", "Vision-Transformer"}

    page.goto(server + "/")
    rows = page.get_by_test_id("project-row")
    expect(rows).to_have_count(2)
    # most recent activity first, with the run counts the store holds
    assert rows.nth(0).get_attribute("data-project") == "Vision-Transformer"
    for name, project in expected.items():
        row = page.locator(f'[data-testid="project-row"][data-project="{name}"]')
        expect(row.get_by_test_id("project-runs")).to_have_text(str(project.run_count))
        expect(row.get_by_test_id("project-activity")).to_have_text("just now")
    expect(page.get_by_test_id("projects-count")).to_have_text("2 projects")
    screenshot(page, "projects")

    # the search is the server's (case-insensitive substring), and lives in the URL
    page.keyboard.press("/")
    page.keyboard.type("vision")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-project", "Vision-Transformer")
    expect(page).to_have_url(re.compile(r"\?search=vision$"))
    page.reload()
    expect(page.get_by_test_id("projects-search")).to_have_value("vision")
    expect(rows).to_have_count(1)

    page.get_by_test_id("projects-search").fill("no-such-project")
    expect(page.get_by_test_id("empty")).to_contain_text("No project matches")
    page.get_by_test_id("projects-clear").click()
    expect(rows).to_have_count(2)

    # Enter opens the selected match, a click opens any project: its workspace
    entity = expected["mnist-baseline"].entity
    search = page.get_by_test_id("projects-search")
    search.fill("MNIST")
    expect(rows).to_have_count(1)
    search.press("Enter")
    # the workspace may already have written its view (?s=...) into the URL: the path is what Enter chose
    expect(page).to_have_url(re.compile(rf"^{re.escape(f'{server}/{entity}/mnist-baseline')}(\?[^/]*)?$"))
    expect(page.get_by_test_id("workspace-page")).to_be_visible()
    page.go_back()
    search.fill("")
    expect(rows).to_have_count(2)
    page.locator('[data-project="Vision-Transformer"]').get_by_test_id("project-link").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(f'{server}/{entity}/Vision-Transformer')}(\?[^/]*)?$"))
