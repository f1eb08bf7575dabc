"""The app loads in a real browser from a real server."""

from __future__ import annotations

from typing import Any


def test_app_shell_loads(server: str, page: Any) -> None:
    page.goto(server + "/")
    page.get_by_test_id("projects-page").wait_for()
    assert page.locator(".logo").inner_text() == "runyard"


def test_api_docs_render_without_internet(server: str, page: Any) -> None:
    """``/docs`` (Swagger UI) renders with every request answered by the server itself: offline machines too."""
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(server + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("runyard")
    page.locator(".opblock-tag", has_text="runs").first.wait_for()
    assert outside == []
