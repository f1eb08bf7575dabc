"""A project's runs: the runs table (query), its grouping, and the charts' bucketed series.

Filters, search, order and bucketing are the store's (the same as ``runyard.Api()``); these handlers only
check the request's shape and turn the answer into JSON.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from runyard.server.deps import CurrentUser, StoreDep
from runyard.server.encoding import ApiResponse, finite
from runyard.server.guards import project_view
from runyard.server.views import run_json
from runyard.store.sampling import BucketColumns

router = APIRouter(tags=["runs"])

MAX_PAGE = 1000
MAX_BUCKETS = 5000
MAX_SERIES_RUNS = 1000
MAX_SERIES_KEYS = 200


class _Selection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: dict[str, Any] | None = Field(None, description="W&B's MongoDB-style filters, as runyard.Api() takes")
    search: str | None = Field(None, description="a regular expression matched in the display name, ignoring case")
    order: str | None = Field("-created_at", description="a field, '-' in front for descending (null: -created_at)")


class RunQuery(_Selection):
    """Which runs, in which order, which page."""

    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=0, le=MAX_PAGE)


class GroupQuery(_Selection):
    """Which runs, grouped by what."""

    group_by: str = Field(description="group, job_type, tags or config.KEY")


class SeriesQuery(BaseModel):
    """Which series, over which x range, in how many buckets."""

    model_config = ConfigDict(extra="forbid")

    runs: list[str] = Field(max_length=MAX_SERIES_RUNS, description="run ids of the project")
    keys: list[str] = Field(max_length=MAX_SERIES_KEYS, description="history keys")
    x: str = Field("_step", min_length=1, description="_step, _runtime, _timestamp or any history key")
    x_min: float | None = None
    x_max: float | None = None
    buckets: int = Field(1000, ge=1, le=MAX_BUCKETS)


@router.post("/projects/{entity}/{project}/runs/query")
def query_runs(entity: str, project: str, body: RunQuery, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """A page of the project's runs matching ``filters`` and ``search``, sorted by ``order``, with the total."""
    public_only = project_view(store, user, entity, project).public_only
    # The total first: a bad filter or pattern is reported before any page is fetched.
    total = store.count_runs(entity, project, filters=body.filters, search=body.search, public_only=public_only)
    runs = store.query_runs(
        entity,
        project,
        filters=body.filters,
        search=body.search,
        order=body.order,
        limit=body.limit,
        offset=body.offset,
        public_only=public_only,
    )
    return ApiResponse({"total": total, "runs": [run_json(run) for run in runs]})


@router.post("/projects/{entity}/{project}/runs/groups")
def group_runs(entity: str, project: str, body: GroupQuery, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """The matching runs grouped by one field; groups in the order of their first run."""
    public_only = project_view(store, user, entity, project).public_only
    groups = store.group_runs(
        entity,
        project,
        body.group_by,
        filters=body.filters,
        search=body.search,
        order=body.order,
        public_only=public_only,
    )
    return ApiResponse({"groups": [{"value": g.value, "count": g.count, "run_ids": g.run_ids} for g in groups]})


@router.post("/projects/{entity}/{project}/series")
def series(entity: str, project: str, body: SeriesQuery, store: StoreDep, user: CurrentUser) -> ApiResponse:
    """Chart data: each (run, key) cut into equal-width x buckets with min, max and last; columnar."""
    run_ids = body.runs
    if project_view(store, user, entity, project).public_only:
        public = store.public_run_ids(entity, project, run_ids)
        run_ids = [r for r in run_ids if r in public]  # a private run's series do not exist for an outsider
    # The columnar form of Store.bucket_series_many: no Python object per bucket (a 100-run chart has 100,000).
    found = store.bucket_columns_many(
        entity, project, run_ids, body.keys, x_axis=body.x, min_x=body.x_min, max_x=body.x_max, buckets=body.buckets
    )
    out = [
        _columns(run_id, key, found[(run_id, key)])
        for run_id in dict.fromkeys(run_ids)
        for key in dict.fromkeys(body.keys)
        if (run_id, key) in found
    ]
    # Non-finite floats were made strings column by column (_columns): no walk over every number again.
    return ApiResponse({"x": body.x, "series": out}, checked=True)


def _finite_column(column: Any) -> Any:
    """A column ready for the encoder, with ±inf as the API's strings and "no numeric value" as null.

    NumPy columns (the rollup path) go to orjson as they are — it writes their NaN, which marks a bucket
    without a number, as null — unless they hold ±inf. Bucket columns never hold NaN for a value (the store
    skips NaN points, see ``runyard.store.sampling.Bucket``), so a list column is checked for ±inf only, with
    two C-speed membership scans instead of a Python-level look at each of a chart's 700,000 numbers.
    """
    if isinstance(column, np.ndarray):
        if column.dtype.kind != "f" or not np.isinf(column).any():
            return column
        return [None if v != v else finite(v) for v in column.tolist()]
    if math.inf in column or -math.inf in column:
        return [finite(v) for v in column]
    return column


def _columns(run_id: str, key: str, columns: BucketColumns) -> dict[str, Any]:
    """One series' buckets as the API's columns."""
    return {
        "run": run_id,
        "key": key,
        "x_first": _scalar(columns.x_min[0]) if len(columns) else None,
        "x_last": _scalar(columns.x_max[-1]) if len(columns) else None,
        "x": _finite_column(columns.x),
        "min": _finite_column(columns.min),
        "max": _finite_column(columns.max),
        "last": _finite_column(columns.last),
        "count": columns.count,
    }


def _scalar(value: Any) -> Any:
    return finite(value.item() if hasattr(value, "item") else value)
