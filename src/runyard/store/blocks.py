"""Encoding of history blocks: up to ``BLOCK_SIZE`` consecutive points of one series in one compact blob.

A block's ``data`` is one kind byte followed by a zlib stream of::

    header   struct "<Iq": point count n, first step
    steps    n int64 deltas (step[i] - step[i-1], the first 0), byte-shuffled
    values   kind "f": n float64, byte-shuffled         (every value a Python float)
             kind "i": n int64 deltas from 0, shuffled  (every value an int, not bool, deltas in int64)
             kind "o": one msgpack list                 (anything else: mixed numbers, bool, str, None...)

Byte shuffling (all first bytes, then all second bytes, ...) puts the slowly changing exponent and high bytes
side by side, which is what lets zlib reach a few bytes per float point. Pure functions, stdlib and msgpack
only.
"""

from __future__ import annotations

import math
import operator
import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Any

import msgpack

from runyard.errors import StoreError

__all__ = ["BLOCK_SIZE", "BlockStats", "block_stats", "build_block", "decode_block", "encode_block"]

BLOCK_SIZE = 4096
"""Points per block: a full block of floats compresses to ~10-30 KiB; smaller ones cost rows."""

_HEADER = struct.Struct("<Iq")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_BIGINT_EXT = 1  # msgpack ext type for ints beyond 64 bits, stored as decimal text
_LITTLE = sys.byteorder == "little"


@dataclass(frozen=True)
class BlockStats:
    """What a block row carries beside its data, so charts over wide ranges never decode it.

    ``vmin``/``vmax``/``vsum``/``vlast`` cover the numeric (int or float, not bool), non-NaN values; they are
    None when the block has none. NaN values are counted in ``nan_count`` only.
    """

    step_min: int
    step_max: int
    count: int
    nan_count: int
    vmin: float | None
    vmax: float | None
    vsum: float | None
    vlast: float | None


def block_stats(steps: Sequence[int], values: Sequence[Any]) -> BlockStats:
    """Compute the summary columns of a block."""
    return _stats(len(steps), min(steps, default=0), max(steps, default=0), values, set(map(type, values)))


def encode_block(steps: Sequence[int], values: Sequence[Any], level: int = 6) -> bytes:
    """Encode one block (steps must be int64 ints). ``level`` is zlib's."""
    return build_block(steps, values, level)[1]


def build_block(steps: Sequence[int], values: Sequence[Any], level: int = 6) -> tuple[BlockStats, bytes]:
    """Summarise and encode one block in a single pass over its types.

    An open block is rebuilt on every batch until it fills, so this is the hot path of live ingestion: the
    loops run in C (``map``, ``min``, ``array``) and consecutive steps skip the delta computation.
    """
    n = len(steps)
    if len(values) != n:
        raise ValueError(f"a block needs as many steps as values ({n} != {len(values)})")
    step_deltas, step_min, step_max = _encode_steps(steps)
    types = set(map(type, values))
    kind, payload = _encode_values(values, types)
    body = b"".join((_HEADER.pack(n, steps[0] if n else 0), _shuffle(step_deltas), payload))
    return _stats(n, step_min, step_max, values, types), kind + zlib.compress(body, level)


def decode_block(data: bytes) -> tuple[list[int], list[Any]]:
    """Decode a block into ``(steps, values)``; exact inverse of :func:`encode_block`."""
    kind = data[:1]
    body = zlib.decompress(data[1:])
    n, first = _HEADER.unpack_from(body)
    pos = _HEADER.size
    step_deltas = _unshuffle(body[pos : pos + 8 * n], "q")
    pos += 8 * n
    steps = list(accumulate(step_deltas, initial=first))[1:] if n else []
    rest = body[pos:]
    values: list[Any]
    if kind == b"f":
        values = _unshuffle(rest, "d").tolist()
    elif kind == b"i":
        deltas = _unshuffle(rest, "q")
        values = list(accumulate(deltas, initial=0))[1:]
    elif kind == b"o":
        values = msgpack.unpackb(rest, raw=False, strict_map_key=False, ext_hook=_ext_hook)
    else:
        raise StoreError(f"unknown history block kind {kind!r}")
    return steps, values


