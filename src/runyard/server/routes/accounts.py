"""Accounts over REST: sign in and out, the first admin, API keys, users, teams and invitations.

See ``docs/accounts.md``. On ``runyard ui`` (no accounts) these answer 404 with a message saying so, except
``/me``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from runyard.server.access import can_admin
from runyard.server.deps import CurrentUser, StoreDep, User
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError, error_body
from runyard.server.identity import identities
from runyard.server.sessions import end_session, start_session
from runyard.store import Store
from runyard.store.accounts.room import ApiKeyInfo

__all__ = ["LOGIN_FAILURES", "LOGIN_WINDOW_S", "me_body", "router"]

router = APIRouter(tags=["accounts"])

LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
"""At most :data:`LOGIN_FAILURES` failed sign-ins per name, and per address, within this many seconds."""


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class SetupBody(LoginBody):
    token: str = Field(min_length=1, max_length=200)


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1000)


class KeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200)


class NewUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    site_admin: bool = False


class TeamBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class MemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


class InviteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str
    role: str = "member"
    expires_hours: float = Field(default=72.0, gt=0, le=90 * 24)


def _accounts_only(request: Request) -> None:
    if not request.app.state.accounts:
        raise ApiError(404, "this server has no accounts: `runyard ui` is one person's, with no sign-in")


def _signed_in(user: User) -> None:
    if user.anonymous:
        raise ApiError(401, "sign in first (POST /api/v1/auth/login), or send an API key")


def me_body(request: Request, user: User, store: Store) -> dict[str, Any]:
    """``/me``'s answer for ``user``."""
    accounts = bool(request.app.state.accounts)
    providers = getattr(request.app.state, "oidc_providers", None) or []
    return {
        "username": user.username,
        "entity": user.entity,
        "local": user.local,
        "anonymous": user.anonymous,
        "site_admin": user.site_admin,
        "roles": dict(user.roles),
        "accounts": accounts,
        "setup_needed": accounts and store.accounts.setup_pending(),
        "oidc": [{"name": p["name"], "label": p.get("label", p["name"])} for p in providers],
    }


