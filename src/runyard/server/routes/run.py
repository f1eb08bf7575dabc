"""One run: read, edit, delete, stop, mark killed; its keys, console output, system metrics and files."""

from __future__ import annotations

import mimetypes
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.guards import require_run
from runyard.server.views import console_json, file_json, run_json, sample_json
from runyard.store import RunRecord, Store

router = APIRouter(tags=["run"])

RUN = "/runs/{entity}/{project}/{run_id}"
MAX_CONSOLE_PAGE = 10_000


class RunPatch(BaseModel):
    """The fields of a run that can be edited; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, description="the display name")
    notes: str | None = Field(None, description="the description")
    tags: list[str] | None = None
    visibility: Literal["private", "public"] | None = None


def _run(store: Store, entity: str, project: str, run_id: str) -> RunRecord:
    found = store.get_run(entity, project, run_id)
    if found is None:
        raise ApiError(404, f"no run {entity}/{project}/{run_id}; runs are addressed by id, not display name")
    return found


@router.get(RUN)
def get_run(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The run, with where and how it ran (``metadata``)."""
    require_run(store, user, entity, project, run_id)
    return ApiResponse(run_json(_run(store, entity, project, run_id), metadata=True))


@router.patch(RUN)
def patch_run(
    entity: str, project: str, run_id: str, body: RunPatch, store: StoreDep, user: CurrentUser
) -> ApiResponse:
    """Rename the run, or change its notes, tags or visibility."""
    require_run(store, user, entity, project, run_id, "write")
    updated = store.update_run(
        entity, project, run_id, name=body.name, notes=body.notes, tags=body.tags, visibility=body.visibility
    )
    return ApiResponse(run_json(updated, metadata=True))


@router.delete(RUN, status_code=204)
def delete_run(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> Response:
    """Delete the run and all its data."""
    require_run(store, user, entity, project, run_id, "write")
    if not store.delete_run(entity, project, run_id):
        raise ApiError(404, f"no run {entity}/{project}/{run_id}")
    # Imported here: the wandb package's routes import the app's modules that import this one.
    from runyard.server.wandb.sessions import forget_client_run

    forget_client_run(store, entity, project, run_id)  # a wandb client still writing it starts it anew
    return Response(status_code=204)


@router.post(RUN + "/stop", status_code=202)
def stop_run(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Ask a live run to stop: its training process receives KeyboardInterrupt and the run ends ``killed``."""
    require_run(store, user, entity, project, run_id, "write")
    return ApiResponse(run_json(store.request_stop(entity, project, run_id), metadata=True), status_code=202)


class MarkKilled(BaseModel):
    """Why a run is marked killed (optional); kept with who and when in the run's metadata."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=1000, description="why, in the user's words")


@router.post(RUN + "/mark-killed")
def mark_killed(
    entity: str,
    project: str,
    run_id: str,
    store: StoreDep,
    user: CurrentUser,
    body: MarkKilled | None = None,
) -> ApiResponse:
    """End a run whose stop does not land (its process is out of reach, its heartbeat stale) as ``killed``.

    409 when the run has already ended. Who and why are kept in ``metadata.marked_killed``.
    """
    require_run(store, user, entity, project, run_id, "write")
    reason = body.reason if body is not None else None
    return ApiResponse(
        run_json(store.mark_killed(entity, project, run_id, by=user.username, reason=reason), metadata=True)
    )


@router.get(RUN + "/keys")
def run_keys(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The run's history keys (without the x axes and ``system/*``) and system-metrics keys, sorted."""
    require_run(store, user, entity, project, run_id)
    history, system = store.run_keys(entity, project, run_id)
    return ApiResponse({"history": history, "system": system})


@router.get(RUN + "/console")
def console(
    entity: str,
    project: str,
    run_id: str,
    store: StoreDep,
    user: CurrentUser,
    after: int = Query(-1, ge=-1, description="the last line number the client has; -1 for the first page"),
    limit: int = Query(1000, ge=1, le=MAX_CONSOLE_PAGE),
    search: str | None = Query(None, description="keep lines containing this text, ignoring case"),
) -> ApiResponse:
    """Console lines after line ``after``, in order; ``next_after`` is what to ask with next."""
    require_run(store, user, entity, project, run_id)
    _run(store, entity, project, run_id)
    # Counted before reading: lines that arrive in between are then never skipped by next_after.
    total = store.console_count(entity, project, run_id)
    lines = store.console(entity, project, run_id, start=after + 1, limit=limit, search=search or None)
    if len(lines) == limit:
        next_after = lines[-1].line_no
    else:  # the whole log was read: continue after the end, or after the last line returned if newer
        next_after = max(total - 1, lines[-1].line_no if lines else after, after)
    return ApiResponse({"lines": [console_json(line) for line in lines], "total": total, "next_after": next_after})


@router.get(RUN + "/system")
def system(
    entity: str,
    project: str,
    run_id: str,
    store: StoreDep,
    user: CurrentUser,
    after: float = Query(0.0, description="unix time of the last sample the client has; 0 for all"),
) -> ApiResponse:
    """System-metrics samples taken after ``after``, in time order."""
    require_run(store, user, entity, project, run_id)
    _run(store, entity, project, run_id)
    samples = store.system_samples(entity, project, run_id, after=after)
    return ApiResponse({"samples": [sample_json(s) for s in samples]})


@router.get(RUN + "/files")
def files(entity: str, project: str, run_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The run's files: those it saved, and those derived from its data (``output.log``, ``config.yaml``...)."""
    require_run(store, user, entity, project, run_id)
    _run(store, entity, project, run_id)
    return ApiResponse({"files": [file_json(f) for f in store.files(entity, project, run_id)]})


@router.get(RUN + "/files/{name:path}")
def file_content(entity: str, project: str, run_id: str, name: str, store: StoreDep, user: CurrentUser) -> Response:
    """One file's bytes."""
    require_run(store, user, entity, project, run_id)
    _run(store, entity, project, run_id)
    found = store.file_stream(entity, project, run_id, name)
    if found is None:
        raise ApiError(404, f"run {entity}/{project}/{run_id} has no file {name!r}; GET .../files lists them")
    size, chunks = found
    # Streamed: a file in the blob store may be gigabytes, and is read chunk by chunk as it is sent.
    headers = {**_FILE_HEADERS, "Content-Length": str(size)}
    if name.startswith("media/"):
        # Media files are named after their content (wandb and runyard alike): a browser may keep them.
        headers["Cache-Control"] = "private, max-age=86400"
    return StreamingResponse(chunks, media_type=_media_type(name), headers=headers)


# A run's file is whatever the training script saved: never let the browser run it as a page of this site.
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def _media_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if name.endswith((".log", ".yaml", ".yml", ".txt", ".md", ".py", ".cfg", ".toml")):
        return "text/plain; charset=utf-8"
    if guessed == "application/json":
        return guessed
    if guessed is not None and guessed.startswith("text/"):
        return "text/plain; charset=utf-8"  # HTML and scripts shown as text
    if guessed is not None and guessed.startswith(("image/", "audio/", "video/")) and guessed != "image/svg+xml":
        return guessed
    return "application/octet-stream"
