"""Applying one batch of run-log records to the store, inside one write transaction.

Idempotence rests on ``sessions.last_seq``: records with a seq at or below it were applied before and are
skipped, the rest must follow it without a hole. The session row (and then the run row) is locked first, so
two ingesters of the same session or run (possible on PostgreSQL) apply batches one after the other; on SQLite
the ``BEGIN IMMEDIATE`` of the write transaction already serialises all writers.

Plain SQL through :class:`runyard.store.sql.Sql` (no SQLAlchemy): the ingester process of a SQLite store runs
this on a sqlite3 connection, :class:`runyard.store.Store` on its SQLAlchemy connection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.errors import IngestGapError, StoreError
from runyard.flatten import flatten
from runyard.records import (
    KIND_ARTIFACT,
    KIND_CONFIG,
    KIND_CONSOLE,
    KIND_EXIT,
    KIND_FILE,
    KIND_GAP,
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
    STATE_KILLED,
    STATE_RUNNING,
    Record,
)
from runyard.store.artifacts.writes import apply_artifact
from runyard.store.blob_refs import BlobRef
from runyard.store.file_writes import file_of, upsert_files
from runyard.store.history import OpenBlock, OpenBlockCache, Points, append_points
from runyard.store.key_index import key_set, record_key_changes
from runyard.store.killed_marks import revive_marked_killed
from runyard.store.losses import record_losses
from runyard.store.media.writes import record_media_keys
from runyard.store.run_values import record_value_changes, sort_keys
from runyard.store.sql import Sql, dump_json, for_update, json_param, load_json, scalar, text_safe
from runyard.store.stream_writes import (
    ConsoleRow,
    SystemRow,
    append_console,
    console_rows,
    insert_system_rows,
    system_row,
)
from runyard.summary_fold import SummaryFolder

__all__ = [
    "RUN_COLUMNS",
    "apply_batch",
    "heartbeat",
    "mark_crashed",
    "session_of",
    "session_progress",
    "stop_requested_at",
]

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
    sql: Sql, records: Sequence[Record], session: str, now: float, cache: OpenBlockCache
) -> tuple[int, dict[int, OpenBlock]]:
    """Apply the records of one session not applied yet. Returns (last applied seq, open blocks to cache)."""
    found = _lock_session(sql, session)
    if found is None and records and records[0][1] == KIND_START:
        start = records[0][2]
        run_pk = _ensure_run(sql, start, now)
        sql.run(
            'INSERT INTO sessions ("session", run_pk, last_seq, started_at) VALUES (:session, :run_pk, 0, :started_at)'
            ' ON CONFLICT ("session") DO NOTHING',
            {"session": session, "run_pk": run_pk, "started_at": float(start.get("started_at", now))},
        )
        found = _lock_session(sql, session)
    last_seq = found[1] if found is not None else 0
    new, lost = _new_records(records, session, last_seq)
    if not new:
        return last_seq, {}
    if found is None:
        raise StoreError(f"session {session!r} is unknown and its batch does not begin with a start record")
    run_pk = found[0]
    if new[0][0] == 1 and new[0][1] != KIND_START:
        raise StoreError(f"session {session!r}: record 1 must be a start record, not {new[0][1]!r}")
    run = _locked_run(sql, run_pk)
    keys_before = key_set(run["config"], run["summary"])
    values_before = sort_keys(run["config"], run["summary"])
    staged = _apply(sql, run, new, now, cache)
    record_key_changes(sql, run["project_id"], keys_before, key_set(run["config"], run["summary"]))
    record_value_changes(sql, run_pk, run["project_id"], values_before, sort_keys(run["config"], run["summary"]))
    gaps = [(r[2]["first"], r[0], r[2]) for r in new if r[1] == KIND_GAP] if lost else []
    if gaps:
        record_losses(sql, run_pk, session, gaps, now)
    sql.run('UPDATE sessions SET last_seq = :seq WHERE "session" = :session', {"seq": new[-1][0], "session": session})
    # Every run of a project shares this row: touching it at most once a second keeps concurrent ingesters
    # (PostgreSQL) from queueing on its row lock.
    sql.run(
        "UPDATE projects SET last_activity = :now WHERE id = :id AND last_activity < :since",
        {"now": now, "id": run["project_id"], "since": now - _ACTIVITY_RESOLUTION_S},
    )
    return new[-1][0], staged


_SESSION_RUN = '(SELECT run_pk FROM sessions WHERE "session" = :session)'


def heartbeat(sql: Sql, session: str, t: float) -> None:
    """Move the heartbeat of a session's run forward to ``t`` (a no-op for an unknown session).

    A run marked crashed reads running again: its process is evidently alive.
    """
    sql.run(
        f"UPDATE runs SET heartbeat_at = :t WHERE id = {_SESSION_RUN} AND heartbeat_at < :t",
        {"t": float(t), "session": session},
    )
    sql.run(
        f"UPDATE runs SET state = :running WHERE id = {_SESSION_RUN} AND state = :crashed",
        {"running": STATE_RUNNING, "crashed": STATE_CRASHED, "session": session},
    )


def mark_crashed(sql: Sql, session: str) -> bool:
    """Store a running run as crashed now, if ``session`` is its latest session. Returns whether it did.

    An ingester whose training process died calls this instead of waiting for the heartbeat to go stale. A
    session that a newer one (a resume) has superseded must not touch the run. A run that was asked to stop
    ends ``killed`` instead: its process died after the stop someone asked for (a trainer that ignored SIGINT
    and was then terminated, see :mod:`runyard.sinks.stopper`).
    """
    found = scalar(sql, 'SELECT run_pk FROM sessions WHERE "session" = :session', {"session": session})
    if found is None:
        return False
    latest = scalar(
        sql,
        'SELECT "session" FROM sessions WHERE run_pk = :run_pk ORDER BY started_at DESC, "session" DESC LIMIT 1',
        {"run_pk": found},
    )
    if latest != session:
        return False
    result = sql.run(
        "UPDATE runs SET state = CASE WHEN stop_requested_at IS NULL THEN :crashed ELSE :killed END"
        " WHERE id = :id AND state = :running",
        {"crashed": STATE_CRASHED, "killed": STATE_KILLED, "id": found, "running": STATE_RUNNING},
    )
    return bool(result.rowcount)


def session_progress(sql: Sql, session: str) -> int:
    """The last applied seq of a session (0 when the store has never seen it)."""
    found = scalar(sql, 'SELECT last_seq FROM sessions WHERE "session" = :session', {"session": session})
    return int(found) if found is not None else 0


def stop_requested_at(sql: Sql, session: str) -> float | None:
    """When the run of ``session`` was last asked to stop while it runs, or None (one primary-key join)."""
    found = scalar(
        sql,
        'SELECT r.stop_requested_at FROM sessions s JOIN runs r ON r.id = s.run_pk WHERE s."session" = :session'
        " AND r.state = :running",
        {"session": session, "running": STATE_RUNNING},
    )
    return None if found is None else float(found)


def _new_records(records: Sequence[Record], session: str, last_seq: int) -> tuple[list[Record], bool]:
    """The records after ``last_seq``, checked to follow each other; and whether a gap record is among them.

    A jump in sequence numbers is refused unless a ``gap`` record (a run-log reader's account of records lost
    to damage) covers it; its ``first`` is then moved up to the first seq the store lacks.
    """
    new: list[Record] = []
    expected = last_seq + 1
    lost = False
    for record in records:
        seq = record[0]
        if not new and isinstance(seq, int) and seq < expected:
            continue  # applied by an earlier batch: a replay
        if record[1] == KIND_GAP:
            record = _gap(record, session, expected)
            lost = True
        elif seq != expected:
            raise IngestGapError(
                f"session {session!r}: expected record seq {expected}, got {seq!r} "
                f"(last applied {last_seq}); the batch was not applied. Nothing said records were lost here: "
                "re-read the run log with `runyard sync`, which accounts for damaged records."
            )
        elif record[1] not in KINDS:
            raise StoreError(f"session {session!r}: record {seq} has unknown kind {record[1]!r}")
        new.append(record)
        expected = record[0] + 1
    return new, lost


def _gap(record: Record, session: str, expected: int) -> Record:
    seq, _, body = record
    first = body.get("first") if isinstance(body, dict) else None
    if type(seq) is not int or type(first) is not int or not first <= expected <= seq:
        raise IngestGapError(
            f"session {session!r}: a gap record ({seq!r}, {body!r}) does not cover the next record, {expected}; "
            "the batch was not applied"
        )
    return [seq, KIND_GAP, {**body, "first": expected}]


def _apply(sql: Sql, run: dict[str, Any], new: list[Record], now: float, cache: OpenBlockCache) -> dict[int, OpenBlock]:
    """Fold the records into ``run`` (a mutable copy of its row), append history, write the row back."""
    original = dict(run)
    folder = SummaryFolder(run["summary"], run["summary_state"], run["metrics"])
    config: dict[str, Any] = run["config"]
    points: Points = {}
    console: list[ConsoleRow] = []
    samples: list[SystemRow] = []
    files: dict[str, bytes | BlobRef] = {}
    heartbeat = max(run["heartbeat_at"], now)
    artifacts: list[dict[str, Any]] = []
    rows = _Rows(points)
    for _seq, kind, body in new:
        if kind == KIND_ROW:
            step = body.get("_step")
            if type(step) is not int:
                step = run["last_step"] + 1
            folder.fold_row(body)
            rows.add(step, flatten(body) if dict in map(type, body.values()) else body)
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
        elif kind == KIND_ARTIFACT:
            artifacts.append(body)
    rows.flush()
    # Any applied record means the run's process (or its sync) is alive: a run read as crashed reads running.
    run["heartbeat_at"] = heartbeat
    if run["state"] == STATE_CRASHED:
        run["state"] = STATE_RUNNING
    revive_marked_killed(run, now)  # consistent with crashed, but the mark stays in the metadata
    run["config"] = config
    run["summary"] = folder.summary
    run["summary_state"] = folder.state
    run["metrics"] = folder.metrics
    staged = append_points(sql, run["id"], points, cache)
    record_media_keys(sql, run["id"], points)
    append_console(sql, run["id"], console)
    insert_system_rows(sql, run["id"], samples)
    upsert_files(sql, run["id"], files, now)
    for body in artifacts:
        apply_artifact(sql, run["id"], run["project_id"], body, now)
    # JSON columns are always rewritten: they were mutated in place, so comparing with `original` proves nothing.
    changes = {k: v for k, v in run.items() if k != "id" and (k in _MUTATED_IN_PLACE or original[k] != v)}
    _update_run(sql, run["id"], changes)
    return staged


_MUTATED_IN_PLACE = frozenset({"config", "summary", "summary_state", "metrics", "tags"})
_JSON_COLUMNS = _MUTATED_IN_PLACE | {"metadata"}

RUN_COLUMNS = (
    "id", "project_id", "run_id", "name", "notes", "tags", "group_name", "job_type", "state", "exit_code",
    "config", "summary", "summary_state", "metrics", "created_at", "heartbeat_at", "finished_at", "runtime",
    "last_step", "host", "username", "program", "pid", "metadata", "visibility", "stop_requested_at",
    "preempting_at",
)  # fmt: skip
"""Every column of ``runs``, as ingestion reads and writes a run's row (a test compares it with the schema)."""

