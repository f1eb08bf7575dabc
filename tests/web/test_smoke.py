"""The app loads in a real browser from a real server."""

from __future__ import annotations

from typing import Any


def test_app_shell_loads(server: str, page: Any) -> None:
    page.goto(server + "/")
    page.get_by_test_id("projects-page").wait_for()
    assert page.locator(".logo").inner_text() == "runyard"
