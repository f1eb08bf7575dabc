"""Media panels' reads: a project's media keys, one key of several runs at a step, histograms over time, tables.

The bytes of a media file are the run's file at the reference's ``path``: ``GET /runs/.../files/{path}``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query

from runyard.server.deps import CurrentUser, StoreDep, User
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.guards import project_view, require_run
from runyard.store import Store

router = APIRouter(tags=["media"])

PROJECT = "/projects/{entity}/{project}/media"
RUN = "/runs/{entity}/{project}/{run_id}/media"
MAX_TABLE_PAGE = 1000
MAX_RANGE = 1000


def _run_list(runs: str | None) -> list[str] | None:
    if runs is None:
        return None
    return [r for r in runs.split(",") if r]


def _readable_runs(store: Store, user: User, entity: str, project: str, run_ids: list[str] | None) -> list[str] | None:
    """``run_ids`` (None: every run of the project) narrowed to the runs ``user`` may read: an outsider's
    panels see a project's public runs only."""
    if not project_view(store, user, entity, project).public_only:
        return run_ids
    if run_ids is None:
        return store.query_run_ids(entity, project, public_only=True)
    public = store.public_run_ids(entity, project, run_ids)
    return [r for r in run_ids if r in public]


@router.get(PROJECT + "/keys")
def media_keys(
    entity: str,
    project: str,
    store: StoreDep,
    user: CurrentUser,
    runs: str | None = Query(None, description="comma-separated run ids; all the project's runs when left out"),
) -> ApiResponse:
    """The media keys (history keys whose values are media references) and their reference ``type``, and the
    custom charts (``plots``: config ``_wandb.visualize`` specs of ``wandb.plot.*``) of the runs named."""
    run_ids = _readable_runs(store, user, entity, project, _run_list(runs))
    found = store.media.keys(entity, project, run_ids)
    plots: dict[str, dict[str, Any]] = {}
    if run_ids:
        for run in store.get_runs(entity, project, run_ids[:200]):
            internal = run.config.get("_wandb")
            specs = internal.get("visualize") if isinstance(internal, dict) else None
            for key, spec in (specs or {}).items() if isinstance(specs, dict) else ():
                if isinstance(spec, dict) and key not in plots:
                    plots[key] = {"key": key, "run_id": run.run_id, "spec": spec}
    return ApiResponse(
        {"keys": [{"key": key, "type": kind} for key, kind in found.items()], "plots": list(plots.values())}
    )


@router.get(PROJECT + "/at")
def media_at(
    entity: str,
    project: str,
    store: StoreDep,
    user: CurrentUser,
    key: str = Query(..., description="the media key"),
    runs: str = Query(..., description="comma-separated run ids, in the order the panel shows them"),
    step: int | None = Query(None, description="the step to show; the last logged when left out"),
) -> ApiResponse:
    """Every step any of the runs logged ``key`` at, and each run's reference at its last step <= ``step``."""
    run_ids = _readable_runs(store, user, entity, project, _run_list(runs) or []) or []
    return ApiResponse(store.media.at_step(entity, project, run_ids, key, step).to_json())


@router.get(PROJECT + "/range")
def media_range(
    entity: str,
    project: str,
    store: StoreDep,
    user: CurrentUser,
    key: str = Query(..., description="the media key"),
    runs: str = Query(..., description="comma-separated run ids"),
    min_step: int = Query(..., description="the first step"),
    max_step: int = Query(..., description="the last step"),
    limit: int = Query(100, ge=1, le=MAX_RANGE, description="references per run at most"),
) -> ApiResponse:
    """Each run's references of ``key`` at steps ``min_step..max_step``, in run then step order."""
    run_ids = _readable_runs(store, user, entity, project, _run_list(runs) or []) or []
    return ApiResponse({"items": store.media.between(entity, project, run_ids, key, min_step, max_step, limit)})


@router.get(RUN + "/histogram")
def histogram(
    entity: str,
    project: str,
    run_id: str,
    store: StoreDep,
    user: CurrentUser,
    key: str = Query(...),
    buckets: int = Query(500, ge=1, le=10_000, description="rows at most (the panel's height or width)"),
    min_step: int | None = Query(None),
    max_step: int | None = Query(None),
) -> ApiResponse:
    """``key``'s histograms as a step x bin matrix: ``values`` holds ``len(steps)`` rows of ``bins`` means."""
    require_run(store, user, entity, project, run_id)
    matrix = store.media.histogram(entity, project, run_id, key, buckets=buckets, min_step=min_step, max_step=max_step)
    return ApiResponse(matrix.to_json())


@router.get(RUN + "/table")
def table(
    entity: str,
    project: str,
    run_id: str,
    store: StoreDep,
    user: CurrentUser,
    path: str = Query(..., description="the table-file reference's path"),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=MAX_TABLE_PAGE),
    sort: str | None = Query(None, description="a column to sort by"),
    desc: bool = Query(False, description="sort descending"),
    q: str | None = Query(None, description="keep rows with this text in any cell, ignoring case"),
    where: str | None = Query(None, description="JSON list of [column, op, value], op one of = != < <= > >="),
) -> ApiResponse:
    """One page of a logged table, sorted and filtered server-side (a million rows page as fast as ten)."""
    require_run(store, user, entity, project, run_id)
    conditions: list[tuple[str, str, Any]] = []
    if where:
        try:
            parsed = json.loads(where)
            conditions = [(str(c), str(op), v) for c, op, v in parsed]
        except (ValueError, TypeError) as exc:
            raise ApiError(
                400, f'where must be a JSON list of [column, op, value], e.g. [["score", ">", 0.5]]: {exc}'
            ) from None
    page = store.media.table_page(
        entity,
        project,
        run_id,
        path,
        offset=offset,
        limit=limit,
        sort=sort,
        descending=desc,
        search=q,
        where=conditions,
    )
    return ApiResponse(page.to_json())