@router.get("/me")
def me(request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Who is asking: name, default entity, roles per entity, and how this server signs people in."""
    return ApiResponse(me_body(request, user, store))


def _signed_in_body(request: Request, store: Store, username: str) -> dict[str, Any]:
    identities(request).forget_users()
    found = identities(request).user(username)
    if found is None:  # pragma: no cover - the user was just checked or created
        raise ApiError(401, "the user is disabled")
    return me_body(request, found, store)


@router.post("/auth/login")
def login(body: LoginBody, request: Request, response: Response, store: StoreDep) -> ApiResponse:
    """Sign in with a name and password: sets the session and CSRF cookies, answers ``/me``'s body."""
    _accounts_only(request)
    address = request.client.host if request.client else ""
    now = time.time()
    count, oldest = store.accounts.login_failures(body.username, address, now - LOGIN_WINDOW_S)
    if count >= LOGIN_FAILURES:
        wait = max(1, math.ceil((oldest or now) + LOGIN_WINDOW_S - now))
        message = f"too many failed sign-ins for this name or from this address: try again in {wait} s"
        return ApiResponse(error_body(429, message), status_code=429, headers={"Retry-After": str(wait)})
    user = store.accounts.verify_password(body.username, body.password)
    if user is None:
        store.accounts.record_login_failure(body.username, address)
        raise ApiError(401, "wrong user name or password")
    store.accounts.clear_login_failures(body.username)
    answer = ApiResponse(_signed_in_body(request, store, user.username))
    start_session(request, answer, store, user.username)
    return answer


@router.post("/auth/logout")
def logout(request: Request, store: StoreDep) -> ApiResponse:
    """End the browser session (its cookies are cleared too)."""
    _accounts_only(request)
    answer = ApiResponse({"ok": True})
    end_session(request, answer, store)
    return answer


@router.post("/auth/setup")
def setup(body: SetupBody, request: Request, store: StoreDep) -> ApiResponse:
    """Create the first site admin with the one-time token the first start printed, and sign in."""
    _accounts_only(request)
    made = store.accounts.use_setup_token(body.token, body.username, body.password)
    if made is None:
        if not store.accounts.setup_pending():
            raise ApiError(410, "this server is set up already: sign in, or ask a site admin for an account")
        raise ApiError(403, "wrong setup token: use the link `runyard server` printed when it started")
    answer = ApiResponse(_signed_in_body(request, store, made.username))
    start_session(request, answer, store, made.username)
    return answer


# -- API keys ---------------------------------------------------------------------------------------------------


def _key_json(info: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "prefix": info.prefix,
        "created_at": info.created_at,
        "last_used_at": info.last_used_at,
    }


@router.get("/keys")
def list_keys(request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """The signed-in user's live API keys (never the keys themselves: their first 8 characters)."""
    _accounts_only(request)
    _signed_in(user)
    return ApiResponse([_key_json(k) for k in store.accounts.list_keys(user.username)])


@router.post("/keys")
def create_key(body: KeyBody, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """A new API key for the signed-in user: the only answer that shows the key."""
    _accounts_only(request)
    _signed_in(user)
    info, key = store.accounts.create_key(user.username, body.name)
    return ApiResponse({**_key_json(info), "key": key}, status_code=201)


@router.delete("/keys/{key_id}")
def revoke_key(key_id: int, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Revoke a key (its owner or a site admin). Other replicas refuse it within seconds (docs/accounts.md)."""
    _accounts_only(request)
    _signed_in(user)
    info = store.accounts.get_key(key_id)
    if info is None or info.revoked_at is not None or (info.username != user.username and not user.site_admin):
        raise ApiError(404, f"no API key {key_id} of yours")
    store.accounts.revoke_key(key_id)
    identities(request).forget_users()
    return ApiResponse({"id": key_id, "revoked": True})


# -- users (site admins) ------------------------------------------------------------------------------------------


def _site_admin(user: User) -> None:
    _signed_in(user)
    if not user.site_admin:
        raise ApiError(403, "only site admins manage users")


@router.get("/users")
def list_users(request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Every user (site admins)."""
    _accounts_only(request)
    _site_admin(user)
    return ApiResponse(
        [
            {"username": u.username, "site_admin": u.site_admin, "disabled": u.disabled, "created_at": u.created_at}
            for u in store.accounts.list_users()
        ]
    )


@router.post("/users")
def create_user(body: NewUserBody, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Create a user with a password (site admins)."""
    _accounts_only(request)
    _site_admin(user)
    made = store.accounts.create_user(body.username, body.password, site_admin=body.site_admin)
    return ApiResponse({"username": made.username, "site_admin": made.site_admin}, status_code=201)


# -- teams ------------------------------------------------------------------------------------------------------


@router.get("/teams")
def list_teams(request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """The teams the user belongs to, with their role (site admins: every team)."""
    _accounts_only(request)
    _signed_in(user)
    mine = dict(store.accounts.teams(user.username))
    names = [n for n, _ in store.accounts.teams()] if user.site_admin else list(mine)
    return ApiResponse([{"name": n, "role": mine.get(n, "admin" if user.site_admin else None)} for n in names])


@router.post("/teams")
def create_team(body: TeamBody, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Create a team; its creator is its admin."""
    _accounts_only(request)
    _signed_in(user)
    store.accounts.create_team(body.name, user.username)
    identities(request).forget_users()
    return ApiResponse({"name": body.name, "role": "admin"}, status_code=201)


def _team_for(user: User, store: Store, team: str, *, admin: bool) -> None:
    if not store.accounts.is_team(team) or user.role_in(team) is None:
        raise ApiError(404, f"no team {team!r} (or you are not a member)")
    if admin and not can_admin(user, team):
        raise ApiError(403, f"only admins of {team!r} may change its members")


@router.get("/teams/{team}")
def get_team(team: str, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """The team and its members with their roles (its members and site admins)."""
    _accounts_only(request)
    _signed_in(user)
    _team_for(user, store, team, admin=False)
    members = [{"username": u, "role": r} for u, r in store.accounts.members(team)]
    return ApiResponse({"name": team, "members": members})


@router.put("/teams/{team}/members/{username}")
def set_member(
    team: str, username: str, body: MemberBody, request: Request, user: CurrentUser, store: StoreDep
) -> ApiResponse:
    """Add a member or change their role (team admins)."""
    _accounts_only(request)
    _signed_in(user)
    _team_for(user, store, team, admin=True)
    store.accounts.set_member(team, username, body.role)
    identities(request).forget_users()
    return ApiResponse({"username": username, "role": body.role})


@router.delete("/teams/{team}/members/{username}")
def remove_member(team: str, username: str, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Remove a member (team admins)."""
    _accounts_only(request)
    _signed_in(user)
    _team_for(user, store, team, admin=True)
    if not store.accounts.remove_member(team, username):
        raise ApiError(404, f"{username!r} is not a member of {team!r}")
    identities(request).forget_users()
    return ApiResponse({"username": username, "removed": True})


# -- invitations ------------------------------------------------------------------------------------------------


@router.post("/invites")
def create_invite(body: InviteBody, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """A one-time link that adds its holder to a team (site admins; team admins for their team)."""
    _accounts_only(request)
    _signed_in(user)
    _team_for(user, store, body.team, admin=True)
    token, expires_at = store.accounts.create_invitation(body.team, body.role, user.username, body.expires_hours * 3600)
    base = (getattr(request.app.state, "public_url", None) or str(request.base_url)).rstrip("/")
    return ApiResponse(
        {"token": token, "url": f"{base}/invite?token={token}", "expires_at": expires_at}, status_code=201
    )


@router.get("/invites/{token}")
def get_invite(token: str, request: Request, store: StoreDep) -> ApiResponse:
    """The team and role an invitation grants; 404 when unknown, used or expired."""
    _accounts_only(request)
    found = store.accounts.invitation(token)
    if found is None:
        raise ApiError(404, "no such invitation (used, expired or mistyped): ask for a new link")
    return ApiResponse({"team": found.team, "role": found.role, "expires_at": found.expires_at})


@router.post("/invites/{token}/accept")
def accept_invite(token: str, body: AcceptBody, request: Request, user: CurrentUser, store: StoreDep) -> ApiResponse:
    """Use an invitation: signed in, join its team; else create the user named in the body and sign in."""
    _accounts_only(request)
    if user.anonymous:
        if not body.username or not body.password:
            raise ApiError(400, "give a username and a password for the new account (or sign in first)")
        username, password = body.username, body.password
    else:
        username, password = user.username, None
    used = store.accounts.accept_invitation(token, username, password)
    if used is None:
        raise ApiError(404, "no such invitation (used, expired or mistyped): ask for a new link")
    answer = ApiResponse(_signed_in_body(request, store, username))
    if user.anonymous:
        start_session(request, answer, store, username)
    return answer
