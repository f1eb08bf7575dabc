"""Appending history points to series blocks: each batch costs in proportion to its new points.

A series is a sequence of blocks numbered 0, 1, 2... with increasing, non-overlapping steps. All but the last
few are *full* (``BLOCK_SIZE`` points); the trailing ones that are not full are the series' *open tail*.
A batch appends its points of a series as one new small block at the end of the tail, so a live run never
rewrites what it wrote before, except:

* merging: a new block and the tail's last block are merged while the last is no larger than the new one and
  both hold at most ``MERGE_LIMIT`` points together (a run ingesting a few points at a time thus keeps a
  short tail: sizes double, as in a binary counter, up to ``MERGE_LIMIT``, and each point is rewritten a few
  times, always in a small block);
* compaction: once the tail and the new points add up to ``BLOCK_SIZE`` or more, they are rewritten as full
  blocks (numbered from the tail's first block) plus one small block with the remainder. A series' full
  blocks thus always hold points ``BLOCK_SIZE * k`` to ``BLOCK_SIZE * (k + 1) - 1``, whatever the batches
  were, and carry the same statistics and data;
* a tail of ``TAIL_BLOCKS_MAX`` blocks (possible only with batch sizes that keep shrinking) is merged into one.

Every full block written also gets its chunk summaries (:mod:`runyard.store.rollups`), in the same transaction.

Block numbers stay dense: a merged or compacted block takes the number of the first block it replaces and
the numbers it no longer needs, all at the end, are deleted. Everything happens in the caller's transaction.

Per batch, one query reads each touched series' last block (number, count, step range). Rewriting needs the
tail's points: the :class:`OpenBlockCache` keeps each series' tail decoded, trusted only while the database
still shows the same last block (another process, a second ingester or a ``runyard sync``, may have appended
in between); a miss decodes the tail from the database, once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from runyard.store.blocks import BLOCK_SIZE, PreparedBlock, decode_block, join_blocks, prepare_block
from runyard.store.rollups import FullBlock, chunk_records, write_rollups
from runyard.store.sql import Sql, in_list

__all__ = [
    "MERGE_LIMIT",
    "TAIL_BLOCKS_MAX",
    "LastBlock",
    "OpenBlock",
    "OpenBlockCache",
    "Points",
    "TailBlock",
    "append_points",
]

Points = dict[str, tuple[list[int], list[Any]]]
"""Per flattened history key: the steps and values to append, in step order. ``append_points`` keeps the
lists (in its cache): the caller must not change them afterwards."""

MERGE_LIMIT = 256
"""Points up to which a new small block is merged into the series' last block (see the module docstring)."""

TAIL_BLOCKS_MAX = 32
"""Blocks an open tail may hold; a batch that would make it longer rewrites the tail as one block."""

_TAIL_LOOKBACK = 2 * TAIL_BLOCKS_MAX  # blocks before a series' last one that the tail query looks at
_KEY_CHUNK = 500  # keys (or series) per IN (...) list, well under SQLite's bound-parameter limit
_CLEAN_KINDS = (b"f", b"i")  # block value kinds holding ints (within int64) or floats only
_BLOCK_COLUMNS = ("step_min", "step_max", "count", "nan_count", "vmin", "vmax", "vsum", "vlast", "data")


@dataclass(frozen=True)
class TailBlock:
    """One decoded block of an open tail."""

    block_no: int
    step_min: int
    step_max: int
    steps: list[int]
    values: list[Any]
    prepared: PreparedBlock | None = None  # as encoded (None: decoded from the database)


LastBlock = tuple[int, int, int, int]
"""``(block number, point count, step_min, step_max)`` of a series' last block."""


@dataclass(frozen=True)
class OpenBlock:
    """The decoded open tail of a series: its trailing blocks that are not full, in block order (maybe none)."""

    blocks: tuple[TailBlock, ...]

    @property
    def last(self) -> LastBlock | None:
        """What the database must show as the series' last block for this tail to still hold."""
        if not self.blocks:
            return None
        block = self.blocks[-1]
        return (block.block_no, len(block.steps), block.step_min, block.step_max)

    @property
    def points(self) -> int:
        return sum(len(block.steps) for block in self.blocks)