def _encode_steps(steps: Sequence[int]) -> tuple[array[int], int, int]:
    """Step deltas (the first 0), and the smallest and largest step."""
    n = len(steps)
    if not n:
        return array("q"), 0, 0
    first, last = steps[0], steps[-1]
    if (
        type(first) is int
        and first >= _INT64_MIN
        and last == first + n - 1
        and last <= _INT64_MAX
        and steps == list(range(first, last + 1))
    ):
        deltas = array("q", [1]) * n  # the usual run: one row per step
        deltas[0] = 0
        return deltas, first, last
    step_deltas = _int64_deltas(steps, first) if set(map(type, steps)) <= {int} else None
    if step_deltas is None:
        raise StoreError(f"history steps must be int64 integers (block starting at step {first!r})")
    return step_deltas, min(steps), max(steps)


def _stats(n: int, step_min: int, step_max: int, values: Sequence[Any], types: set[type]) -> BlockStats:
    nan_count = 0
    if types == {float}:
        numeric: list[float] = [v for v in values if v == v]  # drops NaN
        nan_count = len(values) - len(numeric)
    elif types == {int}:
        try:
            numeric = list(map(float, values))
        except OverflowError:
            numeric, nan_count = _numeric(values)
    else:
        numeric, nan_count = _numeric(values)
    vmin = vmax = total = vlast = None
    if numeric:
        vmin, vmax, vlast = min(numeric), max(numeric), numeric[-1]
        total = sum(numeric)
        if total != total:  # inf + -inf: SQLite would store NULL anyway, so say "unknown" on both backends
            total = None
    return BlockStats(step_min, step_max, n, nan_count, vmin, vmax, total, vlast)


def _numeric(values: Sequence[Any]) -> tuple[list[float], int]:
    """The int (not bool) and non-NaN float values as floats (ints beyond float range become ±inf), and
    the number of NaNs."""
    out: list[float] = []
    nan_count = 0
    for value in values:
        kind = type(value)
        if kind is float:
            if value == value:
                out.append(value)
            else:
                nan_count += 1
        elif kind is int:
            try:
                out.append(float(value))
            except OverflowError:
                out.append(math.copysign(math.inf, value))
    return out, nan_count


def _encode_values(values: Sequence[Any], types: set[type]) -> tuple[bytes, bytes]:
    if types == {float}:
        return b"f", _shuffle(array("d", values))
    if types == {int}:
        deltas = _int64_deltas(values, 0)
        if deltas is not None:
            return b"i", _shuffle(deltas)
    return b"o", msgpack.packb(list(values), use_bin_type=True, default=_default)


def _int64_deltas(ints: Sequence[int], base: int) -> array[int] | None:
    """Successive differences (the first from ``base``) as int64; None if a value or delta does not fit.

    ``ints`` must hold ints only (the caller checks the types).
    """
    if not ints:
        return array("q")
    if min(ints) < _INT64_MIN or max(ints) > _INT64_MAX:
        return None
    try:
        # map() stops at the shorter input: one difference per value, each against its predecessor.
        return array("q", map(operator.sub, ints, chain((base,), ints)))
    except OverflowError:
        return None


def _shuffle(arr: array[Any]) -> bytes:
    if not _LITTLE:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    raw = arr.tobytes()
    return b"".join(raw[i::8] for i in range(8))


def _unshuffle(data: bytes, typecode: str) -> array[Any]:
    n = len(data) // 8
    raw = bytearray(len(data))
    for i in range(8):
        raw[i::8] = data[i * n : (i + 1) * n]
    arr = array(typecode)
    arr.frombytes(bytes(raw))
    if not _LITTLE:
        arr.byteswap()
    return arr


def _default(obj: Any) -> Any:
    if isinstance(obj, int):  # msgpack hands us ints beyond 64 bits
        return msgpack.ExtType(_BIGINT_EXT, str(int(obj)).encode())
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot store a history value of type {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _BIGINT_EXT:
        return int(data.decode())
    return msgpack.ExtType(code, data)
