"""Projects: the list, one project, the keys its runs hold, and each user's saved workspace."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from runyard.server.access import readable_entities
from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.guards import project_view, require_project_admin, require_signed_in
from runyard.server.views import project_json

router = APIRouter(tags=["projects"])


class WorkspaceBody(BaseModel):
    """A workspace to save: any JSON object (at most 1 MiB); the web app owns its shape."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]


class ProjectPatch(BaseModel):
    """A project's settings that can be changed (by admins of its entity)."""

    model_config = ConfigDict(extra="forbid")

    visibility: Literal["private", "public"]


def _workspace_json(settings: dict[str, Any], updated_at: float | None) -> dict[str, Any]:
    return {"settings": settings, "updated_at": updated_at}


@router.get("/projects")
def list_projects(store: StoreDep, user: CurrentUser, search: str | None = None) -> ApiResponse:
    """Every project the user may read, most recent activity first; ``search`` keeps names containing it
    (ignoring case). Run counts count only the runs the user may read."""
    found = store.list_projects(search=search, readable=readable_entities(user))
    return ApiResponse({"projects": [project_json(p) for p in found]})


@router.get("/projects/{entity}/{project}")
def get_project(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """One project: its run count, last activity and visibility."""
    found = store.get_project(entity, project, readable=readable_entities(user))
    if found is None:
        raise ApiError(404, f"no project {entity}/{project}; GET /api/v1/projects lists them")
    return ApiResponse(project_json(found))


@router.patch("/projects/{entity}/{project}")
def patch_project(entity: str, project: str, body: ProjectPatch, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Make the project private (members of its entity) or public (anyone, read-only); admins of the entity."""
    require_project_admin(store, user, entity, project)
    store.set_project_visibility(entity, project, body.visibility)
    found = store.get_project(entity, project)
    if found is None:
        raise ApiError(404, f"no project {entity}/{project}")
    return ApiResponse(project_json(found))


@router.get("/projects/{entity}/{project}/keys")
def project_keys(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Every flattened config, summary, history and system key any run of the project has, sorted (of the runs
    the user may read)."""
    view = project_view(store, user, entity, project)
    found = store.project_keys(entity, project, public_only=view.public_only)
    return ApiResponse(
        {"config": found.config, "summary": found.summary, "history": found.history, "system": found.system}
    )


@router.get("/projects/{entity}/{project}/workspace")
def get_workspace(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The current user's saved workspace of the project (``{}`` and ``null`` when never saved)."""
    project_view(store, user, entity, project)
    found = store.get_workspace(entity, project, user.username)
    return ApiResponse(_workspace_json(found.settings, found.updated_at))


@router.put("/projects/{entity}/{project}/workspace")
def put_workspace(entity: str, project: str, body: WorkspaceBody, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Replace the current user's workspace of the project; answers as GET does."""
    project_view(store, user, entity, project)
    require_signed_in(user, "a workspace")
    saved = store.save_workspace(entity, project, user.username, body.settings)
    return ApiResponse(_workspace_json(saved.settings, saved.updated_at))
