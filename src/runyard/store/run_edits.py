"""Edits that do not come from a run's own records: ``runyard.Api`` changing a run, or deleting it.

Both lock like ingestion does (the run's session rows, then its run row), so on PostgreSQL an edit and a live
run's batch apply one after the other instead of deadlocking or overwriting each other; on SQLite the write
transaction's ``BEGIN IMMEDIATE`` serialises them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import UsageError
from runyard.store.artifacts.tables import artifact_usage, artifact_versions
from runyard.store.key_index import KeySet, key_set, record_key_changes
from runyard.store.media.schema import media_keys
from runyard.store.run_values import SortKey, record_value_changes, sort_keys
from runyard.store.schema import (
    blocks,
    console_lines,
    lost_records,
    projects,
    rollups,
    run_files,
    run_values,
    runs,
    series,
    sessions,
    system_samples,
)
from runyard.store.sql import SqlaSql

__all__ = ["VISIBILITIES", "delete_run", "lock_run", "request_stop", "update_run"]

VISIBILITIES = ("private", "public")


def lock_run(conn: Connection, run_pk: int) -> int | None:
    """Lock a run for an edit (sessions first, as ingestion does); returns its project's id, None if gone."""
    conn.execute(sa.select(sessions.c.session).where(sessions.c.run_pk == run_pk).with_for_update()).all()
    found = conn.execute(sa.select(runs.c.project_id).where(runs.c.id == run_pk).with_for_update()).scalar()
    return None if found is None else int(found)


def update_run(
    conn: Connection,
    run_pk: int,
    *,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    visibility: str | None = None,
) -> None:
    """Change the given fields of a run; ``config``, ``summary`` and ``metadata`` replace the stored dicts.

    The summary's aggregator state is kept, so a resumed run that logs a key again folds on from its history.
    """
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if notes is not None:
        values["notes"] = notes
    if tags is not None:
        if isinstance(tags, str):
            raise TypeError("tags must be a sequence of strings, not one string")
        values["tags"] = [str(tag) for tag in tags]
    if config is not None:
        values["config"] = dict(config)
    if summary is not None:
        values["summary"] = dict(summary)
    if metadata is not None:
        values["metadata"] = dict(metadata)
    if visibility is not None:
        if visibility not in VISIBILITIES:
            raise UsageError(f"visibility must be 'private' or 'public', not {visibility!r}")
        values["visibility"] = visibility
    if values:
        before = _run_keys(conn, run_pk) if "config" in values or "summary" in values else None
        conn.execute(sa.update(runs).where(runs.c.id == run_pk).values(**values))
        if before is not None:
            project_id, old_keys, old_values = before
            _, new_keys, new_values = _run_keys(conn, run_pk)
            record_key_changes(SqlaSql(conn), project_id, old_keys, new_keys)
            record_value_changes(SqlaSql(conn), run_pk, project_id, old_values, new_values)


def _run_keys(conn: Connection, run_pk: int) -> tuple[int, KeySet, dict[tuple[str, str], SortKey]]:
    """The run's project, its config and summary keys and their sort keys, as stored now."""
    row = conn.execute(sa.select(runs.c.project_id, runs.c.config, runs.c.summary).where(runs.c.id == run_pk)).one()
    return int(row.project_id), key_set(row.config, row.summary), sort_keys(row.config, row.summary)


def delete_run(conn: Connection, run_pk: int, project_id: int, now: float) -> list[int]:
    """Delete a run and all its data; returns the ids of its deleted series (for the open-block cache).

    Every child table is emptied explicitly rather than through ``ON DELETE CASCADE`` alone: the cascades
    exist on both backends, but an explicit delete does not depend on SQLite's ``foreign_keys`` pragma being
    on for the connection at hand. The project's last activity moves to ``now``.
    """
    series_ids = [int(sid) for sid in conn.execute(sa.select(series.c.id).where(series.c.run_pk == run_pk)).scalars()]
    for by_series in (blocks, rollups):  # rollups too: SQLite may give a deleted series' id to a new one
        conn.execute(
            sa.delete(by_series).where(
                by_series.c.series_id.in_(sa.select(series.c.id).where(series.c.run_pk == run_pk))
            )
        )
    tables = (series, sessions, lost_records, console_lines, system_samples, run_files, run_values, artifact_usage)
    for table in (*tables, media_keys):
        conn.execute(sa.delete(table).where(table.c.run_pk == run_pk))
    # The artifact versions it logged stay (other runs may use them); they only forget their maker.
    conn.execute(sa.update(artifact_versions).where(artifact_versions.c.run_pk == run_pk).values(run_pk=None))
    _, old_keys, _ = _run_keys(conn, run_pk)
    conn.execute(sa.delete(runs).where(runs.c.id == run_pk))
    record_key_changes(SqlaSql(conn), project_id, old_keys, frozenset())
    conn.execute(
        sa.update(projects).where(projects.c.id == project_id, projects.c.last_activity < now).values(last_activity=now)
    )
    return series_ids


def request_stop(conn: Connection, run_pk: int, now: float) -> None:
    """Mark a running run as asked to stop at ``now``.

    The run's ingester polls this mark and interrupts the training process once for each new time (see
    :mod:`runyard.sinks.ingester`), so asking again is a second Ctrl-C.
    """
    conn.execute(sa.update(runs).where(runs.c.id == run_pk).values(stop_requested_at=now))
