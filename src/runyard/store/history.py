"""Appending history points to series blocks, with a cache of the open (last, not yet full) block per series.

A live run appends a few points per series every batch. Its newest points sit in the series' last block,
which each batch rewrites until it holds ``BLOCK_SIZE`` points; then a new block starts. Decoding that block
again on every batch would cost more than the write itself, so the :class:`OpenBlockCache` keeps it decoded.
A cached block is trusted only while the database still shows the same block number and point count: another
process (a second ingester, a ``runyard sync``) may have appended in between.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.store.blocks import BLOCK_SIZE, build_block, decode_block
from runyard.store.engine import dialect_insert
from runyard.store.schema import blocks, series

__all__ = ["OpenBlock", "OpenBlockCache", "Points", "append_points"]

Points = dict[str, tuple[list[int], list[Any]]]
"""Per flattened history key: the steps and values to append, in step order."""

# zlib level for a block that the next batch will rewrite anyway, and for a full block that is written once.
_OPEN_LEVEL = 1
_FULL_LEVEL = 6
_KEY_CHUNK = 500  # keys per IN (...) list, well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class OpenBlock:
    """The decoded last block of a series."""

    block_no: int
    steps: list[int]
    values: list[Any]


class OpenBlockCache:
    """An LRU of decoded open blocks keyed by series id, bounded by the total number of points held."""

    def __init__(self, max_points: int = 500_000) -> None:
        self._max_points = max_points
        self._blocks: OrderedDict[int, OpenBlock] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()

    def get(self, series_id: int, block_no: int, count: int) -> OpenBlock | None:
        """The cached block, if it still matches what the database holds."""
        with self._lock:
            block = self._blocks.get(series_id)
            if block is None:
                return None
            if block.block_no != block_no or len(block.steps) != count:
                self._drop(series_id)
                return None
            self._blocks.move_to_end(series_id)
            return block

    def install(self, staged: Mapping[int, OpenBlock]) -> None:
        """Remember the blocks a committed transaction left open."""
        with self._lock:
            for series_id, block in staged.items():
                self._drop(series_id)
                if len(block.steps) >= BLOCK_SIZE:
                    continue  # full: the next append starts a fresh block and needs nothing from it
                self._blocks[series_id] = block
                self._points += len(block.steps)
            while self._points > self._max_points and self._blocks:
                _, old = self._blocks.popitem(last=False)
                self._points -= len(old.steps)

    def discard(self, series_ids: Mapping[int, Any]) -> None:
        with self._lock:
            for series_id in series_ids:
                self._drop(series_id)

    def _drop(self, series_id: int) -> None:
        old = self._blocks.pop(series_id, None)
        if old is not None:
            self._points -= len(old.steps)

    def __len__(self) -> int:
        return len(self._blocks)


def append_points(conn: Connection, run_pk: int, points: Points, cache: OpenBlockCache) -> dict[int, OpenBlock]:
    """Append points to a run's series (creating series as needed) inside the caller's transaction.

    Returns the open block of every touched series, for the caller to :meth:`OpenBlockCache.install` once the
    transaction has committed (never before: a rolled-back append must not linger in the cache).
    """
    if not points:
        return {}
    last = _series_tails(conn, run_pk, list(points))
    missing = [key for key in points if key not in last]
    if missing:
        conn.execute(sa.insert(series), [{"run_pk": run_pk, "key": key} for key in missing])
        last.update(_series_tails(conn, run_pk, missing))
    staged: dict[int, OpenBlock] = {}
    rows: list[dict[str, Any]] = []
    for key, (new_steps, new_values) in points.items():
        series_id, block_no, count = last[key]
        steps: list[int]
        values: list[Any]
        if block_no is None:
            block_no, steps, values = 0, new_steps, new_values
        elif count >= BLOCK_SIZE:
            block_no, steps, values = block_no + 1, new_steps, new_values
        else:
            open_block = cache.get(series_id, block_no, count) or _load_block(conn, series_id, block_no)
            steps = open_block.steps + new_steps
            values = open_block.values + new_values
        for start in range(0, len(steps), BLOCK_SIZE):
            chunk_steps = steps[start : start + BLOCK_SIZE]
            chunk_values = values[start : start + BLOCK_SIZE]
            full = len(chunk_steps) == BLOCK_SIZE
            stats, data = build_block(chunk_steps, chunk_values, _FULL_LEVEL if full else _OPEN_LEVEL)
            rows.append(
                {
                    "series_id": series_id,
                    "block_no": block_no + start // BLOCK_SIZE,
                    "step_min": stats.step_min,
                    "step_max": stats.step_max,
                    "count": stats.count,
                    "nan_count": stats.nan_count,
                    "vmin": stats.vmin,
                    "vmax": stats.vmax,
                    "vsum": stats.vsum,
                    "vlast": stats.vlast,
                    "data": data,
                }
            )
            staged[series_id] = OpenBlock(block_no + start // BLOCK_SIZE, chunk_steps, chunk_values)
    stmt = dialect_insert(conn, blocks)
    stmt = stmt.on_conflict_do_update(
        index_elements=[blocks.c.series_id, blocks.c.block_no],
        set_={
            name: stmt.excluded[name]
            for name in (
                "step_min",
                "step_max",
                "count",
                "nan_count",
                "vmin",
                "vmax",
                "vsum",
                "vlast",
                "data",
            )
        },
    )
    conn.execute(stmt, rows)
    return staged


def _series_tails(conn: Connection, run_pk: int, keys: list[str]) -> dict[str, tuple[int, int | None, int]]:
    """Per key: series id, last block number (None if no block yet) and that block's point count."""
    inner = blocks.alias("b2")
    last_no = (
        sa.select(sa.func.max(inner.c.block_no))
        .where(inner.c.series_id == series.c.id)
        .correlate(series)
        .scalar_subquery()
    )
    out: dict[str, tuple[int, int | None, int]] = {}
    for i in range(0, len(keys), _KEY_CHUNK):
        query = (
            sa.select(series.c.key, series.c.id, blocks.c.block_no, blocks.c.count)
            .select_from(
                series.outerjoin(blocks, sa.and_(blocks.c.series_id == series.c.id, blocks.c.block_no == last_no))
            )
            .where(series.c.run_pk == run_pk, series.c.key.in_(keys[i : i + _KEY_CHUNK]))
        )
        for key, series_id, block_no, count in conn.execute(query):
            out[key] = (series_id, block_no, count or 0)
    return out


def _load_block(conn: Connection, series_id: int, block_no: int) -> OpenBlock:
    data = conn.execute(
        sa.select(blocks.c.data).where(blocks.c.series_id == series_id, blocks.c.block_no == block_no)
    ).scalar_one()
    steps, values = decode_block(data)
    return OpenBlock(block_no, steps, values)
