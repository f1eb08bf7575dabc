"""What every request handler receives: the store and the current user, each from one dependency.

Team login plugs in here: :func:`current_user` is the only place that decides who is asking, so adding
authentication and per-run privacy does not touch the handlers.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from runyard.store import Store

__all__ = ["ANONYMOUS", "CurrentUser", "StoreDep", "User", "current_user", "get_store", "local_user"]


@dataclass(frozen=True)
class User:
    """Who is asking. In local mode (``runyard ui``) every request is the one local user, who may do anything.

    Attributes:
        username: the user's name; workspaces are saved per user ("" for an anonymous visitor).
        entity: the entity the user's runs go to by default (their own entity).
        local: True for the single user of a local store (no login).
        roles: the entities the user belongs to, each with the user's role there: ``"admin"``, ``"member"`` or
            ``"viewer"``. A user is ``"admin"`` of their own entity.
        site_admin: may manage users and every entity of the server.
        anonymous: nobody is signed in: only public projects and runs can be read.
    """

    username: str
    entity: str
    local: bool = True
    roles: Mapping[str, str] = field(default_factory=dict)
    site_admin: bool = False
    anonymous: bool = False

    def role_in(self, entity: str) -> str | None:
        """The user's role in ``entity`` (``"admin"``, ``"member"``, ``"viewer"``), or None for an outsider."""
        if self.local or self.site_admin:
            return "admin"
        return self.roles.get(entity)


ANONYMOUS = User(username="", entity="", local=False, anonymous=True)
"""A request that carries no session and no API key, on a server with accounts."""


def local_user() -> User:
    """The one user of a local store: the OS user, whose name the SDK also gives runs as their entity."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment (some containers): the SDK says "local" too
        name = "local"
    return User(username=name, entity=name)


def get_store(request: Request) -> Store:
    """The store the app serves (set by :func:`runyard.server.app.create_app`)."""
    store: Store = request.app.state.store
    return store


def current_user(request: Request) -> User:
    """The user making the request. Local mode: the single local user the app was created with; a server with
    accounts: the owner of the request's API key, the user of its session cookie, or :data:`ANONYMOUS`
    (:func:`runyard.server.identity.resolve_user`)."""
    if not request.app.state.accounts:
        user: User = request.app.state.local_user
        return user
    from runyard.server.identity import resolve_user

    return resolve_user(request)


StoreDep = Annotated[Store, Depends(get_store)]
CurrentUser = Annotated[User, Depends(current_user)]
