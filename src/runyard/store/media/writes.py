"""Recording media keys while history is ingested (plain SQL: the ingester process runs it without SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runyard.store.sql import Sql

__all__ = ["media_type_of", "record_media_keys"]


def media_type_of(values: Sequence[Any]) -> str | None:
    """The ``"_type"`` of a batch's values of one key when they are media references, else None.

    Only the first and last values are looked at: a key holds one kind of value (a script logs an image under
    ``"img"`` at every step), and looking at every point would cost the ingest loop a pass over all of them.
    """
    for value in (values[-1], values[0]) if values else ():
        if type(value) is dict:
            kind = value.get("_type")
            if isinstance(kind, str) and kind:
                return kind
    return None


def record_media_keys(sql: Sql, run_pk: int, points: Mapping[str, tuple[Sequence[int], Sequence[Any]]]) -> None:
    """Note the batch's media keys of run ``run_pk`` (a key keeps the type it was first seen with)."""
    rows = []
    for key, (_, values) in points.items():
        kind = media_type_of(values)
        if kind is not None:
            rows.append({"run_pk": run_pk, "key": key, "type": kind})
    if rows:
        sql.many(
            'INSERT INTO media_keys (run_pk, "key", "type") VALUES (:run_pk, :key, :type) ON CONFLICT DO NOTHING',
            rows,
        )
