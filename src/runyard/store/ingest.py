"""Applying one batch of run-log records to the store, inside one write transaction.

Idempotence rests on ``sessions.last_seq``: records with a seq at or below it were applied before and are
skipped, the rest must follow it without a hole. The session row (and then the run row) is locked first, so
two ingesters of the same session or run (possible on PostgreSQL) apply batches one after the other; on SQLite
the ``BEGIN IMMEDIATE`` of the write transaction already serialises all writers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import IngestGapError, StoreError
from runyard.flatten import flatten
from runyard.records import (
    KIND_CONFIG,
    KIND_CONSOLE,
    KIND_EXIT,
    KIND_FILE,
    KIND_HEARTBEAT,
    KIND_META,
    KIND_METADATA,
    KIND_METRIC,
    KIND_ROW,
    KIND_START,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KINDS,
    STATE_CRASHED,
    STATE_RUNNING,
    Record,
)
from runyard.store.engine import dialect_insert
from runyard.store.history import OpenBlock, OpenBlockCache, Points, append_points
from runyard.store.run_files import file_of, upsert_files
from runyard.store.schema import entities, projects, runs, sessions
from runyard.store.streams import ConsoleRow, SystemRow, append_console, console_rows, insert_system_rows, system_row
from runyard.summary_fold import SummaryFolder

__all__ = ["apply_batch", "heartbeat", "mark_crashed", "session_of"]

_ACTIVITY_RESOLUTION_S = 1.0

# meta body key -> runs column
_META_COLUMNS = {
    "name": "name",
    "notes": "notes",
    "tags": "tags",
    "group": "group_name",
    "job_type": "job_type",
    "preempting_at": "preempting_at",  # run.mark_preempting(): when the process said it is about to be preempted
}


def session_of(records: Sequence[Record], session: str | None) -> str:
    """The session a batch belongs to: the start record's, else the caller's ``session=``."""
    if records and records[0][1] == KIND_START:
        body_session = records[0][2].get("session")
        if not isinstance(body_session, str) or not body_session:
            raise StoreError("a start record must name its session")
        if session is not None and session != body_session:
            raise StoreError(f"batch of session {body_session!r} ingested as session {session!r}")
        return body_session
    if session is None:
        raise StoreError("a batch that does not begin with its session's start record needs session=")
    return session


def apply_batch(
    conn: Connection, records: Sequence[Record], session: str, now: float, cache: OpenBlockCache
) -> tuple[int, dict[int, OpenBlock]]:
    """Apply the records of one session not applied yet. Returns (last applied seq, open blocks to cache)."""
    found = _lock_session(conn, session)
    if found is None and records and records[0][1] == KIND_START:
        start = records[0][2]
        run_pk = _ensure_run(conn, start, now)
        conn.execute(
            dialect_insert(conn, sessions)
            .values(session=session, run_pk=run_pk, last_seq=0, started_at=float(start.get("started_at", now)))
            .on_conflict_do_nothing(index_elements=[sessions.c.session])
        )
        found = _lock_session(conn, session)
    last_seq = found[1] if found is not None else 0
    new = _new_records(records, session, last_seq)
    if not new:
        return last_seq, {}
    if found is None:
        raise StoreError(f"session {session!r} is unknown and its batch does not begin with a start record")
    run_pk = found[0]
    if new[0][0] == 1 and new[0][1] != KIND_START:
        raise StoreError(f"session {session!r}: record 1 must be a start record, not {new[0][1]!r}")
    run = dict(conn.execute(sa.select(runs).where(runs.c.id == run_pk).with_for_update()).mappings().one())
    staged = _apply(conn, run, new, now, cache)
    conn.execute(sa.update(sessions).where(sessions.c.session == session).values(last_seq=new[-1][0]))
    # Every run of a project shares this row: touching it at most once a second keeps concurrent ingesters
    # (PostgreSQL) from queueing on its row lock.
    conn.execute(
        sa.update(projects)
        .where(projects.c.id == run["project_id"], projects.c.last_activity < now - _ACTIVITY_RESOLUTION_S)
        .values(last_activity=now)
    )
    return new[-1][0], staged


def heartbeat(conn: Connection, session: str, t: float) -> None:
    """Move the heartbeat of a session's run forward to ``t`` (a no-op for an unknown session).

    A run marked crashed reads running again: its process is evidently alive.
    """
    run_pk = sa.select(sessions.c.run_pk).where(sessions.c.session == session).scalar_subquery()
    conn.execute(sa.update(runs).where(runs.c.id == run_pk, runs.c.heartbeat_at < t).values(heartbeat_at=float(t)))
    conn.execute(sa.update(runs).where(runs.c.id == run_pk, runs.c.state == STATE_CRASHED).values(state=STATE_RUNNING))


def mark_crashed(conn: Connection, session: str) -> bool:
    """Store a running run as crashed now, if ``session`` is its latest session. Returns whether it did.

    An ingester whose training process died calls this instead of waiting for the heartbeat to go stale. A
    session that a newer one (a resume) has superseded must not touch the run.
    """
    found = conn.execute(sa.select(sessions.c.run_pk).where(sessions.c.session == session)).scalar()
    if found is None:
        return False
    latest = conn.execute(
        sa.select(sessions.c.session)
        .where(sessions.c.run_pk == found)
        .order_by(sessions.c.started_at.desc(), sessions.c.session.desc())
        .limit(1)
    ).scalar()
    if latest != session:
        return False
    result = conn.execute(
        sa.update(runs).where(runs.c.id == found, runs.c.state == STATE_RUNNING).values(state=STATE_CRASHED)
    )
    return bool(result.rowcount)


def _new_records(records: Sequence[Record], session: str, last_seq: int) -> list[Record]:
    new: list[Record] = []
    expected = last_seq + 1
    for record in records:
        seq = record[0]
        if not new and isinstance(seq, int) and seq < expected:
            continue  # applied by an earlier batch: a replay
        if seq != expected:
            raise IngestGapError(
                f"session {session!r}: expected record seq {expected}, got {seq!r} "
                f"(last applied {last_seq}); the batch was not applied"
            )
        if record[1] not in KINDS:
            raise StoreError(f"session {session!r}: record {seq} has unknown kind {record[1]!r}")
        new.append(record)
        expected += 1
    return new


def _apply(
    conn: Connection, run: dict[str, Any], new: list[Record], now: float, cache: OpenBlockCache
) -> dict[int, OpenBlock]:
    """Fold the records into ``run`` (a mutable copy of its row), append history, write the row back."""
    original = dict(run)
    folder = SummaryFolder(run["summary"], run["summary_state"], run["metrics"])
    config: dict[str, Any] = run["config"]
    points: Points = {}
    console: list[ConsoleRow] = []
    samples: list[SystemRow] = []
    files: dict[str, bytes] = {}
    heartbeat = max(run["heartbeat_at"], now)
    for _seq, kind, body in new:
        if kind == KIND_ROW:
            step = body.get("_step")
            if type(step) is not int:
                step = run["last_step"] + 1
            folder.fold_row(body)
            for key, value in flatten(body).items():
                if key == "_step":
                    continue
                entry = points.get(key)
                if entry is None:
                    points[key] = ([step], [value])
                else:
                    entry[0].append(step)
                    entry[1].append(value)
            if step > run["last_step"]:
                run["last_step"] = step
            runtime = body.get("_runtime")
            if isinstance(runtime, (int, float)) and math.isfinite(runtime) and runtime > run["runtime"]:
                run["runtime"] = float(runtime)
        elif kind == KIND_START:
            config = dict(body.get("config") or {})
            _apply_start(run, body)
        elif kind == KIND_CONFIG:
            config.update(body.get("set") or {})
            for key in body.get("delete") or ():
                config.pop(key, None)
        elif kind == KIND_SUMMARY:
            folder.set(body.get("set") or {})
            folder.delete(body.get("delete") or ())
        elif kind == KIND_METRIC:
            folder.define(body)
        elif kind == KIND_META:
            for key, column in _META_COLUMNS.items():
                if key in body:
                    run[column] = list(body[key]) if key == "tags" else body[key]
        elif kind == KIND_HEARTBEAT:
            heartbeat = max(heartbeat, float(body["t"]))
        elif kind == KIND_EXIT:
            run["state"] = body["state"]
            run["exit_code"] = body.get("exit_code")
            run["finished_at"] = float(body["t"])
            run["runtime"] = float(body.get("runtime", run["runtime"]))
        elif kind == KIND_CONSOLE:
            console.extend(console_rows(body, now))
        elif kind == KIND_SYSTEM:
            samples.append(system_row(body))
        elif kind == KIND_METADATA:
            run["metadata"] = {**run["metadata"], **body}  # a new dict: the change check below sees it
        elif kind == KIND_FILE:
            name, content = file_of(body)
            files[name] = content  # the last of a batch's files of one name wins
    # Any applied record means the run's process (or its sync) is alive: a run read as crashed reads running.
    run["heartbeat_at"] = heartbeat
    if run["state"] == STATE_CRASHED:
        run["state"] = STATE_RUNNING
    run["config"] = config
    run["summary"] = folder.summary
    run["summary_state"] = folder.state
    run["metrics"] = folder.metrics
    staged = append_points(conn, run["id"], points, cache)
    append_console(conn, run["id"], console)
    insert_system_rows(conn, run["id"], samples)
    upsert_files(conn, run["id"], files, now)
    # JSON columns are always rewritten: they were mutated in place, so comparing with `original` proves nothing.
    changes = {k: v for k, v in run.items() if k != "id" and (k in _JSON_COLUMNS or original[k] != v)}
    conn.execute(sa.update(runs).where(runs.c.id == run["id"]).values(**changes))
    return staged


_JSON_COLUMNS = frozenset({"config", "summary", "summary_state", "metrics", "tags"})


def _apply_start(run: dict[str, Any], body: dict[str, Any]) -> None:
    # A resumed session reopens the run: running again, exit code and finish cleared, created_at kept. A stop
    # asked of an earlier session is spent: the new session must not be interrupted for it.
    run.update(
        name=body.get("name") or run["name"] or "",
        notes=body.get("notes"),
        tags=list(body.get("tags") or []),
        group_name=body.get("group"),
        job_type=body.get("job_type"),
        state=STATE_RUNNING,
        exit_code=None,
        finished_at=None,
        host=body.get("host") or "",
        username=body.get("username") or "",
        program=body.get("program") or "",
        pid=body.get("pid"),
        stop_requested_at=None,
    )
    started_at = body.get("started_at")
    if isinstance(started_at, (int, float)):
        run["heartbeat_at"] = max(run["heartbeat_at"], float(started_at))
    offset = body.get("runtime_offset")
    if isinstance(offset, (int, float)) and offset > run["runtime"]:
        run["runtime"] = float(offset)


def _lock_session(conn: Connection, session: str) -> tuple[int, int] | None:
    row = conn.execute(
        sa.select(sessions.c.run_pk, sessions.c.last_seq).where(sessions.c.session == session).with_for_update()
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def _ensure_run(conn: Connection, start: dict[str, Any], now: float) -> int:
    """The run a start record names, created (with its project and entity) when missing."""
    for field in ("entity", "project", "run_id"):
        if not isinstance(start.get(field), str) or not start[field]:
            raise StoreError(f"start record of session {start.get('session')!r} lacks {field!r}")
    entity_id = _get_or_create(conn, entities, {"name": start["entity"]}, {"created_at": now})
    project_id = _get_or_create(
        conn,
        projects,
        {"entity_id": entity_id, "name": start["project"]},
        {"created_at": now, "last_activity": now},
    )
    created = float(start.get("created_at") or now)
    return _get_or_create(
        conn,
        runs,
        {"project_id": project_id, "run_id": start["run_id"]},
        {
            "name": start.get("name") or "",
            "tags": [],
            "state": STATE_RUNNING,
            "config": {},
            "summary": {},
            "summary_state": {},
            "metrics": [],
            "metadata": {},
            "created_at": created,
            "heartbeat_at": float(start.get("started_at") or created),
        },
    )


def _get_or_create(conn: Connection, table: sa.Table, keys: dict[str, Any], defaults: dict[str, Any]) -> int:
    where = [table.c[name] == value for name, value in keys.items()]
    found = conn.execute(sa.select(table.c.id).where(*where)).scalar()
    if found is not None:
        return int(found)
    # Another writer may create the same row between our SELECT and INSERT (PostgreSQL): let it win quietly.
    conn.execute(
        dialect_insert(conn, table).values(**keys, **defaults).on_conflict_do_nothing(index_elements=list(keys))
    )
    return int(conn.execute(sa.select(table.c.id).where(*where)).scalar_one())
