"""Single sign-on endpoints: ``GET /auth/oidc/{provider}/login`` sends the browser to the provider,
``GET /auth/oidc/{provider}/callback`` takes it back, signs the user in and goes on to the page they came from.

Both are pages a browser opens, so failures answer a short HTML page saying what went wrong and what to do
(400 for a sign-in that cannot finish, 404 for an unknown provider, 502 when the provider cannot be reached).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from runyard.server.sso.state import COOKIE, MAX_AGE_S, LoginState, StateError

if TYPE_CHECKING:
    from runyard.server.sso.service import SsoService

__all__ = ["router"]

router = APIRouter(tags=["accounts"])
_COOKIE_PATH = "/api/v1/auth/oidc/"


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    """A small page for a browser that cannot be signed in, with a way back to the login page."""
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>runyard: {html.escape(title)}</title></head>"
        "<body style='font-family:system-ui,sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1>{html.escape(title)}</h1><p id='sso-error'>{html.escape(message)}</p>"
        "<p><a href='/login'>Back to the login page</a></p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _service(request: Request) -> SsoService | None:
    return getattr(request.app.state, "sso", None)


def _next_path(raw: str | None) -> str:
    # Only a path on this server: an absolute or scheme-relative URL would make the login an open redirect.
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _secure(request: Request, service: SsoService) -> bool:
    base = service.public_url or str(request.base_url)
    return base.lower().startswith("https://")


@router.get("/auth/oidc/{provider}/login", response_class=HTMLResponse, include_in_schema=True)
async def oidc_login(request: Request, provider: str, next: str | None = None) -> Response:
    """Send the browser to ``provider`` to sign in; it comes back to the callback."""
    service = _service(request)
    client = service.clients.get(provider) if service else None
    if service is None or client is None:
        known = ", ".join(service.clients) if service and service.clients else "none configured"
        return error_page(404, "Unknown sign-in provider", f"no single sign-on provider {provider!r} (known: {known})")
    from runyard.server.sso.flow import SsoError

    login = LoginState.new(provider, _next_path(next))
    redirect_uri = service.callback_url(provider, str(request.base_url))
    try:
        url = await run_in_threadpool(client.authorization_url, login, redirect_uri)
    except SsoError as exc:
        return error_page(exc.status, "Sign-in is unavailable", exc.message)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        COOKIE,
        service.signer.dump(login),
        max_age=MAX_AGE_S,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET from its site: Lax lets the cookie ride
        secure=_secure(request, service),
    )
    return response


@router.get("/auth/oidc/{provider}/callback", response_class=HTMLResponse, include_in_schema=True)
async def oidc_callback(
    request: Request,
    provider: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Finish a sign-in at ``provider``: check the state, trade the code, verify the ID token, sign the user in."""
    service = _service(request)
    client = service.clients.get(provider) if service else None
    if service is None or client is None:
        return error_page(404, "Unknown sign-in provider", f"no single sign-on provider {provider!r}")
    from runyard.server.sso.flow import SsoError
    from runyard.server.sso.sign_in import sign_in

    if error:
        detail = f": {error_description}" if error_description else ""
        return _clear(
            error_page(
                400,
                "Sign-in was not completed",
                f"{client.provider.label} answered {error}{detail}. Start again from the login page",
            )
        )
    try:
        login = service.signer.load(request.cookies.get(COOKIE), provider, state)
    except StateError as exc:
        return _clear(error_page(400, "Sign-in refused", str(exc)))
    if not code:
        return _clear(error_page(400, "Sign-in refused", f"{client.provider.label} sent no sign-in code back"))
    redirect_uri = service.callback_url(provider, str(request.base_url))
    try:
        identity = await run_in_threadpool(client.finish, login, code, redirect_uri)
        response = RedirectResponse(login.next, status_code=303)
        await run_in_threadpool(sign_in, request, response, identity)
    except SsoError as exc:
        return _clear(error_page(exc.status, "Sign-in refused", exc.message))
    return _clear(response)


def _clear(response: Response) -> Response:
    # The state is for one callback: gone after it, whatever happened.
    response.delete_cookie(COOKIE, path=_COOKIE_PATH)
    return response
