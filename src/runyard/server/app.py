"""The FastAPI application: REST API under ``/api/v1``, OpenAPI at ``/docs``, the web app everywhere else."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runyard.server.auth import KeyCache
from runyard.server.deps import User, local_user
from runyard.server.encoding import ApiResponse
from runyard.server.errors import install_error_handlers
from runyard.server.routes import api_router
from runyard.server.static_files import STATIC_DIR, install_web_app
from runyard.server.wandb import wandb_router
from runyard.store import Store

__all__ = ["create_app"]


def create_app(store: Store, *, user: User | None = None, static_dir: Path | None = None) -> FastAPI:
    """The runyard web server over ``store``.

    Args:
        store: the store to serve; the caller opens it and closes it after the app stops.
        user: the single local user every request acts as (local mode); team login replaces this.
        static_dir: where the built web app lies (default: the bundle shipped in the package).
    """
    from runyard import __version__

    app = FastAPI(
        title="runyard",
        version=__version__,
        description="Experiment tracking runs: projects, runs, history, console, system metrics, files.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        default_response_class=ApiResponse,  # NaN and infinities as strings, everywhere
    )
    app.state.store = store
    app.state.key_cache = KeyCache(store)  # one per app: the ingest API and the wandb protocol share it
    app.state.local_user = user or local_user()
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(wandb_router)  # the wandb client's protocol: /graphql, /files/.../file_stream, /wandb/
    install_web_app(app, static_dir or STATIC_DIR)  # last: it answers every path the API does not
    return app
