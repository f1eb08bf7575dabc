"""Artifacts over REST: a project's types, collections and versions, a version's files (with download), lineage
(which run logged a version, which runs used it) and a run's inputs and outputs. Read-only for now.

A project's artifacts are readable by whoever may read the whole project (members, or anyone when it is public).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from runyard.errors import NotFoundError
from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.guards import require_project, require_run
from runyard.store import Store
from runyard.store.artifacts.models import ArtifactVersion

__all__ = ["router"]

router = APIRouter(tags=["artifacts"])

PROJECT = "/projects/{entity}/{project}/artifacts"
VERSION = PROJECT + "/{name}/{version}"

# A stored file is whatever the training script saved: never let the browser run it as a page of this site.
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def version_json(v: ArtifactVersion) -> dict[str, Any]:
    """A version as the API shows it."""
    return {
        "id": v.id,
        "entity": v.entity,
        "project": v.project,
        "type": v.type,
        "name": v.name,
        "version": v.version,
        "qualified_name": v.qualified_name,
        "digest": v.digest,
        "aliases": list(v.aliases),
        "description": v.description,
        "metadata": v.metadata,
        "size": v.size,
        "file_count": v.file_count,
        "created_at": v.created_at,
        "logged_by": v.run_id,
    }


def _version(store: Store, entity: str, project: str, name: str, version: str) -> ArtifactVersion:
    try:
        return store.artifacts.get(f"{entity}/{project}/{name}:{version}", entity, project)
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None


@router.get(PROJECT)
def project_artifacts(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The project's artifact types, each with its collections (name, description, how many versions)."""
    require_project(store, user, entity, project)
    if store.get_project(entity, project) is None:
        raise ApiError(404, f"no project {entity}/{project}")
    types = []
    for t in store.artifacts.types(entity, project):
        collections = [
            {"name": c.name, "description": c.description, "versions": c.version_count, "keep_last": c.keep_last}
            for c in store.artifacts.collections(entity, project, t.name)
        ]
        types.append({"name": t.name, "collections": collections})
    return ApiResponse({"types": types})


@router.get(PROJECT + "/{name}")
def collection_versions(entity: str, project: str, name: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The collection's versions, newest first."""
    require_project(store, user, entity, project)
    found = store.artifacts.collection(entity, project, name)
    if found is None:
        raise ApiError(404, f"no artifact {name!r} in {entity}/{project}")
    versions = [version_json(v) for v in store.artifacts.versions(entity, project, name)]
    return ApiResponse({"name": name, "type": found.type, "description": found.description, "versions": versions})


@router.get(VERSION)
def version_detail(
    entity: str, project: str, name: str, version: str, store: StoreDep, user: CurrentUser
) -> ApiResponse:
    """One version (``v3``, an alias, or a digest): its files, the run that logged it and the runs that used it."""
    require_project(store, user, entity, project)
    found = _version(store, entity, project, name, version)
    base = f"/api/v1/projects/{quote(entity)}/{quote(project)}/artifacts/{quote(name)}/{found.version}/files/"
    files = [
        {
            "path": f.path,
            "digest": f.digest,
            "size": f.size,
            "ref": f.ref,
            "url": None if f.ref else base + quote(f.path),
        }
        for f in store.artifacts.files(found)
    ]
    used_by = [{"entity": e, "project": p, "run_id": r} for e, p, r in store.artifacts.runs_of(found, "used")]
    return ApiResponse({**version_json(found), "files": files, "used_by": used_by})


@router.get(VERSION + "/files/{path:path}")
def version_file(
    entity: str, project: str, name: str, version: str, path: str, store: StoreDep, user: CurrentUser
) -> StreamingResponse:
    """One file's bytes (a reference's bytes are where its URI points: 404 naming it)."""
    require_project(store, user, entity, project)
    found = _version(store, entity, project, name, version)
    entry = next((f for f in store.artifacts.files(found) if f.path == path), None)
    if entry is None:
        raise ApiError(404, f"artifact {found.qualified_name} has no file {path!r}")
    if entry.blob_key is None:
        raise ApiError(404, f"{path!r} of {found.qualified_name} is a reference to {entry.ref}: fetch it from there")
    size, chunks = store.artifacts.blobs.stream(entry.blob_key)
    headers = {**_FILE_HEADERS, "Content-Length": str(size)}
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


@router.get("/runs/{entity}/{project}/{run_id}/artifacts")
def run_artifacts(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """A run's artifact outputs (``logged``) and inputs (``used``)."""
    require_run(store, user, entity, project, run_id)
    try:
        logged = store.artifacts.run_artifacts(entity, project, run_id, "logged")
        used = store.artifacts.run_artifacts(entity, project, run_id, "used")
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    return ApiResponse({"logged": [version_json(v) for v in logged], "used": [version_json(v) for v in used]})
