"""Read queries: runs, projects, resume state, and history merged across series by step.

History is read lazily: block metadata (a few bytes per 4096 points) is fetched up front, each block's data
only when the merge reaches it, on a short-lived connection so that a half-consumed iterator holds no
transaction.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runyard.store.blocks import decode_block
from runyard.store.models import ProjectRecord, ResumeState, RunRecord
from runyard.store.schema import blocks, entities, projects, runs, series, sessions

PUBLIC = "public"

__all__ = [
    "get_run",
    "history",
    "history_keys",
    "list_projects",
    "list_runs",
    "public_run_ids",
    "resume_state",
    "run_pk",
    "series_points",
    "session_entity",
    "visibility_of",
]

_RUN_JOIN = runs.join(projects, runs.c.project_id == projects.c.id).join(
    entities, projects.c.entity_id == entities.c.id
)


def run_pk(conn: Connection, entity: str, project: str, run_id: str) -> int | None:
    """The primary key of a run, or None."""
    return conn.execute(
        sa.select(runs.c.id)
        .select_from(_RUN_JOIN)
        .where(entities.c.name == entity, projects.c.name == project, runs.c.run_id == run_id)
    ).scalar()


def get_run(
    conn: Connection, entity: str, project: str, run_id: str, now: float, crash_timeout: float
) -> RunRecord | None:
    row = (
        conn.execute(
            sa.select(runs)
            .select_from(_RUN_JOIN)
            .where(entities.c.name == entity, projects.c.name == project, runs.c.run_id == run_id)
        )
        .mappings()
        .one_or_none()
    )
    return None if row is None else RunRecord.from_row(row, entity, project, now, crash_timeout)


def list_runs(conn: Connection, entity: str, project: str, now: float, crash_timeout: float) -> list[RunRecord]:
    rows = conn.execute(
        sa.select(runs)
        .select_from(_RUN_JOIN)
        .where(entities.c.name == entity, projects.c.name == project)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
    ).mappings()
    return [RunRecord.from_row(row, entity, project, now, crash_timeout) for row in rows]


def list_projects(
    conn: Connection, entity: str | None, name: str | None = None, readable: frozenset[str] | None = None
) -> list[ProjectRecord]:
    """Projects, most recently active first. With ``readable`` (the entities whose private things the reader
    may see; None: all), a project of another entity is listed only when it is public or holds a public run,
    and its run count counts only what the reader may read: a private run is not even counted."""
    counted = runs.c.project_id == projects.c.id
    query = sa.select(
        entities.c.name.label("entity"),
        projects.c.name,
        projects.c.created_at,
        projects.c.last_activity,
        projects.c.visibility,
    )
    if readable is not None:
        whole = sa.or_(entities.c.name.in_(sorted(readable)), projects.c.visibility == PUBLIC)
        public_run = sa.and_(counted, runs.c.visibility == PUBLIC)
        query = query.where(sa.or_(whole, sa.exists().where(public_run)))
        counted = sa.and_(counted, sa.or_(whole, runs.c.visibility == PUBLIC))
    run_count = sa.select(sa.func.count(runs.c.id)).where(counted).scalar_subquery()
    query = (
        query.add_columns(run_count.label("run_count"))
        .select_from(projects.join(entities, projects.c.entity_id == entities.c.id))
        .order_by(projects.c.last_activity.desc(), projects.c.id.desc())
    )
    if entity is not None:
        query = query.where(entities.c.name == entity)
    if name is not None:
        query = query.where(projects.c.name == name)
    return [ProjectRecord(**row) for row in conn.execute(query).mappings()]


def visibility_of(conn: Connection, entity: str, project: str, run_id: str | None) -> tuple[str, str] | None:
    """``(project visibility, run visibility)`` of a run (run visibility ``""`` when ``run_id`` is None: the
    project alone), or None when there is no such project or run."""
    if run_id is None:
        found = conn.execute(
            sa.select(projects.c.visibility, sa.literal(""))
            .select_from(projects.join(entities, projects.c.entity_id == entities.c.id))
            .where(entities.c.name == entity, projects.c.name == project)
        ).first()
    else:
        found = conn.execute(
            sa.select(projects.c.visibility, runs.c.visibility)
            .select_from(_RUN_JOIN)
            .where(entities.c.name == entity, projects.c.name == project, runs.c.run_id == run_id)
        ).first()
    return None if found is None else (str(found[0]), str(found[1]))


def session_entity(conn: Connection, session: str) -> str | None:
    """The entity of the run a session writes, or None for a session the store does not know."""
    found = conn.execute(
        sa.select(entities.c.name)
        .select_from(
            sessions.join(runs, sessions.c.run_pk == runs.c.id).join(projects, runs.c.project_id == projects.c.id)
        )
        .join(entities, projects.c.entity_id == entities.c.id)
        .where(sessions.c.session == session)
    ).scalar()
    return None if found is None else str(found)


def public_run_ids(conn: Connection, entity: str, project: str, run_ids: Sequence[str]) -> set[str]:
    """Which of ``run_ids`` are runs of the project whose visibility is public."""
    wanted = list(dict.fromkeys(run_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            conn.execute(
                sa.select(runs.c.run_id)
                .select_from(_RUN_JOIN)
                .where(
                    entities.c.name == entity,
                    projects.c.name == project,
                    runs.c.run_id.in_(chunk),
                    runs.c.visibility == PUBLIC,
                )
            ).scalars()
        )
    return found


def resume_state(conn: Connection, entity: str, project: str, run_id: str) -> ResumeState | None:
    row = (
        conn.execute(
            sa.select(runs)
            .select_from(_RUN_JOIN)
            .where(entities.c.name == entity, projects.c.name == project, runs.c.run_id == run_id)
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        return None
    return ResumeState(
        next_step=row["last_step"] + 1,
        runtime=row["runtime"],
        config=row["config"],
        summary=row["summary"],
        summary_state=row["summary_state"],
        metrics=row["metrics"],
        created_at=row["created_at"],
        name=row["name"],
        notes=row["notes"],
        tags=list(row["tags"]),
        group=row["group_name"],
        job_type=row["job_type"],
    )


def history_keys(conn: Connection, pk: int) -> list[str]:
    return list(conn.execute(sa.select(series.c.key).where(series.c.run_pk == pk).order_by(series.c.key)).scalars())


def series_points(conn: Connection, pk: int, key: str) -> tuple[list[int], list[Any]]:
    """All points of one series, in block order."""
    query = (
        sa.select(blocks.c.data)
        .select_from(blocks.join(series, blocks.c.series_id == series.c.id))
        .where(series.c.run_pk == pk, series.c.key == key)
        .order_by(blocks.c.block_no)
    )
    steps: list[int] = []
    values: list[Any] = []
    for data in conn.execute(query).scalars():
        block_steps, block_values = decode_block(data)
        steps.extend(block_steps)
        values.extend(block_values)
    return steps, values


def history(
    engine: Engine,
    pk: int,
    keys: Sequence[str] | None,
    min_step: int | None,
    max_step: int | None,
) -> Iterator[dict[str, Any]]:
    """Rows ``{"_step": s, key: value, ...}`` in step order, merged across the run's series."""
    wanted = None if keys is None else set(keys)
    chosen = series.c.run_pk == pk
    if wanted is not None and "_step" not in wanted:
        chosen = sa.and_(chosen, series.c.key.in_(sorted(wanted)))
    with engine.connect() as conn:
        query = sa.select(series.c.id, series.c.key).where(chosen).order_by(series.c.key)
        all_series = [(int(sid), str(key)) for sid, key in conn.execute(query)]
        block_query = sa.select(blocks.c.series_id, blocks.c.block_no).where(
            blocks.c.series_id.in_(sa.select(series.c.id).where(chosen))
        )
        if min_step is not None:
            block_query = block_query.where(blocks.c.step_max >= min_step)
        if max_step is not None:
            block_query = block_query.where(blocks.c.step_min <= max_step)
        block_nos: dict[int, list[int]] = {}
        for series_id, block_no in conn.execute(block_query.order_by(blocks.c.series_id, blocks.c.block_no)):
            block_nos.setdefault(series_id, []).append(block_no)
    names = [key for _, key in all_series]
    # With keys=["_step", ...], every series decides which steps exist but only the asked keys are returned.
    emit = [wanted is None or name in wanted for name in names]
    streams = [
        _series_stream(engine, series_id, index, block_nos.get(series_id, []), min_step, max_step)
        for index, (series_id, _) in enumerate(all_series)
    ]
    row: dict[str, Any] | None = None
    current = None
    for step, index, value in heapq.merge(*streams, key=itemgetter(0, 1)):
        if step != current:
            if row is not None:
                yield row
            row = {"_step": step}
            current = step
        if emit[index]:
            row[names[index]] = value  # type: ignore[index]
    if row is not None:
        yield row


def _series_stream(
    engine: Engine,
    series_id: int,
    index: int,
    block_nos: list[int],
    min_step: int | None,
    max_step: int | None,
) -> Iterator[tuple[int, int, Any]]:
    for block_no in block_nos:
        with engine.connect() as conn:
            data = conn.execute(
                sa.select(blocks.c.data).where(blocks.c.series_id == series_id, blocks.c.block_no == block_no)
            ).scalar()
        if data is None:
            continue
        steps, values = decode_block(data)
        for step, value in zip(steps, values, strict=True):
            if (min_step is None or step >= min_step) and (max_step is None or step <= max_step):
                yield step, index, value
