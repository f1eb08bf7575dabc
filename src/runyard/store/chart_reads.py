"""Bucketing many series along ``_step`` at once, from rollups where they pay: what a chart of 100 runs asks.

Everything is read in three queries whatever the number of series (rollup rows, the blocks they do not
cover, then any covered block that must be decoded after all; on PostgreSQL the first two for half of many
series on a second connection meanwhile) and bucketed with numpy, a few MB of records at a time.

**What a bucket holds.** The range ``[lo, hi]`` (default: the series' first to last step) is cut into ``n``
equal-width integer buckets exactly as :mod:`runyard.store.sampling` does. Every point in the range is
placed by a *key*: its own step, except for points of a chunk read from its rollup record, which are all
placed by the chunk's first step. Chunks are read from rollups only

* in *rollup mode*: when the blocks overlapping the range hold at least ``MIN_CHUNKS_PER_BUCKET`` chunks of
  points per bucket asked (``points >= buckets * CHUNK * MIN_CHUNKS_PER_BUCKET``, :func:`uses_rollups`;
  1M points in 1,000 buckets qualifies, a range of 500k points does not),
* and for chunks of full blocks that have a rollup (blocks written since migration 0004, or backfilled by it),
  lying entirely inside ``[lo, hi]``.

So in rollup mode a bucket's edges are in effect moved to the nearest chunk start (≤ 255 points away): every
bucket still reports the exact min, max, last value, count and x extent of the points it holds, only which
bucket a point near an edge lands in follows its chunk (so with ~4 chunks a bucket, buckets hold 3 or 4
chunks; none is empty where points are). Everything else (short or sparse series, zoomed
ranges, the open tail of a live series, chunks cut by the range's ends, blocks without rollups) is decoded
and placed point by point, exactly as :func:`runyard.store.sampling.bucket_series` places it.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import QueuePool

from runyard.store.block_arrays import Floats, Int64s, decode_arrays
from runyard.store.blocks import BLOCK_SIZE
from runyard.store.rollups import CHUNK, CHUNKS_PER_BLOCK, RECORD, SEGMENT_BLOCKS
from runyard.store.sampling import BucketColumns
from runyard.store.schema import blocks, rollups

__all__ = ["MIN_CHUNKS_PER_BUCKET", "bucket_steps_many", "uses_rollups"]

MIN_CHUNKS_PER_BUCKET = 2
"""Rollup mode needs this many chunks a bucket on average, so that moving edges to chunk starts stays small."""

_RECORD_DTYPE = np.dtype(
    [
        ("first", "<i8"),
        ("last", "<i8"),
        ("last_x", "<i8"),
        ("count", "<i8"),
        ("min", "<f8"),
        ("max", "<f8"),
        ("vlast", "<f8"),
    ]
)
assert _RECORD_DTYPE.itemsize == RECORD.size
_BLOCK_BYTES = CHUNKS_PER_BLOCK * RECORD.size
_IDS_CHUNK = 500  # ids per IN (...) list
_GROUPS_CHUNK = 50  # OR-ed conditions per query
_PAIRS_CHUNK = 400  # (series, block) pairs per IN (...) list
_ALL_BLOCKS = (1 << SEGMENT_BLOCKS) - 1  # the mask of a segment row holding all its blocks
_BATCH_RECORDS = 1 << 16  # records (pieces) bucketed at once: 3.5 MB
_SPLIT_MIN_SERIES = 8  # PostgreSQL: read this many series or more on two connections at once
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_SAFE = 1 << 62  # (key - lo) * n is computed in int64 below this, with Python ints beyond


def uses_rollups(points: int, buckets: int) -> bool:
    """Whether a range whose overlapping blocks hold ``points`` points is read in rollup mode."""
    return points >= buckets * CHUNK * MIN_CHUNKS_PER_BUCKET


@dataclass
class _Series:
    """What was read of one series: rollup rows overlapping the range, and the blocks they do not cover."""

    segments: list[tuple[int, int, bytes]] = field(default_factory=list)  # seg_no, mask, records
    covered_to: int = -1  # rollups cover blocks 0..covered_to without a gap
    raw: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # block_no: count, data


def bucket_steps_many(
    conn: Connection, series_ids: Sequence[int], buckets: int, min_x: float | None, max_x: float | None
) -> dict[int, BucketColumns]:
    """The non-empty ``_step`` buckets of each series (by id) over ``[min_x, max_x]``; series without any left out."""
    if min_x is not None and min_x == -math.inf:
        min_x = None
    if max_x is not None and max_x == math.inf:
        max_x = None
    if (min_x is not None and not math.isfinite(min_x)) or (max_x is not None and not math.isfinite(max_x)):
        return {}
    axis_lo = None if min_x is None else math.ceil(min_x)  # the axis: as bucket_series cuts it
    axis_hi = None if max_x is None else math.floor(max_x)
    lo = _INT64_MIN if axis_lo is None else max(_INT64_MIN, axis_lo)  # the steps read (steps are int64)
    hi = _INT64_MAX if axis_hi is None else min(_INT64_MAX, axis_hi)
    ids = list(dict.fromkeys(series_ids))
    if (
        not ids
        or lo > hi
        or (axis_lo is not None and axis_lo > _INT64_MAX)
        or (axis_hi is not None and axis_hi < _INT64_MIN)
    ):
        return {}
    read = _read_split(conn, ids, lo, hi)
    plans = {sid: _plan(series, buckets, lo, hi) for sid, series in read.items()}
    wanted = [(sid, block_no) for sid, plan in plans.items() for block_no in plan.decode]
    fetched = _fetch_blocks(conn, wanted) if wanted else {}
    return _reduce(
        [(sid, _pieces(read[sid], plans[sid], sid, fetched, lo, hi)) for sid in ids], buckets, axis_lo, axis_hi
    )


# -- reading -------------------------------------------------------------------------------------------------


def _read_split(conn: Connection, ids: list[int], lo: int, hi: int) -> dict[int, _Series]:
    """:func:`_read`; on PostgreSQL, for many series, half of them on a second pooled connection meanwhile.

    The rollups of 100 long series are ~22 MB, which one backend spends ~45 ms detoasting and sending while
    the client mostly waits: two backends do it in ~30 ms. Only with a pooled connection to spare (never
    waiting for one, so that concurrent charts cannot starve the pool); each half is read exactly as the
    whole would be (every series' rollup rows and its uncovered blocks on one connection).
    """
    if conn.dialect.name != "postgresql" or len(ids) < _SPLIT_MIN_SERIES or not _spare_connection(conn):
        return _read(conn, ids, lo, hi)
    half = len(ids) // 2
    other: dict[int, _Series] = {}
    failed: list[BaseException] = []

    def read_other() -> None:
        try:
            with conn.engine.connect() as second:
                other.update(_read(second, ids[half:], lo, hi))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=read_other, name="runyard-chart-read", daemon=True)
    thread.start()
    try:
        found = _read(conn, ids[:half], lo, hi)
    finally:
        thread.join()
    if failed:
        raise failed[0]
    found.update(other)
    return found


def _seg_no(segment: tuple[int, int, bytes]) -> int:
    return segment[0]


def _spare_connection(conn: Connection) -> bool:
    """Whether the engine's pool has a connection to lend without waiting (or room to open one)."""
    pool = conn.engine.pool
    return isinstance(pool, QueuePool) and pool.checkedout() < pool.size()


def _read(conn: Connection, ids: list[int], lo: int, hi: int) -> dict[int, _Series]:
    """Rollup rows overlapping the range, and the blocks in it that they do not cover (with their data)."""
    found = {sid: _Series() for sid in ids}
    overlap = sa.and_(rollups.c.step_max >= lo, rollups.c.step_min <= hi)
    masks: dict[int, dict[int, int]] = {sid: {} for sid in ids}  # seg_no: mask, of rows that add up
    for start in range(0, len(ids), _IDS_CHUNK):
        query = sa.select(
            rollups.c.series_id,
            rollups.c.seg_no,
            rollups.c.mask,
            sa.func.length(rollups.c.data),
            sa.case((overlap, rollups.c.data), else_=sa.null()),
        ).where(rollups.c.series_id.in_(ids[start : start + _IDS_CHUNK]))
        for sid, seg_no, mask, size, data in _rows(conn, query):
            if size != mask.bit_count() * _BLOCK_BYTES:
                continue  # a row that does not add up (never written so): its blocks count as uncovered
            masks[sid][seg_no] = mask & _ALL_BLOCKS
            if data is not None:
                found[sid].segments.append((int(seg_no), int(mask), bytes(data)))
    # Blocks past the gap-free covered prefix are read whole: the open tail, and any block without rollups.
    for sid, by_seg in masks.items():
        seg_no = 0
        while by_seg.get(seg_no) == _ALL_BLOCKS:
            seg_no += 1
        mask = by_seg.get(seg_no, 0)
        found[sid].covered_to = seg_no * SEGMENT_BLOCKS + (~mask & (mask + 1)).bit_length() - 2  # trailing ones
        found[sid].segments.sort(key=_seg_no)  # in segment order, whatever order the rows came in
    # One IN list per prefix length: series of the same length (a sweep) share one.
    by_prefix: dict[int, list[int]] = {}
    for sid, series in found.items():
        by_prefix.setdefault(series.covered_to, []).append(sid)
    groups = [
        (after, sids[i : i + _IDS_CHUNK]) for after, sids in by_prefix.items() for i in range(0, len(sids), _IDS_CHUNK)
    ]
    in_range = sa.and_(blocks.c.step_max >= lo, blocks.c.step_min <= hi)
    for start in range(0, len(groups), _GROUPS_CHUNK):
        conditions = [
            sa.and_(blocks.c.series_id.in_(sids), blocks.c.block_no > after)
            for after, sids in groups[start : start + _GROUPS_CHUNK]
        ]
        query = sa.select(blocks.c.series_id, blocks.c.block_no, blocks.c.count, blocks.c.data).where(
            sa.or_(*conditions), in_range
        )
        for row in conn.execute(query):
            found[row[0]].raw[int(row[1])] = (int(row[2]), bytes(row[3]))
    return found


def _rows(conn: Connection, query: sa.Select[Any]) -> Any:
    """The rows of a query; on PostgreSQL in binary format: bytea sent as text is hex, twice the bytes, and
    decoding 20 MB of it costs the client ~100 ms (the rollups of 100 long series)."""
    if conn.dialect.name != "postgresql":
        return conn.execute(query)
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection
    cursor = raw.cursor(binary=True)  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), compiled.params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _fetch_blocks(conn: Connection, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    out: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(wanted), _PAIRS_CHUNK):
        query = sa.select(blocks.c.series_id, blocks.c.block_no, blocks.c.data).where(
            sa.tuple_(blocks.c.series_id, blocks.c.block_no).in_(wanted[start : start + _PAIRS_CHUNK])
        )
        for sid, block_no, data in conn.execute(query):
            out[(int(sid), int(block_no))] = bytes(data)
    return out