class OpenBlockCache:
    """An LRU of decoded open tails keyed by series id, bounded by the total number of points held.

    A tail is trusted while the series' last block in the database is the one the tail ends with (same number,
    point count and step range): an append by another writer changes the last block, since new points land in
    it or after it, at larger steps (a series' steps increase: the SDK never logs a step twice or backwards).
    """

    def __init__(self, max_points: int = 500_000) -> None:
        self._max_points = max_points
        self._tails: OrderedDict[int, tuple[OpenBlock, int]] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()

    def get(self, series_id: int, last: LastBlock) -> OpenBlock | None:
        """The cached tail, if the series' last block in the database (``last``) is still the one it ends with."""
        with self._lock:
            found = self._tails.get(series_id)
            if found is None:
                return None
            if found[0].last != last:
                self._drop(series_id)
                return None
            self._tails.move_to_end(series_id)
            return found[0]

    def install(self, staged: Mapping[int, OpenBlock]) -> None:
        """Remember the tails a committed transaction left."""
        with self._lock:
            for series_id, tail in staged.items():
                self._drop(series_id)
                if not tail.blocks:
                    continue  # the last block is full: the next append needs nothing from it
                points = tail.points
                self._tails[series_id] = (tail, points)
                self._points += points
            while self._points > self._max_points and self._tails:
                _, (_, points) = self._tails.popitem(last=False)
                self._points -= points

    def discard(self, series_ids: Mapping[int, Any]) -> None:
        with self._lock:
            for series_id in series_ids:
                self._drop(series_id)

    def _drop(self, series_id: int) -> None:
        old = self._tails.pop(series_id, None)
        if old is not None:
            self._points -= old[1]

    def __len__(self) -> int:
        return len(self._tails)


def append_points(sql: Sql, run_pk: int, points: Points, cache: OpenBlockCache) -> dict[int, OpenBlock]:
    """Append points to a run's series (creating series as needed) inside the caller's transaction.

    Returns the open tail of every touched series, for the caller to :meth:`OpenBlockCache.install` once the
    transaction has committed (never before: a rolled-back append must not linger in the cache).
    """
    if not points:
        return {}
    lasts = _last_blocks(sql, run_pk, list(points))
    missing = [key for key in points if key not in lasts]
    if missing:
        sql.many(
            'INSERT INTO series (run_pk, "key") VALUES (:run_pk, :key)',
            [{"run_pk": run_pk, "key": key} for key in missing],
        )
        lasts.update(_last_blocks(sql, run_pk, missing))
    tails: dict[int, OpenBlock] = {}
    to_load: dict[int, int] = {}
    for series_id, last in lasts.values():
        if last is None or last[1] >= BLOCK_SIZE:
            tails[series_id] = _NO_TAIL
        else:
            cached = cache.get(series_id, last)
            if cached is not None:
                tails[series_id] = cached
            else:
                to_load[series_id] = last[0]
    if to_load:
        tails.update(_load_tails(sql, to_load))
    rows: list[dict[str, Any]] = []
    deletes: list[dict[str, int]] = []
    full: list[FullBlock] = []
    staged: dict[int, OpenBlock] = {}
    for key, (new_steps, new_values) in points.items():
        series_id, last = lasts[key]
        tail = tails[series_id].blocks
        next_no = 0 if last is None else last[0] + 1
        rewrite_from = _rewrite_from([len(block.steps) for block in tail], len(new_steps))
        pieces: list[tuple[list[int], list[Any], PreparedBlock]] = []  # the blocks to write, in order
        block_no = next_no
        rest_steps, rest_values = new_steps, new_values
        redone = tail[rewrite_from:]
        redone_points = sum(len(block.steps) for block in redone)
        if redone:
            block_no = redone[0].block_no
        if redone_points >= BLOCK_SIZE:  # only in a database written otherwise: cut everything afresh
            rest_steps = list(chain.from_iterable([*(block.steps for block in redone), new_steps]))
            rest_values = list(chain.from_iterable([*(block.values for block in redone), new_values]))
        elif redone:
            # The first block rewritten: the redone tail blocks and the first new points.
            head = min(len(new_steps), BLOCK_SIZE - redone_points)
            head_steps, head_values = new_steps[:head], new_values[:head]
            rest_steps, rest_values = new_steps[head:], new_values[head:]
            prepared = _join(redone, head_steps, head_values)
            # The points are needed: by the tail if the block is not full, by its rollup if it is.
            steps = list(chain.from_iterable([*(block.steps for block in redone), head_steps]))
            values = list(chain.from_iterable([*(block.values for block in redone), head_values]))
            if prepared is None:
                prepared = prepare_block(steps, values)
            pieces.append((steps, values, prepared))
        whole = len(rest_steps) <= BLOCK_SIZE
        for start in range(0, len(rest_steps), BLOCK_SIZE):
            chunk_steps = rest_steps if whole else rest_steps[start : start + BLOCK_SIZE]
            chunk_values = rest_values if whole else rest_values[start : start + BLOCK_SIZE]
            pieces.append((chunk_steps, chunk_values, prepare_block(chunk_steps, chunk_values)))
        new_tail = list(tail[:rewrite_from])
        for steps, values, prepared in pieces:
            stats = prepared.stats
            rows.append(
                {
                    "series_id": series_id,
                    "block_no": block_no,
                    "step_min": stats.step_min,
                    "step_max": stats.step_max,
                    "count": stats.count,
                    "nan_count": stats.nan_count,
                    "vmin": stats.vmin,
                    "vmax": stats.vmax,
                    "vsum": stats.vsum,
                    "vlast": stats.vlast,
                    "data": prepared.encode(),
                }
            )
            if stats.count < BLOCK_SIZE:
                new_tail.append(TailBlock(block_no, stats.step_min, stats.step_max, steps, values, prepared))
            else:
                clean = prepared.kind in _CLEAN_KINDS and stats.nan_count == 0
                full.append(FullBlock(series_id, block_no, chunk_records(steps, values, clean)))
            block_no += 1
        if next_no > block_no:  # merged blocks freed the numbers at the end
            deletes.append({"d_series": series_id, "d_from": block_no})
        staged[series_id] = OpenBlock(tuple(new_tail))
    if deletes:
        sql.many("DELETE FROM blocks WHERE series_id = :d_series AND block_no >= :d_from", deletes)
    if rows:
        sql.many(_UPSERT, rows)
    write_rollups(sql, full)
    return staged


