"""Rollups: a coarse summary of every full history block, so that charts of long series never decode points.

A chart of a million-point series in 1,000 buckets wants ~1,000 points per bucket, and every 4,096-point block
straddles bucket edges: the block summaries cannot answer it and decoding the points costs ~100 ms a series.
So each *full* block (``BLOCK_SIZE`` points: full blocks never change once written) is also cut into
``CHUNK`` = 256-point *chunks*, and each chunk is summarised by one fixed-size record::

    first, last   int64    the steps of the chunk's first and last point
    last_x        int64    the step of its last numeric value (0 when it has none)
    count         int64    its points, of any value type
    min, max      float64  its smallest and largest numeric value (NaN when it has none)
    vlast         float64  its last numeric value (NaN when none)

"Numeric" is what the block summaries count: ints (not bools) and non-NaN floats, as floats; ints beyond the
float range count as ±inf. Records sit in the ``rollups`` table, one row per series and *segment* of
``SEGMENT_BLOCKS`` consecutive block numbers, the records of its blocks concatenated in block order, with a
bit mask of the blocks present: a million-point series has 16 rows, which one query reads for a hundred runs
(a row per block would be 245 rows a series, and rows, not bytes, are what reading costs).

Writing: when an append produces full blocks (compaction, every ``BLOCK_SIZE`` points of a series) their
records are merged into their segment rows in the same transaction, reading an existing segment row only when
the new block is not its first. Blocks that are not full (a live series' open tail) have no rollup: readers
decode them, they are small. Stores written before migration 0004 have full blocks without rollups; readers
decode what the rollups do not cover (see :mod:`runyard.store.chart_reads`).

Pure Python on the write path (ingestion must not load numpy into the training process).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runyard.store.blocks import BLOCK_SIZE
from runyard.store.sql import Sql

__all__ = [
    "CHUNK",
    "CHUNKS_PER_BLOCK",
    "RECORD",
    "SEGMENT_BLOCKS",
    "FullBlock",
    "as_number",
    "chunk_records",
    "write_rollups",
]

CHUNK = 256
"""Points per chunk: 1M points in 1,000 buckets puts ~4 chunks in each bucket; 390 KB of records a series."""

CHUNKS_PER_BLOCK = BLOCK_SIZE // CHUNK
SEGMENT_BLOCKS = 16
"""Block numbers per rollups row: 16 × 16 records × 56 bytes = 14 KiB at most, rewritten once per new block."""

RECORD = struct.Struct("<qqqqddd")
"""One chunk: first, last, last_x, count, min, max, vlast (see the module docstring)."""

_BLOCK_BYTES = CHUNKS_PER_BLOCK * RECORD.size
_KEY_CHUNK = 400  # (series, segment) pairs per IN (...) list: two parameters each, under SQLite's limit
_NAN = math.nan


def as_number(value: Any) -> float | None:
    """A value as the summaries count it: ints (not bools) and non-NaN floats, as floats (huge ints: ±inf)."""
    kind = type(value)
    if kind is float:
        return value if value == value else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return None


def chunk_records(steps: Sequence[int], values: Sequence[Any], clean: bool) -> bytes:
    """The records of one block's points, ``CHUNK`` at a time. ``clean``: every value is an int (within
    int64) or a non-NaN float, so C-level ``min``/``max`` over a slice are the numeric extremes."""
    out: list[bytes] = []
    pack = RECORD.pack
    for start in range(0, len(steps), CHUNK):
        chunk_steps = steps[start : start + CHUNK]
        chunk_values = values[start : start + CHUNK]
        first, last = chunk_steps[0], chunk_steps[-1]
        if clean:
            try:
                # float() is monotonic: the extremes of the ints are those of their floats.
                low, high, vlast = float(min(chunk_values)), float(max(chunk_values)), float(chunk_values[-1])
            except OverflowError:  # an int beyond float range (not from the write path): point by point
                pass
            else:
                out.append(pack(first, last, last, len(chunk_steps), low, high, vlast))
                continue
        low = high = vlast = _NAN
        last_x = 0
        for step, value in zip(chunk_steps, chunk_values):
            number = as_number(value)
            if number is None:
                continue
            if not low <= number:  # NaN (nothing yet) compares false
                low = number
            if not high >= number:
                high = number
            vlast, last_x = number, step
        out.append(pack(first, last, last_x, len(chunk_steps), low, high, vlast))
    return b"".join(out)


@dataclass(frozen=True)
class FullBlock:
    """A full block just written: what its rollup needs."""

    series_id: int
    block_no: int
    records: bytes  # chunk_records() of its points


def write_rollups(sql: Sql, written: Sequence[FullBlock]) -> None:
    """Merge the records of newly written full blocks into their segment rows (in the caller's transaction)."""
    # Only blocks of BLOCK_SIZE points (readers count CHUNKS_PER_BLOCK records a block; tests that shrink the
    # ingest geometry make smaller "full" blocks, left to be decoded).
    written = [block for block in written if len(block.records) == _BLOCK_BYTES]
    if not written:
        return
    groups: dict[tuple[int, int], dict[int, bytes]] = {}
    for block in written:
        groups.setdefault((block.series_id, block.block_no // SEGMENT_BLOCKS), {})[block.block_no] = block.records
    # A segment whose first block is among the new ones starts afresh; others extend a stored row.
    to_read = [key for key, found in groups.items() if key[1] * SEGMENT_BLOCKS not in found]
    for start in range(0, len(to_read), _KEY_CHUNK):
        part = to_read[start : start + _KEY_CHUNK]
        where = " OR ".join(f"(series_id = :s{i} AND seg_no = :g{i})" for i in range(len(part)))
        params = {f"{name}{i}": value for i, pair in enumerate(part) for name, value in zip("sg", pair)}
        query = f"SELECT series_id, seg_no, mask, data FROM rollups WHERE {where}"
        for series_id, seg_no, mask, data in sql.run(query, params).fetchall():
            found = groups[(int(series_id), int(seg_no))]
            for block_no, records in _split(int(seg_no), int(mask), bytes(data)).items():
                found.setdefault(block_no, records)  # the new records win
    rows = []
    for (series_id, seg_no), found in groups.items():
        ordered = sorted(found)
        mask = sum(1 << (block_no - seg_no * SEGMENT_BLOCKS) for block_no in ordered)
        first = RECORD.unpack_from(found[ordered[0]])[0]
        last = RECORD.unpack_from(found[ordered[-1]], _BLOCK_BYTES - RECORD.size)[1]
        data = b"".join(found[block_no] for block_no in ordered)
        rows.append(
            {"series_id": series_id, "seg_no": seg_no, "mask": mask, "step_min": first, "step_max": last, "data": data}
        )
    sql.many(_UPSERT, rows)


def _split(seg_no: int, mask: int, data: bytes) -> dict[int, bytes]:
    """A segment row's records by block number (a row that does not add up is ignored: rewritten whole)."""
    numbers = [seg_no * SEGMENT_BLOCKS + i for i in range(SEGMENT_BLOCKS) if mask >> i & 1]
    if len(data) != len(numbers) * _BLOCK_BYTES:
        return {}
    return {block_no: data[i * _BLOCK_BYTES : (i + 1) * _BLOCK_BYTES] for i, block_no in enumerate(numbers)}


_UPSERT = (
    "INSERT INTO rollups (series_id, seg_no, mask, step_min, step_max, data)"
    " VALUES (:series_id, :seg_no, :mask, :step_min, :step_max, :data)"
    " ON CONFLICT (series_id, seg_no) DO UPDATE SET mask = excluded.mask, step_min = excluded.step_min,"
    " step_max = excluded.step_max, data = excluded.data"
)
