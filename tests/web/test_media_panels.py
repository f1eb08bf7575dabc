"""Media panels in a real browser: images with a step slider and zoom, histogram heat maps, tables paged by the
server, audio, video, sandboxed Html and custom charts, in the workspace and on the run page; media keys never
drawn as line charts; 200 media panels stay lazily mounted. Screenshots of each panel kind go to test-artifacts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from media_records import ENTITY, media_run
from runyard.store import Store

from .conftest import screenshot

PROJECT = "media"


@pytest.fixture
def seeded(server: str, store_url: str) -> str:
    with Store.open(store_url) as store:
        for i in range(3):
            store.ingest(media_run(PROJECT, f"run{i}", steps=6, seed=i, table_rows=120))
    return server


def media_panel(page: Any, key: str) -> Any:
    return page.locator(f'[data-testid="media-panel"][data-key="{key}"]')


def open_workspace(page: Any, base: str) -> None:
    page.goto(f"{base}/{ENTITY}/{PROJECT}")
    expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")


def test_workspace_shows_a_panel_per_media_key_and_no_empty_line_charts(seeded: str, page: Any) -> None:
    open_workspace(page, seeded)
    expect(media_panel(page, "img")).to_have_attribute("data-kind", "image")
    kinds = {
        "img": "image",
        "grid": "image",
        "weights": "histogram",
        "samples": "table",
        "sound": "audio",
        "clip": "video",
        "page": "html",
        "squares": "plot",
        "confusion": "plot",
    }
    for key, kind in kinds.items():
        expect(media_panel(page, key)).to_have_attribute("data-kind", kind)
    # the plots' tables are drawn by their plots; media keys never become line charts
    expect(media_panel(page, "squares_table")).to_have_count(0)
    line_keys = page.get_by_test_id("chart-panel").evaluate_all("els => els.map(e => e.dataset.key)")
    assert line_keys == ["loss"]


def test_image_panel_slider_runs_side_by_side_and_zoom(seeded: str, page: Any) -> None:
    open_workspace(page, seeded)
    img = media_panel(page, "img")
    img.scroll_into_view_if_needed()
    expect(img.get_by_test_id("media-run")).to_have_count(3)
    expect(img.get_by_test_id("media-step")).to_have_text("step 5")
    images = img.get_by_test_id("media-image")
    expect(images).to_have_count(3)
    expect(img.locator(".media-caption").first).to_have_text(re.compile(r"run\d step 5"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-key=img] [data-testid=media-image]')]"
        ".every(i => i.complete && i.naturalWidth === 24)"
    )
    slider = img.get_by_test_id("step-slider")
    slider.fill("2")
    expect(img.get_by_test_id("media-step")).to_have_text("step 2")
    expect(img.locator(".media-caption").first).to_have_text(re.compile(r"run\d step 2"))
    grid = media_panel(page, "grid")
    grid.scroll_into_view_if_needed()
    expect(grid.get_by_test_id("media-image")).to_have_count(6)  # two images a run
    img.scroll_into_view_if_needed()
    screenshot(page, "media-image-panel")
    images.first.click()
    zoom = page.get_by_test_id("media-zoom")
    expect(zoom).to_be_visible()
    expect(zoom.locator("img")).to_have_attribute("src", re.compile(r"/files/media/images/img_2_"))
    screenshot(page, "media-image-zoom")
    page.keyboard.press("Escape")
    expect(zoom).to_have_count(0)


def test_histogram_table_players_html_and_plots(seeded: str, page: Any) -> None:
    open_workspace(page, seeded)
    hist = media_panel(page, "weights")
    hist.scroll_into_view_if_needed()
    canvases = hist.get_by_test_id("hist-canvas")
    expect(canvases).to_have_count(3)
    expect(canvases.first).to_have_attribute("data-rows", "6")
    # the heat map is painted: its pixels are not all white
    painted = canvases.first.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 250) n++; return n; }"
    )
    assert painted > 6 * 10
    screenshot(page, "media-histogram-panel")

    table = media_panel(page, "samples")
    table.scroll_into_view_if_needed()
    expect(table.get_by_test_id("table-count")).to_have_text("120 rows")
    expect(table.get_by_test_id("table-row")).to_have_count(50)
    expect(table.get_by_test_id("cell-image").first).to_be_visible()
    table.get_by_test_id("table-col").nth(2).click()  # score, ascending
    expect(table.locator("tbody tr").first.locator("td").nth(2)).to_have_text("0")
    table.get_by_test_id("table-col").nth(2).click()  # descending
    top = max(round(((i * 7919) % 1000) / 1000, 3) for i in range(120))  # as media_records.table_json scores
    expect(table.locator("tbody tr").first.locator("td").nth(2)).to_have_text(str(top))
    table.get_by_test_id("table-filter").fill("class-1")
    expect(table.get_by_test_id("table-count")).to_have_text("40 rows")
    table.get_by_test_id("table-filter").fill("")
    expect(table.get_by_test_id("table-count")).to_have_text("120 rows")
    table.get_by_test_id("table-next").click()
    expect(table.get_by_test_id("table-range")).to_have_text("51–100")
    screenshot(page, "media-table-panel")

    sound = media_panel(page, "sound")
    sound.scroll_into_view_if_needed()
    expect(sound.get_by_test_id("media-audio")).to_have_count(3)
    screenshot(page, "media-audio-panel")
    clip = media_panel(page, "clip")
    clip.scroll_into_view_if_needed()
    expect(clip.get_by_test_id("media-video")).to_have_count(3)
    screenshot(page, "media-video-panel")

    html = media_panel(page, "page")
    html.scroll_into_view_if_needed()
    frame = html.get_by_test_id("media-html").first
    expect(frame).to_have_attribute("sandbox", "allow-scripts")  # never allow-same-origin
    content = frame.content_frame
    expect(content.locator("h1")).to_have_text("hello runyard")
    expect(content.locator("h1")).to_have_attribute("data-ran", "1")  # its script ran, in its own origin
    origin = frame.evaluate("f => { try { return f.contentWindow.document.title; } catch (e) { return 'blocked'; } }")
    assert origin == "blocked"
    screenshot(page, "media-html-panel")

    squares = media_panel(page, "squares")
    squares.scroll_into_view_if_needed()
    expect(squares.get_by_test_id("plot-body")).to_have_attribute("data-preset", "wandb/line/v0")
    expect(squares.get_by_test_id("plot-uplot").locator("canvas")).to_have_count(1)
    confusion = media_panel(page, "confusion")
    confusion.scroll_into_view_if_needed()
    expect(confusion.get_by_test_id("plot-confusion")).to_be_visible()
    screenshot(page, "media-custom-plots")


def test_run_page_charts_tab_has_the_media_panels(seeded: str, page: Any) -> None:
    page.goto(f"{seeded}/{ENTITY}/{PROJECT}/runs/run1?tab=charts")
    img = media_panel(page, "img")
    expect(img.get_by_test_id("media-run")).to_have_count(1)
    expect(img.get_by_test_id("media-run")).to_have_attribute("data-run", "run1")
    screenshot(page, "media-run-page")
    weights = media_panel(page, "weights")
    weights.scroll_into_view_if_needed()  # panels off screen hold no content until they come near it
    expect(weights.get_by_test_id("hist-canvas")).to_have_count(1)


def test_two_hundred_media_panels_mount_lazily(server: str, store_url: str, page: Any) -> None:
    keys = [f"media/img{i:03d}" for i in range(200)]
    with Store.open(store_url) as store:
        records = media_run(PROJECT, "wide", steps=1)
        row = next(r for r in records if r[1] == "row")
        for key in keys:
            row[2][key] = row[2]["img"]
        store.ingest(records)
    open_workspace(page, server)
    panels = page.locator('[data-testid="media-panel"][data-key^="media/img"]')
    expect(panels).to_have_count(200)

    def lazy(i: int) -> Any:
        return page.locator(f'[data-testid="media-panel"][data-key="media/img{i:03d}"] .media-lazy')

    mounted = page.locator('[data-testid="media-panel"][data-key^="media/img"] .media-lazy[data-mounted="true"]')
    expect(lazy(0)).to_have_attribute("data-mounted", "false")  # below the first section: not mounted yet
    lazy(0).scroll_into_view_if_needed()
    expect(lazy(0)).to_have_attribute("data-mounted", "true")
    expect(lazy(0).get_by_test_id("media-image")).to_have_count(1)
    assert 0 < mounted.count() < 60  # only the panels on (or near) the screen hold content
    expect(lazy(199)).to_have_attribute("data-mounted", "false")
    lazy(199).scroll_into_view_if_needed()
    expect(lazy(199)).to_have_attribute("data-mounted", "true")
    expect(lazy(0)).to_have_attribute("data-mounted", "false")  # left behind: unmounted again
    assert 0 < mounted.count() < 60
    screenshot(page, "media-200-panels")