_NO_TAIL = OpenBlock(())


def _join(redone: tuple[TailBlock, ...], steps: list[int], values: list[Any]) -> PreparedBlock | None:
    """The block of the ``redone`` tail blocks' points followed by new points, from what encoding the tail
    blocks found, when they allow it (see :func:`join_blocks`); None otherwise."""
    parts: list[tuple[PreparedBlock, list[Any]]] = []
    for block in redone:
        if block.prepared is None or not block.prepared.joinable:
            return None
        parts.append((block.prepared, block.values))
    parts.append((prepare_block(steps, values), values))
    return join_blocks(parts)


def _rewrite_from(counts: list[int], new: int) -> int:
    """Index of the first tail block that a batch of ``new`` points rewrites (``len(counts)``: none)."""
    if sum(counts) + new >= BLOCK_SIZE:
        return 0  # compaction
    i, size = len(counts), new
    while i and counts[i - 1] <= size and counts[i - 1] + size <= MERGE_LIMIT:
        i -= 1
        size += counts[i]
    return i if i < TAIL_BLOCKS_MAX else 0


# Per series of a run (by key): its id, and its last block's number, count and step range (or NULLs).
_LAST_BLOCKS = (
    'SELECT s."key", s.id, b.block_no, b."count", b.step_min, b.step_max FROM series s'
    " LEFT OUTER JOIN blocks b ON b.series_id = s.id"
    " AND b.block_no = (SELECT max(b2.block_no) FROM blocks b2 WHERE b2.series_id = s.id)"
    ' WHERE s.run_pk = :t_run AND s."key" IN '
)
_UPSERT = (
    "INSERT INTO blocks (series_id, block_no, " + ", ".join(f'"{name}"' for name in _BLOCK_COLUMNS) + ")"
    " VALUES (:series_id, :block_no, " + ", ".join(f":{name}" for name in _BLOCK_COLUMNS) + ")"
    " ON CONFLICT (series_id, block_no) DO UPDATE SET "
    + ", ".join(f'"{name}" = excluded."{name}"' for name in _BLOCK_COLUMNS)
)


def _last_blocks(sql: Sql, run_pk: int, keys: list[str]) -> dict[str, tuple[int, LastBlock | None]]:
    """Per key that has a series: the series id and its last block (None: no block yet)."""
    out: dict[str, tuple[int, LastBlock | None]] = {}
    for i in range(0, len(keys), _KEY_CHUNK):
        listed, params = in_list("k", keys[i : i + _KEY_CHUNK])
        params["t_run"] = run_pk
        for key, series_id, block_no, count, step_min, step_max in sql.run(_LAST_BLOCKS + listed, params).fetchall():
            out[key] = (series_id, None if block_no is None else (block_no, count, step_min, step_max))
    return out


def _load_tails(sql: Sql, last_nos: dict[int, int]) -> dict[int, OpenBlock]:
    """Decode the open tails of some series from the database: series id -> the number of its last block.

    The tail is the run of blocks that are not full ending with the last one; only the last
    ``_TAIL_LOOKBACK`` blocks are looked at (a longer run stays as it is: nothing is lost, it is just not
    merged).
    """
    found: dict[int, list[TailBlock]] = {}
    ids = list(last_nos)
    for i in range(0, len(ids), _KEY_CHUNK):
        part = ids[i : i + _KEY_CHUNK]
        near_end = " OR ".join(f"(series_id = :s{n} AND block_no > :b{n})" for n in range(len(part)))
        params: dict[str, Any] = {"full": BLOCK_SIZE}
        for n, sid in enumerate(part):
            params[f"s{n}"] = sid
            params[f"b{n}"] = last_nos[sid] - _TAIL_LOOKBACK
        query = (
            f'SELECT series_id, block_no, step_min, step_max, data FROM blocks WHERE ({near_end}) AND "count" < :full'
        )
        for series_id, block_no, step_min, step_max, data in sql.run(query, params).fetchall():
            steps, values = decode_block(bytes(data))
            found.setdefault(series_id, []).append(TailBlock(block_no, step_min, step_max, steps, values))
    out: dict[int, OpenBlock] = {}
    for series_id, last_no in last_nos.items():
        partial = sorted(found.get(series_id, ()), key=lambda block: block.block_no)
        start = len(partial)
        while start and partial[start - 1].block_no == last_no - (len(partial) - start):
            start -= 1
        out[series_id] = OpenBlock(tuple(partial[start:]))
    return out