# -- planning and bucketing ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    records: list[bytes]  # the records read from rollups (rollup mode: the chunks inside the range)
    decode: list[int]  # covered blocks whose points are needed, in order
    inside: npt.NDArray[np.bool_] | None  # rollup mode, zoomed: per covered record, whether it is read as such
    block_of: Int64s | None  # then: the block number of each covered record


def _plan(series: _Series, buckets: int, lo: int, hi: int) -> _Plan:
    """Rollup mode or not (see the module docstring), and what to read from rollups, what to decode."""
    parts: list[bytes] = []
    numbers: list[int] = []
    for seg_no, mask, data in series.segments:
        base = seg_no * SEGMENT_BLOCKS
        kept = [base + i for i in _bits(mask)]
        if kept[-1] > series.covered_to:  # past a gap: those blocks are read whole
            kept = [block_no for block_no in kept if block_no <= series.covered_to]
            data = data[: len(kept) * _BLOCK_BYTES]
        parts.append(data)
        numbers += kept
    tail_points = sum(count for count, _ in series.raw.values())
    if lo == _INT64_MIN and hi == _INT64_MAX:  # the whole series: every block overlaps, every chunk is inside
        if uses_rollups(BLOCK_SIZE * len(numbers) + tail_points, buckets):
            return _Plan(parts, [], None, None)
        return _Plan([], numbers, None, None)
    records = np.frombuffer(b"".join(parts), dtype=_RECORD_DTYPE)
    first, last = records["first"], records["last"]
    overlaps = (first[::CHUNKS_PER_BLOCK] <= hi) & (last[CHUNKS_PER_BLOCK - 1 :: CHUNKS_PER_BLOCK] >= lo)
    overlapping = [number for number, ok in zip(numbers, overlaps.tolist()) if ok]
    if not uses_rollups(BLOCK_SIZE * len(overlapping) + tail_points, buckets):
        return _Plan([], overlapping, None, None)
    inside = (first >= lo) & (last <= hi)
    cut = ~inside & (first <= hi) & (last >= lo)  # chunks cut by the range's ends: at most two
    block_of = np.repeat(np.array(numbers, dtype=np.int64), CHUNKS_PER_BLOCK)
    return _Plan([records[inside].tobytes()], np.unique(block_of[cut]).tolist(), inside, block_of)


