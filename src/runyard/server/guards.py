"""Access checks that need the store: the rules of :mod:`runyard.server.access` applied to a named project or run.

Members of an entity (and the local user, and site admins) are answered without a database read: their roles
alone decide. Only an outsider's request looks up visibilities — one indexed lookup — so the team's own
requests cost what they cost before accounts existed.

An outsider sees a private project that holds public runs as those runs only (:attr:`ProjectView.public_only`):
lists, searches, counts and keys are narrowed to them in the store's SQL. A private project without a public
run, and a private run of a private project, are absent: 404 as for a name that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runyard.server.access import PRIVATE, PUBLIC, readable_entities, require_admin, require_read, require_write
from runyard.server.deps import User
from runyard.server.errors import ApiError
from runyard.store import Store

__all__ = [
    "ProjectView",
    "project_view",
    "require_project",
    "require_project_admin",
    "require_project_write",
    "require_run",
    "require_signed_in",
]


@dataclass(frozen=True)
class ProjectView:
    """What a reader sees of a project: every run, or (``public_only``) its public runs only."""

    public_only: bool


_WHOLE = ProjectView(public_only=False)
_PUBLIC_RUNS = ProjectView(public_only=True)


def _member(user: User, entity: str) -> bool:
    readable = readable_entities(user)
    return readable is None or entity in readable


def project_view(store: Store, user: User, entity: str, project: str) -> ProjectView:
    """What ``user`` may read of ``entity/project``; raises 404 when nothing of it.

    A project that does not exist reads as empty for members (as it always has) and is 404 for outsiders.
    """
    if _member(user, entity):
        return _WHOLE
    found = store.visibility_of(entity, project)
    if found is not None and found[0] == PUBLIC:
        return _WHOLE
    if found is not None and store.get_project(entity, project, readable=readable_entities(user)) is not None:
        return _PUBLIC_RUNS  # a private project holding public runs: those runs only
    require_read(user, entity, PRIVATE, "project")
    raise AssertionError("require_read lets an outsider read a private project")  # pragma: no cover


def require_project(store: Store, user: User, entity: str, project: str) -> None:
    """Raise 404 unless ``user`` may read the whole project (members, or a public project): what its sweeps,
    artifacts and saved settings need."""
    if project_view(store, user, entity, project).public_only:
        require_read(user, entity, PRIVATE, "project")


def _visibility(store: Store, entity: str, project: str, run_id: str | None) -> str:
    found = store.visibility_of(entity, project, run_id)
    return PUBLIC if found is not None and PUBLIC in found else PRIVATE


def require_run(
    store: Store, user: User, entity: str, project: str, run_id: str, need: Literal["read", "write"] = "read"
) -> None:
    """Raise unless ``user`` may ``need`` the run: 404 when they may not even read it (a private run of a
    private project), 403 when they may read but not change it (viewers, outsiders of a public run)."""
    # A member's role decides alone: no lookup.
    visibility = PRIVATE if _member(user, entity) else _visibility(store, entity, project, run_id)
    if need == "read":
        require_read(user, entity, visibility, "run")
    else:
        require_write(user, entity, visibility, "run")


def require_project_write(store: Store, user: User, entity: str, project: str) -> None:
    """Raise unless ``user`` may change runs of the project (members and admins of its entity)."""
    visibility = PRIVATE if _member(user, entity) else _visibility(store, entity, project, None)
    require_write(user, entity, visibility, "project")


def require_project_admin(store: Store, user: User, entity: str, project: str) -> None:
    """Raise unless ``user`` is an admin of the project's entity (404 when they may not even read it)."""
    visibility = PRIVATE if _member(user, entity) else _visibility(store, entity, project, None)
    require_admin(user, entity, visibility, "project")


def require_signed_in(user: User, what: str) -> None:
    """Raise 401 for an anonymous visitor: ``what`` is kept per user."""
    if user.anonymous:
        raise ApiError(401, f"sign in to save {what}")
