"""Sweeps for runyard's SDK and CLI on another machine (``runyard.sweep``/``agent`` after ``runyard login``).

Under the ingest API's prefix: every call needs an API key. The calls map one to one onto ``store.sweeps``
(:class:`runyard.sinks.sweeps.HttpSweepClient` is their client): create and find a sweep, register an agent,
assign the next run, heartbeat, apply hyperband, ask whether the sweep stopped a run, pause/resume/stop/cancel.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from runyard.server.auth import KeyUser, authorize_read, authorize_write
from runyard.server.deps import StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.routes.ingest import _read_body
from runyard.store import Store
from runyard.store.sweeps.models import Assignment, SweepRecord

router = APIRouter(prefix="/ingest/sweeps", tags=["ingest"])

MAX_CONFIG_BYTES = 1024 * 1024
SWEEP = "/{entity}/{project}/{sweep_id}"


def sweep_json(sweep: SweepRecord) -> dict[str, Any]:
    return {
        "entity": sweep.entity,
        "project": sweep.project,
        "sweep_id": sweep.sweep_id,
        "path": sweep.path,
        "name": sweep.name,
        "method": sweep.method,
        "state": sweep.state,
        "config": sweep.config,
    }


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await _read_body(request, MAX_CONFIG_BYTES)
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _sweep(store: Store, entity: str, project: str, sweep_id: str) -> SweepRecord:
    found = store.sweeps.get(entity, project, sweep_id)
    if found is None:
        raise ApiError(404, f"no sweep {entity}/{project}/{sweep_id}")
    return found


@router.post("")
async def create_sweep(request: Request, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Create a sweep: ``{"entity", "project", "config"}`` (entity defaults to the key's)."""
    body = await _json_body(request)
    entity = str(body.get("entity") or user.entity)
    project = str(body.get("project") or "Uncategorized")
    config = body.get("config")
    if not isinstance(config, dict):
        raise ApiError(400, "config must be the sweep config, a JSON object")
    authorize_write(user, entity, project)
    created = await run_in_threadpool(store.sweeps.create, entity, project, config, username=user.username)
    return ApiResponse(sweep_json(created))


@router.get("/find")
def find_sweep(
    path: str, user: KeyUser, store: StoreDep, entity: str | None = None, project: str | None = None
) -> ApiResponse:
    """The sweep ``path`` names (``entity/project/id``, ``project/id`` or an id)."""
    found = store.sweeps.find(path, entity=entity, project=project)
    authorize_read(user, store, found.entity, found.project)
    return ApiResponse(sweep_json(found))


@router.post(SWEEP + "/agents")
async def register_agent(
    entity: str, project: str, sweep_id: str, request: Request, user: KeyUser, store: StoreDep
) -> ApiResponse:
    """Register an agent (``{"host", "pid"}``); answers its ``agent_id``."""
    authorize_write(user, entity, project)
    body = await _json_body(request)
    sweep = _sweep(store, entity, project, sweep_id)
    pid = body.get("pid")
    agent_id = store.sweeps.register_agent(
        sweep, host=str(body.get("host") or ""), pid=pid if isinstance(pid, int) else None
    )
    return ApiResponse({"agent_id": agent_id})


@router.post(SWEEP + "/agents/{agent_id}/next")
def next_run(entity: str, project: str, sweep_id: str, agent_id: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """The agent's next run ``{"run_id", "params", "seq"}``, or ``{"state"}`` when the sweep has none for it."""
    authorize_write(user, entity, project)
    got = store.sweeps.next_run(_sweep(store, entity, project, sweep_id), agent_id)
    if isinstance(got, Assignment):
        return ApiResponse({"run_id": got.run_id, "params": got.params, "seq": got.seq})
    return ApiResponse({"state": got})


@router.post(SWEEP + "/agents/{agent_id}/heartbeat")
def heartbeat(entity: str, project: str, sweep_id: str, agent_id: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Note that the agent lives; answers the sweep's state."""
    authorize_write(user, entity, project)
    return ApiResponse({"state": store.sweeps.agent_heartbeat(_sweep(store, entity, project, sweep_id), agent_id)})


@router.post(SWEEP + "/early-terminate")
def early_terminate(entity: str, project: str, sweep_id: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Apply the sweep's hyperband; answers the runs it stopped now."""
    authorize_write(user, entity, project)
    return ApiResponse({"stopped": store.sweeps.early_terminate(_sweep(store, entity, project, sweep_id))})


@router.get(SWEEP + "/runs/{run_id}")
def sweep_run(entity: str, project: str, sweep_id: str, run_id: str, user: KeyUser, store: StoreDep) -> ApiResponse:
    """Whether the sweep stopped the run (``stopped_by_sweep``: its reason, or null)."""
    authorize_read(user, store, entity, project)
    for run in store.sweeps.runs(_sweep(store, entity, project, sweep_id)):
        if run.run_id == run_id:
            return ApiResponse({"run_id": run_id, "stopped_by_sweep": run.stop_reason})
    raise ApiError(404, f"run {run_id} is not a run of sweep {entity}/{project}/{sweep_id}")


@router.post(SWEEP + "/control/{action}")
def control(
    entity: str,
    project: str,
    sweep_id: str,
    action: Literal["pause", "resume", "stop", "cancel"],
    user: KeyUser,
    store: StoreDep,
) -> ApiResponse:
    """Pause, resume, stop or cancel the sweep; answers it."""
    authorize_write(user, entity, project)
    return ApiResponse(sweep_json(store.sweeps.control(_sweep(store, entity, project, sweep_id), action)))
