"""The FastAPI application: REST API under ``/api/v1``, OpenAPI at ``/docs``, the web app everywhere else.

``/docs`` is Swagger UI served from the package (``fastapi-offline`` ships its files), never from a CDN: a
self-hosted server often has no way out to the internet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from runyard.errors import UsageError
from runyard.server.auth import KeyCache
from runyard.server.bodies import BodyLimit
from runyard.server.deps import User, local_user
from runyard.server.encoding import ApiResponse
from runyard.server.errors import install_error_handlers
from runyard.server.identity import CsrfGuard, Identities
from runyard.server.origins import OriginGuard, OriginPolicy
from runyard.server.routes import api_router
from runyard.server.routes.ingest import PATH_PREFIX as INGEST_PREFIX
from runyard.server.sso.config import OidcSettings
from runyard.server.static_files import STATIC_DIR, install_web_app
from runyard.server.wandb import PROTOCOL_PREFIXES, wandb_router
from runyard.store import Store

__all__ = ["DOCS_ASSETS", "create_app"]

DOCS_ASSETS = "/docs-assets"
"""Where the Swagger UI files of ``/docs`` are served."""


def create_app(
    store: Store,
    *,
    user: User | None = None,
    static_dir: Path | None = None,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    bind_host: str | None = None,
    accounts: bool = False,
    oidc: OidcSettings | None = None,
    public_url: str | None = None,
) -> FastAPI:
    """The runyard web server over ``store``.

    Args:
        store: the store to serve; the caller opens it and closes it after the app stops.
        user: the single local user every request acts as (local mode); team login replaces this.
        static_dir: where the built web app lies (default: the bundle shipped in the package).
        allowed_hosts: host names the server answers to beyond IP addresses, ``localhost`` and this
            machine's name (see :class:`~runyard.server.origins.OriginPolicy`).
        allowed_origins: origins beyond the server's own whose pages may change state.
        bind_host: the address the server listens on (allowed as a host name).
        accounts: a team server (``runyard server``): every request is a signed-in user, an API key's owner or
            an anonymous visitor (see docs/accounts.md). False: local mode (``runyard ui``), every request is
            ``user``.
        oidc: the single sign-on providers users may sign in with (see :mod:`runyard.server.sso.config`).
        public_url: the address users reach the server at; an ``https`` one makes the session cookies
            ``Secure``, and the single sign-on providers' callback URLs name it.
    """
    from runyard import __version__

    app = FastAPIOffline(
        title="runyard",
        version=__version__,
        description="Experiment tracking runs: projects, runs, history, console, system metrics, files.",
        docs_url="/docs",
        redoc_url=None,
        static_url=DOCS_ASSETS,
        openapi_url="/api/v1/openapi.json",
        # No badge from validator.swagger.io: the page loads nothing from outside the server.
        swagger_ui_parameters={"validatorUrl": None},
        default_response_class=ApiResponse,  # NaN and infinities as strings, everywhere
    )
    app.state.store = store
    app.state.key_cache = KeyCache(store)  # one per app: the ingest API and the wandb protocol share it
    app.state.local_user = user or local_user()
    app.state.accounts = accounts
    app.state.public_url = public_url
    app.state.identities = Identities(store)  # accounts mode: users, keys and sessions, briefly remembered
    app.state.sso = None
    app.state.oidc_providers = []
    if oidc is not None and oidc.providers:
        if not accounts:
            raise UsageError("single sign-on signs users in to accounts: it needs `runyard server`, not `runyard ui`")
        from runyard.server.sso.service import SsoService

        app.state.sso = SsoService(oidc, public_url=public_url)
        app.state.oidc_providers = app.state.sso.listed()  # /me lists them for the login page
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(wandb_router)  # the wandb client's protocol: /graphql, /files/.../file_stream, /wandb/
    install_web_app(app, static_dir or STATIC_DIR)  # last: it answers every path the API does not
    # The middleware added last runs first: a request from the wrong host or site is refused before its body is
    # looked at; then bodies are bounded. Authentication (server/deps.py) comes after both.
    if accounts:
        app.add_middleware(CsrfGuard, ids=app.state.identities)
    app.add_middleware(BodyLimit)
    policy = OriginPolicy(allowed_hosts, allowed_origins, (*PROTOCOL_PREFIXES, INGEST_PREFIX), bind_host)
    app.add_middleware(OriginGuard, policy=policy)
    return app
