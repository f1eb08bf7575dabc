"""Which keys a project's (or a run's) data holds: what the web app offers as columns, filters and charts.

Config and summary keys are flattened as history keys are (``optimizer.lr``); history keys come from the
series table and system-metrics keys from the samples' JSON objects, both listed by the database.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.key_index import key_set, list_keys
from runyard.store.models import ProjectKeys
from runyard.store.schema import runs, series
from runyard.store.sql import SqlaSql
from runyard.store.streams import system_keys

__all__ = ["chart_keys", "project_keys", "public_project_keys", "run_keys"]

# The x axes every row carries: not metrics a chart would plot as a y.
_AXES = frozenset({"_step", "_runtime", "_timestamp"})


def chart_keys(keys: Iterable[str]) -> list[str]:
    """``keys`` without the x axes (``_step``, ``_runtime``, ``_timestamp``) and ``system/*``, sorted."""
    return sorted({key for key in keys if key not in _AXES and not key.startswith("system/")})


def project_keys(conn: Connection, project_id: int) -> ProjectKeys:
    """Every config, summary, history and system key any run of the project has.

    Config and summary keys come from the project's maintained key table (:mod:`runyard.store.key_index`),
    not from its runs' rows."""
    project_runs = sa.select(runs.c.id).where(runs.c.project_id == project_id)
    listed = list_keys(SqlaSql(conn), project_id)
    history = conn.execute(sa.select(series.c.key).where(series.c.run_pk.in_(project_runs)).distinct()).scalars()
    return ProjectKeys(
        # "_wandb" holds the custom charts' specs (wandb.plot.*), drawn as panels: not config columns.
        config=[key for key in listed["config"] if not key.startswith("_wandb.")],
        summary=listed["summary"],
        history=chart_keys(history),
        system=system_keys(conn, project_runs),
    )


def public_project_keys(conn: Connection, project_id: int) -> ProjectKeys:
    """:func:`project_keys` of the project's public runs only: what an outsider may see of a project whose
    other runs are private. Read from those runs themselves (the maintained key table counts every run)."""
    public_runs = sa.select(runs.c.id).where(runs.c.project_id == project_id, runs.c.visibility == "public")
    pairs: set[tuple[str, str]] = set()
    rows = conn.execute(
        sa.select(runs.c.config, runs.c.summary).where(runs.c.project_id == project_id, runs.c.visibility == "public")
    )
    for config, summary in rows:
        pairs |= key_set(config, summary)
    history = conn.execute(sa.select(series.c.key).where(series.c.run_pk.in_(public_runs)).distinct()).scalars()
    return ProjectKeys(
        config=sorted(k for root, k in pairs if root == "config" and not k.startswith("_wandb.")),
        summary=sorted(k for root, k in pairs if root == "summary"),
        history=chart_keys(history),
        system=system_keys(conn, public_runs),
    )


def run_keys(conn: Connection, run_pk: int) -> tuple[list[str], list[str]]:
    """``(history keys, system keys)`` of one run, as :func:`project_keys` lists them."""
    history = conn.execute(sa.select(series.c.key).where(series.c.run_pk == run_pk)).scalars()
    return chart_keys(history), system_keys(conn, [run_pk])
