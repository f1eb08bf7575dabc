"""The REST API's routers, gathered into one under ``/api/v1`` (see ``docs/rest-api.md``)."""

from __future__ import annotations

from fastapi import APIRouter

from runyard.server.routes import (
    accounts,
    artifacts,
    ingest,
    ingest_artifacts,
    media,
    meta,
    projects,
    run,
    runs,
    sso,
    sweep_agents,
    sweeps,
)

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(meta.router)
api_router.include_router(accounts.router)
api_router.include_router(projects.router)
api_router.include_router(runs.router)
api_router.include_router(run.router)
api_router.include_router(sweeps.router)
api_router.include_router(ingest.router)
api_router.include_router(ingest_artifacts.router)
api_router.include_router(media.router)
api_router.include_router(artifacts.router)
api_router.include_router(sweep_agents.router)
api_router.include_router(sso.router)
