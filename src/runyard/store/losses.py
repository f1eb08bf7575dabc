"""What a store can say about a run's completeness: how many steps it holds, and which records it lost.

A run log that was damaged on disk (a flipped bit, a torn sector) is read past the damage: the reader keeps
every intact record and, where the skipped bytes held records, hands on a ``gap`` record naming them
(:data:`runyard.records.KIND_GAP`). Ingestion accepts a jump in a session's sequence numbers only through such a
record, and keeps it here, one ``lost_records`` row per gap, so the loss is never silent: ``runyard sync``
reports it and ``Store.lost_records`` lists it.

Plain SQL through :class:`runyard.store.sql.Sql`, as the rest of the write path (the ingester process uses it
without SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runyard.store.sql import Sql, scalar

__all__ = ["LostRecords", "lost_records", "record_losses", "stored_steps"]


@dataclass(frozen=True)
class LostRecords:
    """Records ``first_seq``..``last_seq`` of a session, lost in bytes ``log_start``..``log_end`` of its run log."""

    session: str
    first_seq: int
    last_seq: int
    log_start: int
    log_end: int
    noted_at: float

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


def record_losses(sql: Sql, run_pk: int, session: str, gaps: Sequence[tuple[int, int, Any]], now: float) -> None:
    """Keep the gaps ``(first_seq, last_seq, body)`` that a batch of ``session`` accepted."""
    sql.many(
        'INSERT INTO lost_records ("session", first_seq, run_pk, last_seq, log_start, log_end, noted_at)'
        " VALUES (:session, :first, :run_pk, :last, :start, :end, :now)"
        ' ON CONFLICT ("session", first_seq) DO NOTHING',
        [
            {
                "session": session,
                "first": first,
                "run_pk": run_pk,
                "last": last,
                "start": _offset(body, "start"),
                "end": _offset(body, "end"),
                "now": now,
            }
            for first, last, body in gaps
        ],
    )


def _offset(body: Any, key: str) -> int:
    value = body.get(key) if isinstance(body, dict) else None
    return value if type(value) is int else -1


def lost_records(sql: Sql, run_pk: int) -> list[LostRecords]:
    """Every gap recorded for a run, in the order its sessions lost them."""
    rows = sql.run(
        'SELECT "session", first_seq, last_seq, log_start, log_end, noted_at FROM lost_records'
        " WHERE run_pk = :run_pk ORDER BY noted_at, first_seq",
        {"run_pk": run_pk},
    ).fetchall()
    return [LostRecords(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5])) for r in rows]


def stored_steps(sql: Sql, session: str) -> int:
    """How many history rows (steps) the store holds for the run of ``session`` (0 for an unknown session).

    Every row the SDK logs carries ``_timestamp``, so its series has one point per row: the count is one indexed
    sum over that series' block summaries, whatever the run's length.
    """
    found = scalar(
        sql,
        'SELECT COALESCE(SUM(b."count"), 0) FROM blocks b JOIN series s ON s.id = b.series_id'
        ' WHERE s.run_pk = (SELECT run_pk FROM sessions WHERE "session" = :session) AND s."key" = :key',
        {"session": session, "key": "_timestamp"},
    )
    return int(found or 0)
