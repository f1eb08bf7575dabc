"""Sweeps: a project's sweeps, one sweep with its runs, best run, Pareto front and parameter importance, and its
controls (pause, resume, stop, cancel)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse
from runyard.server.errors import ApiError
from runyard.server.guards import require_project, require_project_write
from runyard.server.views import run_json
from runyard.store import Store
from runyard.store.sweeps.models import SweepRecord
from runyard.sweeps.config import parse_sweep_config
from runyard.sweeps.importance import parameter_importance

router = APIRouter(tags=["sweeps"])

SWEEP = "/sweeps/{entity}/{project}/{sweep_id}"


def _sweep_json(sweep: SweepRecord) -> dict[str, Any]:
    return {
        "entity": sweep.entity,
        "project": sweep.project,
        "id": sweep.sweep_id,
        "name": sweep.name,
        "method": sweep.method,
        "state": sweep.state,
        "config": sweep.config,
        "created_at": sweep.created_at,
        "updated_at": sweep.updated_at,
        "run_count": sweep.run_count,
    }


def _sweep(store: Store, entity: str, project: str, sweep_id: str) -> SweepRecord:
    found = store.sweeps.get(entity, project, sweep_id)
    if found is None:
        raise ApiError(404, f"no sweep {entity}/{project}/{sweep_id}")
    return found


@router.get("/projects/{entity}/{project}/sweeps")
def list_sweeps(entity: str, project: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The project's sweeps, newest first."""
    require_project(store, user, entity, project)
    return ApiResponse({"sweeps": [_sweep_json(s) for s in store.sweeps.of_project(entity, project)]})


@router.get(SWEEP)
def get_sweep(entity: str, project: str, sweep_id: str, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The sweep, its runs (parameters, run, whether the sweep stopped it), best run, Pareto front and parameter
    importance (correlation and random-forest importance for the first metric)."""
    require_project(store, user, entity, project)
    sweep = _sweep(store, entity, project, sweep_id)
    config = parse_sweep_config(sweep.config)
    runs = store.sweeps.runs(sweep)
    best = store.sweeps.best_run(sweep)
    front = [r.run_id for r in store.sweeps.pareto_front(sweep)] if config.multi_objective else []
    metric = config.metric
    scored = []
    if metric is not None:
        for r in runs:
            value = r.run.summary.get(metric.name) if r.run is not None else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scored.append((r.params, float(value)))
    return ApiResponse(
        {
            "sweep": _sweep_json(sweep),
            "params": [p.name for p in config.params if p.distribution != "constant"],
            "metrics": [{"name": o.name, "goal": o.goal} for o in config.objectives],
            "runs": [
                {
                    "run_id": r.run_id,
                    "params": r.params,
                    "stopped_by_sweep": r.stop_reason,
                    "run": run_json(r.run) if r.run is not None else None,
                }
                for r in runs
            ],
            "best_run_id": best.run_id if best is not None else None,
            "pareto_front": front,
            "importance": parameter_importance(config, scored),
        }
    )


@router.post(SWEEP + "/{action}")
def control_sweep(
    entity: str,
    project: str,
    sweep_id: str,
    action: Literal["pause", "resume", "stop", "cancel"],
    store: StoreDep,
    user: CurrentUser,
) -> ApiResponse:
    """Pause, resume, stop (no new runs; running runs finish) or cancel (running runs are stopped too)."""
    require_project_write(store, user, entity, project)
    sweep = _sweep(store, entity, project, sweep_id)
    return ApiResponse(_sweep_json(store.sweeps.control(sweep, action)))