@functools.lru_cache(maxsize=256)
def _bits(mask: int) -> tuple[int, ...]:
    """The block offsets a segment's mask holds."""
    return tuple(i for i in range(SEGMENT_BLOCKS) if mask >> i & 1)


def _point_records(steps: Int64s, values: Floats) -> bytes:
    """Single points as records: a chunk of one point."""
    out = np.empty(len(steps), dtype=_RECORD_DTYPE)
    out["first"] = out["last"] = out["last_x"] = steps
    out["count"] = 1
    out["min"] = out["max"] = out["vlast"] = values
    return out.tobytes()


def _pieces(
    series: _Series, plan: _Plan, sid: int, fetched: dict[tuple[int, int], bytes], lo: int, hi: int
) -> list[bytes]:
    """The series' *pieces* in step order, as records: chunk records read from rollups, and decoded points
    (a list of parts: they are joined once, for all series)."""
    parts = list(plan.records)
    for block_no in plan.decode:
        data = fetched.get((sid, block_no))
        if data is None:
            continue  # deleted meanwhile
        steps, values = decode_arrays(data)
        keep = (steps >= lo) & (steps <= hi)
        if plan.inside is not None and plan.block_of is not None:  # chunks read as records: not their points
            keep &= ~np.repeat(plan.inside[plan.block_of == block_no], CHUNK)[: len(steps)]
        parts.append(_point_records(steps[keep], values[keep]))
    for block_no in sorted(series.raw):
        steps, values = decode_arrays(series.raw[block_no][1])
        keep = (steps >= lo) & (steps <= hi)
        parts.append(_point_records(steps[keep], values[keep]))
    if plan.inside is not None and plan.decode:  # points of a chunk cut at lo come before the records
        records = np.frombuffer(b"".join(parts), dtype=_RECORD_DTYPE)
        parts = [records[np.argsort(records["first"], kind="stable")].tobytes()]
    return parts


