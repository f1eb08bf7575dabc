"""Encoding of history blocks: up to ``BLOCK_SIZE`` consecutive points of one series in one compact blob.

A block's ``data`` starts with its value kind, one byte that readers may look at without decoding:

    b"f"   every value a Python float                      (stored as float64)
    b"i"   every value an int (not bool) within int64      (stored as int64)
    b"o"   anything else: mixed numbers, bool, str, None... (one msgpack list)

Format 2 (written since the store learned to append small blocks; byte 1 is ``0x02``)::

    header   struct "<ccBBIqI": kind, 0x02, flags, raw plane mask, point count n, first step, zlib length z
    z bytes  one zlib stream:  [int64 step deltas, byte-shuffled (unless F_CONSECUTIVE or F_STEPS_RAW)]
                               [kind o: the msgpack list]
                               [kind f/i, not F_PLAIN: the byte planes NOT in the raw mask, in plane order]
    rest     stored as is:     [F_STEPS_RAW: the steps, one little-endian int64 array]
                               [kind f/i, F_PLAIN: the n values as one little-endian array]
                               [kind f/i, not F_PLAIN: the byte planes in the raw mask, in plane order]

A *byte plane* k of an array of n 8-byte numbers is the n bytes at offset k of each (byte shuffling: plane 7
holds the sign and exponent). Planes that zlib cannot shrink (the low mantissa bytes of noisy floats) are
stored raw, which is what keeps encoding fast: compressing noise costs ~100 ns a point and saves nothing.
Kind i values are stored as deltas (the first from 0) when compressed, as values when F_PLAIN. Small blocks,
which live only until their series has enough points for a full block, are stored F_PLAIN, uncompressed.

Format 1 (blocks written before; byte 1 is zlib's 0x78, as every zlib stream of the default window starts)
is still decoded: the kind byte, then a zlib stream of header "<Iq" (n, first step), n int64 step deltas
byte-shuffled, then the values (f: float64 shuffled; i: int64 deltas shuffled; o: msgpack).

Pure functions, stdlib and msgpack only.
"""

from __future__ import annotations

import math
import operator
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, pairwise
from typing import Any

import msgpack

from runyard.errors import StoreError

__all__ = [
    "BLOCK_SIZE",
    "COMPRESS_MIN",
    "BlockStats",
    "PreparedBlock",
    "block_stats",
    "build_block",
    "decode_block",
    "encode_block",
    "join_blocks",
    "prepare_block",
]

BLOCK_SIZE = 4096
"""Points per full block: a full block of floats takes ~5-25 KiB; smaller ones cost rows."""

COMPRESS_MIN = 1024
"""Blocks of fewer points are stored uncompressed (they are the open tail of a live series, soon merged)."""

_FORMAT = 2
_HEADER = struct.Struct("<ccBBIqI")
_V1_HEADER = struct.Struct("<Iq")
_ZLIB_CMF = 0x78  # first byte of a zlib stream with a 32 KiB window: byte 1 of every format 1 block

F_CONSECUTIVE = 1  # steps are first, first + 1, ...: no step data
F_STEPS_RAW = 2  # steps stored uncompressed as an int64 array, after the zlib stream
F_PLAIN = 4  # kind f/i: values stored uncompressed as one array (kind i: values, not deltas)

_KIND_FLOAT = b"f"
_KIND_INT = b"i"
_KIND_OBJECT = b"o"

_PLANES = 8
_ALWAYS_PACKED = 6  # planes 6 and 7 (sign, exponent and top of the mantissa; high bytes of deltas) compress
_PROBE = 4  # bytes of a probe: a plane whose probes recur nearby repeats itself, which zlib exploits
_PROBE_WINDOW = 1024  # how far after a probe it is looked for
_SAMPLE = 128  # bytes of a plane whose distinct values are counted
_DISTINCT_MAX = 48  # a sample with at most this many distinct bytes compresses (random bytes: ~100 of 128)
_DEFAULT_LEVEL = 1  # on the planes worth compressing, higher levels gain little and cost more

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
    n = len(steps)
    return _stats(n, min(steps, default=0), max(steps, default=0), values, set(map(type, values)))


def encode_block(steps: Sequence[int], values: Sequence[Any], level: int = _DEFAULT_LEVEL) -> bytes:
    """Encode one block (steps must be int64 ints). ``level`` is zlib's."""
    return build_block(steps, values, level)[1]


def build_block(steps: Sequence[int], values: Sequence[Any], level: int = _DEFAULT_LEVEL) -> tuple[BlockStats, bytes]:
    """Summarise and encode one block: ``prepare_block(steps, values)`` then its ``encode(level)``."""
    prepared = prepare_block(steps, values)
    return prepared.stats, prepared.encode(level)


