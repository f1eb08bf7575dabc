"""Signing in the user a provider vouched for: find or create them, bring their team roles up to date from
their groups, and start a browser session."""

from __future__ import annotations

from fastapi import Request, Response

from runyard.errors import ConflictError, StoreError
from runyard.server.identity import identities
from runyard.server.sessions import start_session
from runyard.server.sso.flow import SsoError, SsoIdentity
from runyard.store import Store
from runyard.store.accounts.sso import sync_sso_memberships

__all__ = ["sign_in"]


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
    # This replica sees the new roles at once; the others within their recheck time (RECHECK_S).
    identities(request).forget_users()
    try:
        start_session(request, response, store, user.username)
    except StoreError as exc:
        raise SsoError(f"could not start a session for {user.username!r}: {exc}", 503) from exc
    return user.username