def _reduce(
    found: list[tuple[int, list[bytes]]], buckets: int, lo: int | None, hi: int | None
) -> dict[int, BucketColumns]:
    """:func:`_reduce_batch` over batches of series of about ``_BATCH_RECORDS`` records: a few MB at a time stay
    in the CPU's cache and reuse the same memory, where all of a 100-run chart at once (25 MB of records, as
    much in temporaries) costs page faults each time, ~40% slower."""
    out: dict[int, BucketColumns] = {}
    batch: list[tuple[int, list[bytes]]] = []
    records = 0
    for sid, parts in found:
        size = sum(map(len, parts)) // RECORD.size
        if batch and records + size > _BATCH_RECORDS:
            out.update(_reduce_batch(batch, buckets, lo, hi))
            batch, records = [], 0
        batch.append((sid, parts))
        records += size
    out.update(_reduce_batch(batch, buckets, lo, hi))
    return out


def _reduce_batch(
    found: list[tuple[int, list[bytes]]], buckets: int, lo: int | None, hi: int | None
) -> dict[int, BucketColumns]:
    """Cut ``[lo, hi]`` (None: each series' first/last step) into buckets and summarise each one's pieces.

    All series at once: a bucket's global number is its series' offset plus its index, and every reduction
    runs once over the pieces of all series (a hundred series cost a few numpy calls, not a few hundred).
    """
    sizes_of = [(sid, parts, sum(map(len, parts)) // RECORD.size) for sid, parts in found]
    found = [(sid, parts) for sid, parts, size in sizes_of if size]
    sizes = [size for _, _, size in sizes_of if size]
    if not found:
        return {}
    records = np.frombuffer(b"".join([part for _, parts in found for part in parts]), dtype=_RECORD_DTYPE)
    bounds = np.cumsum([0, *sizes])
    first, last = records["first"], records["last"]
    axis_lo = first[bounds[:-1]].tolist() if lo is None else [lo] * len(found)
    axis_hi = last[bounds[1:] - 1].tolist() if hi is None else [hi] * len(found)
    spans = [b - a + 1 for a, b in zip(axis_lo, axis_hi)]
    ns = [max(1, min(buckets, span)) for span in spans]
    offsets = np.cumsum([0, *ns[:-1]]).tolist()
    if max(span * n for span, n in zip(spans, ns)) < _SAFE:
        sizes_array = np.array(sizes)
        gid = first - np.repeat(np.array(axis_lo, dtype=np.int64), sizes_array)  # in place below: less memory
        gid *= np.repeat(np.array(ns, dtype=np.int64), sizes_array)
        gid //= np.repeat(np.array(spans, dtype=np.int64), sizes_array)
        gid += np.repeat(np.array(offsets, dtype=np.int64), sizes_array)
    else:  # steps near the int64 limits: exact Python ints
        keys = first.tolist()
        gid = np.array(
            [
                (keys[j] - axis_lo[i]) * ns[i] // spans[i] + offsets[i]
                for i in range(len(found))
                for j in range(int(bounds[i]), int(bounds[i + 1]))
            ],
            dtype=np.int64,
        )
    size = len(gid)
    starts = np.flatnonzero(np.concatenate(([True], gid[1:] != gid[:-1])))
    ends = np.concatenate((starts[1:], [size])) - 1
    vlast = records["vlast"]
    no_number = np.isnan(vlast)
    if no_number.any():  # the last piece of a bucket with a number: the last one up to the bucket's end
        at = np.arange(size, dtype=np.int64)
        at[no_number] = -1
        np.maximum.accumulate(at, out=at)
        last_at = at[ends]
        has_last = last_at >= starts
        last_at[~has_last] = 0
    else:
        last_at, has_last = ends, np.ones(len(starts), dtype=np.bool_)
    x_max = last[ends]
    last_x = records["last_x"][last_at]
    # NumPy columns, not lists: the server hands them to its JSON encoder as they are (BucketColumns).
    x = np.where(has_last, last_x, x_max)
    x_min = first[starts]
    count = np.add.reduceat(records["count"], starts)
    low = np.fmin.reduceat(records["min"], starts)
    high = np.fmax.reduceat(records["max"], starts)
    last_values = np.where(has_last, vlast[last_at], np.nan)
    last_xs = np.where(has_last, last_x, x_max)
    # Each series' buckets: those starting within its pieces.
    cuts = np.searchsorted(starts, bounds).tolist()
    out: dict[int, BucketColumns] = {}
    for i, (sid, _) in enumerate(found):
        a, b = cuts[i], cuts[i + 1]
        out[sid] = BucketColumns(
            x=x[a:b],
            x_min=x_min[a:b],
            x_max=x_max[a:b],
            count=count[a:b],
            min=low[a:b],
            max=high[a:b],
            last=last_values[a:b],
            last_x=last_xs[a:b],
            has_last=has_last[a:b],
        )
    return out