@dataclass(frozen=True)
class PreparedBlock:
    """A block's points summarised and packed, not yet compressed.

    What :func:`build_block` does in two steps: a block that will be merged into a larger one later (the open
    tail of a live series) keeps this, so that :func:`join_blocks` does not look at its points again.
    """

    kind: bytes
    flags: int
    stats: BlockStats
    first: int
    step_data: bytes  # empty for consecutive steps
    payload: bytes  # kind f/i: little-endian float64/int64 (kind i compressed: deltas); kind o: msgpack

    @property
    def joinable(self) -> bool:
        """Whether :func:`join_blocks` can merge this block: floats, none NaN, at consecutive steps."""
        return self.kind == _KIND_FLOAT and self.flags == F_CONSECUTIVE and self.stats.nan_count == 0

    def encode(self, level: int = _DEFAULT_LEVEL) -> bytes:
        """The block's data. Blocks of fewer than :data:`COMPRESS_MIN` points are stored uncompressed; larger
        ones compress only the byte planes that zlib can shrink."""
        n = self.stats.count
        kind, flags, step_data, payload = self.kind, self.flags, self.step_data, self.payload
        version = bytes((_FORMAT,))
        if kind == _KIND_OBJECT:
            if n < COMPRESS_MIN:  # steps uncompressed (F_STEPS_RAW), after the zlib stream
                body = zlib.compress(payload, level)
                return b"".join((_HEADER.pack(kind, version, flags, 0, n, self.first, len(body)), body, step_data))
            body = zlib.compress(step_data + payload, level)
            return _HEADER.pack(kind, version, flags, 0, n, self.first, len(body)) + body
        if n < COMPRESS_MIN:
            header = _HEADER.pack(kind, version, flags | F_PLAIN, 0, n, self.first, 0)
            return b"".join((header, step_data, payload))
        mask = 0
        packed_planes: list[bytes] = [step_data]
        raw_planes: list[bytes] = []
        for k in range(_PLANES):
            plane = payload[k::8]
            if k >= _ALWAYS_PACKED or _compressible(plane):
                packed_planes.append(plane)
            else:
                mask |= 1 << k
                raw_planes.append(plane)
        body = zlib.compress(b"".join(packed_planes), level)
        return b"".join((_HEADER.pack(kind, version, flags, mask, n, self.first, len(body)), body, *raw_planes))


def prepare_block(steps: Sequence[int], values: Sequence[Any]) -> PreparedBlock:
    """Summarise and pack one block's points, looking at each value's type once.

    Ingestion calls this for every new point, so the per-point work runs in C: ``set(map(type, ...))``,
    ``struct.pack``, ``min``/``max``/``sum``.
    """
    n = len(steps)
    if len(values) != n:
        raise ValueError(f"a block needs as many steps as values ({n} != {len(values)})")
    small = n < COMPRESS_MIN
    flags, step_min, step_max, step_data = _encode_steps(steps, small)
    types = set(map(type, values))
    first = steps[0] if n else 0
    if types == {float}:
        stats = _float_stats(n, step_min, step_max, values)
        return PreparedBlock(_KIND_FLOAT, flags, stats, first, step_data, struct.pack(f"<{n}d", *values))
    stats = _stats(n, step_min, step_max, values, types)
    if types == {int}:
        if small:
            numbers = _pack_int64(values)
        else:
            deltas = _int64_deltas(values, 0)
            numbers = None if deltas is None else _le_bytes(deltas)
        if numbers is not None:
            return PreparedBlock(_KIND_INT, flags, stats, first, step_data, numbers)
    packed = msgpack.packb(list(values), use_bin_type=True, default=_default)
    return PreparedBlock(_KIND_OBJECT, flags, stats, first, step_data, packed)


def join_blocks(parts: Sequence[tuple[PreparedBlock, Iterable[Any]]]) -> PreparedBlock | None:
    """One block of the points of consecutive prepared blocks, given with their values: the very block
    ``prepare_block(all steps, all values)`` makes, without looking at the points again but to sum them.

    None when the blocks are not all :attr:`PreparedBlock.joinable` with contiguous steps, or their sum is
    NaN (inf + -inf): then prepare the concatenated points.
    """
    if not parts or not all(part.joinable for part, _ in parts):
        return None
    for (before, _), (after, _) in pairwise(parts):
        if after.stats.step_min != before.stats.step_max + 1:
            return None
    # The sum of the concatenated values, as prepare_block adds them: in order, from 0.
    total = sum(chain.from_iterable(values for _, values in parts))
    if total != total:
        return None
    stats = [part.stats for part, _ in parts]
    joined = BlockStats(
        stats[0].step_min,
        stats[-1].step_max,
        sum(s.count for s in stats),
        0,
        min(s.vmin for s in stats if s.vmin is not None),  # the first smallest, as min() over all values
        max(s.vmax for s in stats if s.vmax is not None),
        total,
        stats[-1].vlast,
    )
    payload = b"".join(part.payload for part, _ in parts)
    return PreparedBlock(_KIND_FLOAT, F_CONSECUTIVE, joined, parts[0][0].first, b"", payload)


