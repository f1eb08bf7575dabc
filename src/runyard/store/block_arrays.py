"""History blocks decoded straight into numpy arrays, for the chart read path (:mod:`runyard.store.chart_reads`).

:func:`runyard.store.blocks.decode_block` builds Python lists: ~100 ns a point. Charts decode whole blocks by
the hundred, so format 2 blocks of kind f/i are unpacked here with numpy (byte planes interleaved by a strided
copy, deltas summed by ``cumsum``), ~10x faster; other blocks go through ``decode_block`` and are converted.

Values come back as float64 as the block summaries count them (:func:`runyard.store.rollups.as_number`):
ints as floats, and NaN for every point that is not numeric (NaN, None, bools, strings...), which readers skip
as they skip NaN. Imported lazily, only by the read path: ``import runyard`` must not load numpy.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import numpy.typing as npt

from runyard.store import blocks
from runyard.store.rollups import as_number

__all__ = ["decode_arrays", "decode_typed"]

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# The private layout of format 2 (see runyard.store.blocks' docstring), read here as numpy arrays.
_HEADER = blocks._HEADER
_FORMAT = blocks._FORMAT
_PLANES = blocks._PLANES


def decode_arrays(data: bytes) -> tuple[Int64s, Floats]:
    """A block's steps (int64) and numeric values (float64, NaN where not numeric)."""
    typed = decode_typed(data)
    if typed is not None:
        return typed[0], typed[1].astype(np.float64)
    steps, values = blocks.decode_block(data)
    numbers = [as_number(value) for value in values]
    return (
        np.array(steps, dtype=np.int64),
        np.array([math.nan if number is None else number for number in numbers], dtype=np.float64),
    )


def decode_typed(data: bytes) -> tuple[Int64s, npt.NDArray[np.float64] | npt.NDArray[np.int64]] | None:
    """A numbers-only block (format 2, kind f or i) as its steps and its values in their own type (float64
    for kind f, int64 for kind i: ``tolist()`` gives exactly what :func:`runyard.store.blocks.decode_block`
    gives); None for any other block."""
    if len(data) >= _HEADER.size and data[1] == _FORMAT and data[:1] in (b"f", b"i"):
        return _decode_numbers(data)
    return None


def _decode_numbers(data: bytes) -> tuple[Int64s, npt.NDArray[np.float64] | npt.NDArray[np.int64]]:
    kind, _, flags, mask, n, first, zlen = _HEADER.unpack_from(data)
    pos = _HEADER.size
    body = zlib.decompress(data[pos : pos + zlen]) if zlen else b""
    raw = memoryview(data)[pos + zlen :]
    at_body = at_raw = 0
    steps: Int64s
    if flags & blocks.F_CONSECUTIVE:
        steps = np.arange(first, first + n, dtype=np.int64)
    elif flags & blocks.F_STEPS_RAW:
        steps = np.frombuffer(raw[: 8 * n], dtype="<i8").astype(np.int64)
        at_raw = 8 * n
    else:
        deltas = _unshuffle(np.frombuffer(body, dtype=np.uint8, count=8 * n), n).view("<i8")
        steps = np.cumsum(deltas, dtype=np.int64) + np.int64(first)
        at_body = 8 * n
    dtype = "<f8" if kind == b"f" else "<i8"
    if flags & blocks.F_PLAIN:
        numbers = np.frombuffer(raw[at_raw : at_raw + 8 * n], dtype=dtype)
    else:
        joined = np.empty((n, _PLANES), dtype=np.uint8)
        for k in range(_PLANES):
            if mask >> k & 1:
                joined[:, k] = np.frombuffer(raw[at_raw : at_raw + n], dtype=np.uint8)
                at_raw += n
            else:
                joined[:, k] = np.frombuffer(body, dtype=np.uint8, count=n, offset=at_body)
                at_body += n
        numbers = joined.reshape(-1).view(dtype)
        if kind == b"i":
            numbers = np.cumsum(numbers, dtype=np.int64)  # stored as deltas, the first from 0
    return steps, numbers


def _unshuffle(planes: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.uint8]:
    """n 8-byte numbers from their 8 byte planes (plane k: byte k of each)."""
    return np.ascontiguousarray(planes.reshape(_PLANES, n).T).reshape(-1)
