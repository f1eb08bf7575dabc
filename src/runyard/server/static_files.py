"""Serving the bundled web app: files from ``static/``, and ``index.html`` for every app route.

The app routes on the client (``/``, ``/acme/mnist``, ``/acme/mnist/runs/abc123``), so any GET that is not an
API call, the OpenAPI docs or an existing file answers with ``index.html``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["STATIC_DIR", "install_web_app"]

STATIC_DIR = Path(__file__).with_name("static")

_MISSING = """<!doctype html><meta charset="utf-8"><title>runyard</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>runyard</h1><p>The web app's bundle is missing from this installation
(<code>{path}</code>). Build it with <code>npm ci && npm run build</code> in <code>web/</code>, or install a
runyard release. The REST API works regardless: see <a href="/docs">/docs</a>.</p></body>"""


def install_web_app(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    """Serve the web app from ``static_dir`` at every path not taken by the API."""
    root = static_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def _web_app(path: str, request: Request) -> Response:
        if path == "api" or path.startswith("api/"):
            raise StarletteHTTPException(404)  # an unknown API path is an API error, not the app
        if path:
            candidate = (root / path).resolve()
            if candidate.is_file() and candidate.is_relative_to(root):
                # Hashed asset names never change content: cache them for good.
                immutable = candidate.parent.name == "assets"
                headers = {"Cache-Control": "public, max-age=31536000, immutable"} if immutable else {}
                return FileResponse(candidate, headers=headers)
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_MISSING.format(path=index), status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