def decode_block(data: bytes, *, use_list: bool = True) -> tuple[list[int], list[Any]]:
    """Decode a block into ``(steps, values)``; exact inverse of :func:`encode_block` (format 1 blocks too).

    ``use_list=False``: lists inside object values come back as tuples, twice as fast to build (for readers
    that only look at them, such as the histogram heat map's).
    """
    if len(data) > 1 and data[1] == _ZLIB_CMF:
        return _decode_v1(data)
    if len(data) < _HEADER.size or data[1] != _FORMAT:
        raise StoreError(f"unknown history block format {bytes(data[:2])!r}")
    kind, _, flags, mask, n, first, zlen = _HEADER.unpack_from(data)
    pos = _HEADER.size
    body = zlib.decompress(data[pos : pos + zlen]) if zlen else b""
    raw = memoryview(data)[pos + zlen :]
    at_body = at_raw = 0
    steps: list[int]
    if flags & F_CONSECUTIVE:
        steps = list(range(first, first + n))
    elif flags & F_STEPS_RAW:
        steps = _from_le(raw[: 8 * n], "q").tolist()
        at_raw = 8 * n
    else:
        steps = list(accumulate(_unshuffle(body[: 8 * n], "q"), initial=first))[1:]
        at_body = 8 * n
    if kind == _KIND_OBJECT:
        packed = body[at_body:] if zlen else raw[at_raw:]
        values: list[Any] = msgpack.unpackb(
            packed, raw=False, strict_map_key=False, ext_hook=_ext_hook, use_list=use_list
        )
        if not use_list:
            values = list(values)
        return steps, values
    if kind not in (_KIND_FLOAT, _KIND_INT):
        raise StoreError(f"unknown history block kind {kind!r}")
    typecode = "d" if kind == _KIND_FLOAT else "q"
    if flags & F_PLAIN:
        return steps, _from_le(raw[at_raw : at_raw + 8 * n], typecode).tolist()
    joined = bytearray(8 * n)
    for k in range(_PLANES):
        if mask >> k & 1:
            joined[k::8] = raw[at_raw : at_raw + n]
            at_raw += n
        else:
            joined[k::8] = body[at_body : at_body + n]
            at_body += n
    numbers = _from_le(joined, typecode)
    if kind == _KIND_FLOAT:
        return steps, numbers.tolist()
    return steps, list(accumulate(numbers))


# -- steps ---------------------------------------------------------------------------------------------------

_consecutive_seen: dict[tuple[int, int], list[int]] = {}
"""Step lists already found consecutive, by (first, n). Every series of an ingested batch has the same steps
(the same int objects), which then compare equal at the speed of an identity check."""
_CONSECUTIVE_SEEN_MAX = 256


def _encode_steps(steps: Sequence[int], small: bool) -> tuple[int, int, int, bytes]:
    """Flags, smallest and largest step, and the step data: nothing for consecutive steps, else the steps as
    int64 (``small``: uncompressed, F_STEPS_RAW) or their deltas byte-shuffled (to be compressed)."""
    n = len(steps)
    if not n:
        return F_CONSECUTIVE, 0, 0, b""
    first, last = steps[0], steps[-1]
    if type(first) is int and type(last) is int and last - first == n - 1 and _INT64_MIN <= first <= last <= _INT64_MAX:
        key = (first, n)
        seen = _consecutive_seen.get(key)
        if seen is not None and steps == seen:
            return F_CONSECUTIVE, first, last, b""
        if steps == list(range(first, last + 1)):
            if len(_consecutive_seen) >= _CONSECUTIVE_SEEN_MAX:
                _consecutive_seen.clear()
            _consecutive_seen[key] = list(steps)
            return F_CONSECUTIVE, first, last, b""
    bad = StoreError(f"history steps must be int64 integers (block starting at step {first!r})")
    if not set(map(type, steps)) <= {int}:
        raise bad
    if small:
        plain = _pack_int64(steps)
        if plain is None:
            raise bad
        return F_STEPS_RAW, min(steps), max(steps), plain
    if min(steps) < _INT64_MIN or max(steps) > _INT64_MAX:
        raise bad
    deltas = _int64_deltas(steps, first)
    if deltas is None:
        raise bad
    return 0, min(steps), max(steps), _shuffle(_le_bytes(deltas))


