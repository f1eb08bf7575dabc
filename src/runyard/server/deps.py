"""What every request handler receives: the store and the current user, each from one dependency.

Team login plugs in here: :func:`current_user` is the only place that decides who is asking, so adding
authentication and per-run privacy does not touch the handlers.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from runyard.store import Store

__all__ = ["CurrentUser", "StoreDep", "User", "current_user", "get_store", "local_user"]


@dataclass(frozen=True)
class User:
    """Who is asking. In local mode (``runyard ui``) every request is the one local user.

    Attributes:
        username: the user's name; workspaces are saved per user.
        entity: the entity the user's runs go to by default.
        local: True for the single user of a local store (no login).
    """

    username: str
    entity: str
    local: bool = True


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
    """The user making the request. Local mode: the single local user the app was created with."""
    user: User = request.app.state.local_user
    return user


StoreDep = Annotated[Store, Depends(get_store)]
CurrentUser = Annotated[User, Depends(current_user)]
