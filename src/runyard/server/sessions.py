"""Browser sessions: start one (set its cookies) and end one. Password sign-in, the first admin's setup,
invitations and single sign-on all finish with :func:`start_session`.

Cookies: ``runyard_session`` (HttpOnly: page scripts cannot read it) holds the session's token, of which the
store keeps only a hash; ``runyard_csrf`` (readable by runyard's page, which echoes it in ``X-CSRF-Token``)
holds the CSRF token bound to the session. Both are ``SameSite=Lax`` and ``Secure`` when the server is reached
over https (its public URL, or the request itself).
"""

from __future__ import annotations

from fastapi import Request, Response

from runyard.server.identity import CSRF_COOKIE, SESSION_COOKIE, identities, session_token_of
from runyard.store import Store
from runyard.store.accounts.room import SessionInfo

__all__ = ["SESSION_TTL_S", "end_session", "start_session"]

SESSION_TTL_S = 14 * 86400.0
"""How long a browser session lasts (signing in again starts a new one)."""


def _secure(request: Request) -> bool:
    public: str | None = getattr(request.app.state, "public_url", None)
    if public:
        return public.lower().startswith("https://")
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, store: Store, username: str) -> SessionInfo:
    """Sign ``username`` in: store a new session and set its cookies on ``response``.

    Ends the request's previous session, if any (a new sign-in never inherits an old token).
    """
    old = session_token_of(request)
    if old is not None:
        end_session(request, response, store, clear=False)
    token, info = store.accounts.create_session(username, SESSION_TTL_S)
    secure = _secure(request)
    max_age = int(SESSION_TTL_S)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure)
    response.set_cookie(
        CSRF_COOKIE, info.csrf_token, max_age=max_age, path="/", httponly=False, samesite="lax", secure=secure
    )
    return info


def end_session(request: Request, response: Response, store: Store, *, clear: bool = True) -> None:
    """End the request's session (in the store, so every replica refuses it) and, with ``clear``, its cookies."""
    token = session_token_of(request)
    if token is not None:
        store.accounts.end_session(token)
        identities(request).forget_session(token)
    if clear:
        secure = _secure(request)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
        response.delete_cookie(CSRF_COOKIE, path="/", httponly=False, samesite="lax", secure=secure)