# -- statistics ----------------------------------------------------------------------------------------------


def _float_stats(n: int, step_min: int, step_max: int, values: Sequence[float]) -> BlockStats:
    """Statistics of float values: a NaN (or inf + -inf) makes the sum NaN, and only then are NaNs looked for."""
    total = sum(values)
    if total == total:
        return BlockStats(step_min, step_max, n, 0, min(values), max(values), total, values[-1])
    return _stats(n, step_min, step_max, values, {float})


def _stats(n: int, step_min: int, step_max: int, values: Sequence[Any], types: set[type]) -> BlockStats:
    nan_count = 0
    numeric: Sequence[float]
    if types == {float}:
        numeric = [v for v in values if v == v]  # drops NaN
        nan_count = len(values) - len(numeric)
    elif types == {int}:
        try:
            # float() is monotonic: the min and max of the ints are those of their floats.
            return BlockStats(
                step_min, step_max, n, 0, float(min(values)), float(max(values)), float(sum(values)), float(values[-1])
            )
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
                out.append(math.inf if value > 0 else -math.inf)
    return out, nan_count


# -- numbers and byte planes ---------------------------------------------------------------------------------


def _pack_int64(ints: Sequence[int]) -> bytes | None:
    """The ints as little-endian int64; None if one does not fit. ``ints`` must hold ints only."""
    try:
        return struct.pack(f"<{len(ints)}q", *ints)
    except struct.error:
        return None


def _int64_deltas(ints: Sequence[int], base: int) -> array[int] | None:
    """Successive differences (the first from ``base``) as int64; None if a value or delta does not fit.

    ``ints`` must hold ints only (the caller checks the types).
    """
    if not ints:
        return array("q")
    try:
        # map() stops at the shorter input: one difference per value, each against its predecessor.
        return array("q", map(operator.sub, ints, chain((base,), ints)))
    except OverflowError:
        return None


def _le_bytes(arr: array[Any]) -> bytes:
    if not _LITTLE:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def _from_le(data: bytes | bytearray | memoryview, typecode: str) -> array[Any]:
    arr = array(typecode)
    arr.frombytes(data)
    if not _LITTLE:
        arr.byteswap()
    return arr


def _shuffle(raw: bytes) -> bytes:
    return b"".join([raw[k::8] for k in range(_PLANES)])


def _unshuffle(data: bytes | memoryview, typecode: str) -> array[Any]:
    n = len(data) // 8
    joined = bytearray(len(data))
    for k in range(_PLANES):
        joined[k::8] = data[k * n : (k + 1) * n]
    return _from_le(joined, typecode)


def _compressible(plane: bytes) -> bool:
    """Whether zlib would shrink a byte plane, judged in a few microseconds (zlib itself spends ~20 µs on
    4 KiB of noise, and ~5 µs on any sample): a plane that repeats itself, where 4-byte strings taken at a
    quarter of the way recur within the next KiB (ramps such as ``step / 1000``, schedules, integer-valued
    floats), or one with few distinct bytes (exponents, small deltas). In noise a 4-byte string recurs by
    chance about once in 4 GiB."""
    n = len(plane)
    hits = 0
    for at in (0, n // 4, n // 2, 3 * n // 4):
        if plane.find(plane[at : at + _PROBE], at + 1, at + _PROBE_WINDOW) >= 0:
            hits += 1
            if hits == 2:
                return True
    return len(set(plane[:_SAMPLE])) <= _DISTINCT_MAX


# -- format 1 ------------------------------------------------------------------------------------------------


def _decode_v1(data: bytes) -> tuple[list[int], list[Any]]:
    kind = data[:1]
    body = zlib.decompress(data[1:])
    n, first = _V1_HEADER.unpack_from(body)
    pos = _V1_HEADER.size
    step_deltas = _unshuffle(body[pos : pos + 8 * n], "q")
    pos += 8 * n
    steps = list(accumulate(step_deltas, initial=first))[1:] if n else []
    rest = body[pos:]
    values: list[Any]
    if kind == _KIND_FLOAT:
        values = _unshuffle(rest, "d").tolist()
    elif kind == _KIND_INT:
        values = list(accumulate(_unshuffle(rest, "q")))
    elif kind == _KIND_OBJECT:
        values = msgpack.unpackb(rest, raw=False, strict_map_key=False, ext_hook=_ext_hook)
    else:
        raise StoreError(f"unknown history block kind {kind!r}")
    return steps, values


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
