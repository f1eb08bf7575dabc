"""Signing in the user a provider vouched for: find or create them, bring their team roles up to date from
their groups, and start a browser session."""

from __future__ import annotations

from fastapi import Request, Response

from runyard.errors import ConflictError, StoreError
from runyard.server.sso.flow import SsoError, SsoIdentity
from runyard.store import Store
from runyard.store.accounts.sso import sync_sso_memberships

__all__ = ["SESSION_TTL_S", "sign_in", "start_session"]

SESSION_TTL_S = 14 * 86400.0
"""How long a browser stays signed in after single sign-on."""


def sign_in(request: Request, response: Response, identity: SsoIdentity) -> str:
    """Sign the user of ``identity`` in on ``response`` (session cookies); returns their username.

    The user is found by the provider's issuer and subject, so a changed name or email at the provider still
    finds the same account; a first sign-in creates the account (a taken name gets a number appended).

    Raises:
        SsoError: the account is disabled, or the store could not record the sign-in.
    """
    store: Store = request.app.state.store
    service = request.app.state.sso
    issuer = service.clients[identity.provider].provider.issuer
    try:
        user = store.accounts.find_or_create_sso_user(identity.username, external_id=f"{issuer} {identity.subject}")
    except (ConflictError, StoreError) as exc:
        raise SsoError(f"could not sign {identity.username!r} in: {exc}", 503) from exc
    if user.disabled:
        raise SsoError(f"the account {user.username!r} is disabled: ask a site admin of this server", 403)
    try:
        sync_sso_memberships(store, user.username, identity.team_roles, identity.managed_teams)
    except StoreError as exc:
        raise SsoError(f"could not update {user.username!r}'s teams: {exc}", 503) from exc
    identities = getattr(request.app.state, "identities", None)
    if identities is not None:
        identities.forget_users()  # this replica sees the new roles at once; others within their recheck time
    start_session(request, response, user.username)
    return user.username


def start_session(request: Request, response: Response, username: str) -> None:
    """Start a browser session for ``username``: the ``runyard_session`` cookie (HttpOnly) and the
    ``runyard_csrf`` cookie the web app echoes in ``X-CSRF-Token`` (see docs/accounts.md)."""
    store: Store = request.app.state.store
    token, info = store.accounts.create_session(username, SESSION_TTL_S)
    service = request.app.state.sso
    secure = (service.public_url or str(request.base_url)).startswith("https://")
    max_age = int(SESSION_TTL_S)
    response.set_cookie(
        "runyard_session", token, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(
        "runyard_csrf", info.csrf_token, max_age=max_age, path="/", httponly=False, samesite="lax", secure=secure
    )
