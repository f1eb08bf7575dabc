"""Who may do what: the one place that decides access to an entity's projects and runs.

Roles, from most to least: ``admin`` (manage the entity: members, API keys of the team, delete projects),
``member`` (log runs, edit, stop and delete runs), ``viewer`` (read everything of the entity). Outsiders and
anonymous visitors read public projects and public runs only, and never change anything.

A private thing is *absent* for someone who may not read it: answers are 404 ``not_found`` as for a name that
does not exist, and lists, searches and counts leave it out — an outsider learns nothing, not even that it
exists. Someone who may read but not change gets 403 ``forbidden``.

A run is readable when its project is readable and the run is, or when the run itself is public (a public run
shared from a private project). Route handlers call the ``require_*`` functions; list queries narrow with
:func:`readable_entities` (and public visibility) before counting.
"""

from __future__ import annotations

from runyard.server.deps import User
from runyard.server.errors import ApiError

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "can_admin",
    "can_read",
    "can_write",
    "readable_entities",
    "require_admin",
    "require_read",
    "require_write",
]

PRIVATE = "private"
PUBLIC = "public"

_RANK = {"viewer": 1, "member": 2, "admin": 3}


def _at_least(user: User, entity: str, role: str) -> bool:
    have = user.role_in(entity)
    return have is not None and _RANK.get(have, 0) >= _RANK[role]


def can_read(user: User, entity: str, visibility: str = PRIVATE) -> bool:
    """Whether ``user`` may read a thing of ``entity`` whose visibility is ``visibility``."""
    return visibility == PUBLIC or _at_least(user, entity, "viewer")


def can_write(user: User, entity: str) -> bool:
    """Whether ``user`` may log, edit, stop and delete runs of ``entity`` (members and admins)."""
    return not user.anonymous and _at_least(user, entity, "member")


def can_admin(user: User, entity: str) -> bool:
    """Whether ``user`` may manage ``entity``: its members, roles, project privacy and deletions of projects."""
    return not user.anonymous and _at_least(user, entity, "admin")


def readable_entities(user: User) -> frozenset[str] | None:
    """The entities whose private things ``user`` may read; None means all of them (local mode, site admins)."""
    if user.local or user.site_admin:
        return None
    return frozenset(user.roles)


def require_read(user: User, entity: str, visibility: str = PRIVATE, what: str = "project") -> None:
    """Raise 404 ``not_found`` unless ``user`` may read it (a private thing is not there for outsiders)."""
    if not can_read(user, entity, visibility):
        raise ApiError(404, f"no such {what} (or it is private and you are not a member of {entity!r}: sign in)")


def require_write(user: User, entity: str, visibility: str = PRIVATE, what: str = "run") -> None:
    """Raise unless ``user`` may change runs of ``entity``: 404 when they cannot even read it, else 403."""
    require_read(user, entity, visibility, what)
    if not can_write(user, entity):
        reason = "sign in" if user.anonymous else f"ask an admin of {entity!r} for the member role"
        raise ApiError(403, f"you may read but not change this {what}: {reason}")


def require_admin(user: User, entity: str, visibility: str = PRIVATE, what: str = "project") -> None:
    """Raise unless ``user`` is an admin of ``entity``: 404 when they cannot even read it, else 403."""
    require_read(user, entity, visibility, what)
    if not can_admin(user, entity):
        raise ApiError(403, f"only admins of {entity!r} may do this")