_SELECT_RUN = "SELECT " + ", ".join(f'"{name}"' for name in RUN_COLUMNS) + " FROM runs WHERE id = :id"


def _locked_run(sql: Sql, run_pk: int) -> dict[str, Any]:
    """The run's row as a mutable dict (JSON columns parsed), locked until the transaction ends."""
    row = sql.run(_SELECT_RUN + for_update(sql), {"id": run_pk}).fetchone()
    if row is None:
        raise StoreError(f"run {run_pk} vanished while its batch was applied")
    run = dict(zip(RUN_COLUMNS, row))
    for name in _JSON_COLUMNS:
        run[name] = load_json(run[name])
    return run


def _bind(sql: Sql, values: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Per column: its placeholder, and its parameter (JSON columns as their text)."""
    placeholders = {name: json_param(sql, name) if name in _JSON_COLUMNS else f":{name}" for name in values}
    params = {
        name: dump_json(value) if name in _JSON_COLUMNS else text_safe(value) if type(value) is str else value
        for name, value in values.items()
    }
    return placeholders, params


def _update_run(sql: Sql, run_pk: int, changes: dict[str, Any]) -> None:
    if not changes:
        return
    placeholders, params = _bind(sql, changes)
    sets = ", ".join(f'"{name}" = {placeholder}' for name, placeholder in placeholders.items())
    sql.run(f"UPDATE runs SET {sets} WHERE id = :id", {**params, "id": run_pk})


class _Rows:
    """Turns history rows into per-key columns of points.

    Consecutive rows with the same keys (the usual training loop) are kept as tuples and transposed once, at
    C speed, instead of appending every value to its key's list one by one: the row loop is most of what
    ingestion costs.
    """

    def __init__(self, points: Points) -> None:
        self.points = points
        self._keys: tuple[str, ...] = ()
        self._nul = False  # a key holds a NUL character
        self._steps: list[int] = []
        self._values: list[tuple[Any, ...]] = []

    def add(self, step: int, row: Mapping[str, Any]) -> None:
        keys = tuple(row)
        if keys != self._keys:
            self.flush()
            self._keys = keys
            self._nul = any("\x00" in key for key in keys)
        self._steps.append(step)
        self._values.append(tuple(row.values()))

    def flush(self) -> None:
        """Append the pending rows to ``points`` (in row order, so each key's steps stay increasing)."""
        if not self._steps:
            return
        steps = self._steps
        columns: Any = zip(self._keys, zip(*self._values))
        if self._nul:  # as the store keeps every text: NUL replaced; of keys that then collide, the last wins
            columns = {text_safe(key): column for key, column in columns}.items()
        for key, column in columns:
            if key == "_step":
                continue
            entry = self.points.get(key)
            if entry is None:
                self.points[key] = (list(steps), list(column))
            else:
                entry[0].extend(steps)
                entry[1].extend(column)
        self._steps = []
        self._values = []


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


def _lock_session(sql: Sql, session: str) -> tuple[int, int] | None:
    row = sql.run(
        'SELECT run_pk, last_seq FROM sessions WHERE "session" = :session' + for_update(sql), {"session": session}
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def _ensure_run(sql: Sql, start: dict[str, Any], now: float) -> int:
    """The run a start record names, created (with its project and entity) when missing."""
    for field in ("entity", "project", "run_id"):
        if not isinstance(start.get(field), str) or not start[field]:
            raise StoreError(f"start record of session {start.get('session')!r} lacks {field!r}")
    entity_id = _get_or_create(sql, "entities", {"name": start["entity"]}, {"created_at": now})
    project_id = _get_or_create(
        sql,
        "projects",
        {"entity_id": entity_id, "name": start["project"]},
        {"created_at": now, "last_activity": now},
    )
    created = float(start.get("created_at") or now)
    return _get_or_create(
        sql,
        "runs",
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


def _get_or_create(sql: Sql, table: str, keys: dict[str, Any], defaults: dict[str, Any]) -> int:
    keys = {name: text_safe(value) if type(value) is str else value for name, value in keys.items()}
    where = " AND ".join(f'"{name}" = :{name}' for name in keys)
    select = f"SELECT id FROM {table} WHERE {where}"
    found = scalar(sql, select, keys)
    if found is not None:
        return int(found)
    placeholders, params = _bind(sql, {**keys, **defaults})
    columns = ", ".join(f'"{name}"' for name in placeholders)
    conflict = ", ".join(f'"{name}"' for name in keys)
    # Another writer may create the same row between our SELECT and INSERT (PostgreSQL): let it win quietly.
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(placeholders.values())})"
    sql.run(f"{insert} ON CONFLICT ({conflict}) DO NOTHING", params)
    return int(scalar(sql, select, keys))
