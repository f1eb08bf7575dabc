"""Projects: the list, one project, the keys its runs hold, and each user's saved workspace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.views import project_json

router = APIRouter(tags=["projects"])


class WorkspaceBody(BaseModel):
    """A workspace to save: any JSON object (at most 1 MiB); the web app owns its shape."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]


def _workspace_json(settings: dict[str, Any], updated_at: float | None) -> dict[str, Any]:
    return {"settings": settings, "updated_at": updated_at}


@router.get("/projects")
def list_projects(store: StoreDep, user: CurrentUser, search: str | None = None) -> ApiResponse:
    """Every project, most recent activity first; ``search`` keeps names containing it (ignoring case)."""
    return ApiResponse({"projects": [project_json(p) for p in store.list_projects(search=search)]})


@router.get("/projects/{entity}/{project}")
def get_project(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """One project: its run count and last activity."""
    found = store.get_project(entity, project)
    if found is None:
        raise ApiError(404, f"no project {entity}/{project}; GET /api/v1/projects lists them")
    return ApiResponse(project_json(found))


@router.get("/projects/{entity}/{project}/keys")
def project_keys(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Every flattened config, summary, history and system key any run of the project has, sorted."""
    found = store.project_keys(entity, project)
    return ApiResponse(
        {"config": found.config, "summary": found.summary, "history": found.history, "system": found.system}
    )


@router.get("/projects/{entity}/{project}/workspace")
def get_workspace(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The current user's saved workspace of the project (``{}`` and ``null`` when never saved)."""
    found = store.get_workspace(entity, project, user.username)
    return ApiResponse(_workspace_json(found.settings, found.updated_at))


@router.put("/projects/{entity}/{project}/workspace")
def put_workspace(entity: str, project: str, body: WorkspaceBody, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Replace the current user's workspace of the project; answers as GET does."""
    saved = store.save_workspace(entity, project, user.username, body.settings)
    return ApiResponse(_workspace_json(saved.settings, saved.updated_at))
