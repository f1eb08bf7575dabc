"""The dark theme in a real browser: it follows the system's setting, the top bar's toggle overrides it (kept
across reloads), and the workspace reads dark."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import screenshot
from .test_workspace import panel, seeded, ws  # noqa: F401  (fixtures)


def _background(page: Any, selector: str) -> tuple[int, int, int]:
    css = page.locator(selector).first.evaluate("e => getComputedStyle(e).backgroundColor")
    r, g, b = (int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return r, g, b


def _dark(rgb: tuple[int, int, int]) -> bool:
    return sum(rgb) / 3 < 80


def test_dark_theme_follows_the_system_and_the_toggle(seeded: dict[str, Any], browser: Any) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    page = context.new_page()
    try:
        from .test_workspace import _entity

        url = f"{seeded['url']}/{_entity(seeded['url'])}/ws"
        page.goto(url)
        expect(page.get_by_test_id("workspace-page")).to_have_attribute("data-ready", "true")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert _dark(_background(page, ".runs-pane"))
        assert _dark(_background(page, "body"))
        expect(panel(page, "train/loss")).to_have_attribute("data-points", "240")
        screenshot(page, "workspace-dark")

        # the toggle: system → light → dark → system; a choice is kept across reloads
        toggle = page.get_by_test_id("theme-toggle")
        expect(toggle).to_have_attribute("data-choice", "system")
        toggle.click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        assert not _dark(_background(page, ".runs-pane"))
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        page.get_by_test_id("theme-toggle").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.get_by_test_id("theme-toggle").click()
        expect(page.get_by_test_id("theme-toggle")).to_have_attribute("data-choice", "system")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")  # the system's, again
        page.emulate_media(color_scheme="light")
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
    finally:
        context.close()
