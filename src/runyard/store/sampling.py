"""Full-fidelity bucketing of history series, and the sampled history built on it. Never random.

A chart cannot show a million points, and dropping points at random hides exactly the spikes that matter.
Instead, the x range is cut into equal-width buckets and each bucket reports the smallest, largest and last
value of its points (:class:`Bucket`). Along ``_step`` a bucket that covers whole history blocks takes their
summary columns (count, min, max, last) without decoding them; only blocks that straddle a bucket edge are
decoded (and, where needed, a block whose last point is not a plain number, to find the step of its last
numeric value). Along another x axis (``_runtime``, ``_timestamp``, a user metric) a point's x is the value
that key has at the point's step, so both series are decoded; rows without that key are skipped.

:func:`sampled_history` turns buckets into rows: for every key, about ``samples / 3`` buckets, and the rows
holding each bucket's min, max and last value (or, for a bucket with no numeric value, its last point) are
all returned, merged by step as :meth:`Store.history` merges them. Every value returned is a value logged at
that step: nothing is interpolated or invented.

Reads use the schema tables directly (block summaries, then block data on demand) and assume, as the ingest
path guarantees, that a series' steps increase from block to block and within a block.
"""

from __future__ import annotations

import bisect
import math
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runyard.errors import UsageError
from runyard.store.blocks import decode_block
from runyard.store.schema import blocks, entities, projects, runs, series

__all__ = ["Bucket", "BucketColumns", "bucket_columns_many", "bucket_series", "sampled_history"]

STEP = "_step"
_CLEAN_KINDS = (b"f", b"i")  # block value kinds holding numbers only (see runyard.store.blocks)
_DECODED_CACHE = 8  # decoded blocks kept per series while one request runs
_FETCH_BATCH = 64  # blocks read per query (compressed: ~10-30 KiB each)
_KEY_CHUNK = 500  # values per IN (...) list, well under SQLite's bound-parameter limit
_PLAIN = {float, int}
_FLOAT_MAX = sys.float_info.max


@dataclass(frozen=True)
class Bucket:
    """One x-bucket of a series: what a chart draws for that stretch of x.

    Attributes:
        x_min: the smallest x of a point in the bucket.
        x_max: the largest x of a point in the bucket.
        count: how many points fall in the bucket (values of any type).
        min: the smallest numeric value (ints and floats, not booleans; NaN is skipped), or None if none.
        max: the largest numeric value, or None.
        last: the last numeric value in step order, or None.
        last_x: the x of ``last``, or None.
    """

    x_min: float
    x_max: float
    count: int
    min: float | None
    max: float | None
    last: float | None
    last_x: float | None


@dataclass(frozen=True)
class BucketColumns:
    """A series' buckets as columns, one element per non-empty bucket in x order: what a chart (and JSON)
    wants, without a Python object per bucket (a 100-run chart has 100,000 buckets).

    The columns are :class:`Bucket`'s attributes, plus ``x``: where a chart draws the bucket, the x of its
    last numeric value (``last_x``), or its last x (``x_max``) when it has none.

    Two forms, so that a chart answer never converts 700,000 numbers to Python objects: on the rollup path
    (:mod:`runyard.store.chart_reads`) the columns are NumPy arrays — ``min``/``max``/``last`` hold NaN where
    a bucket has no numeric value, ``last_x`` holds ``x_max`` there and ``has_last`` says which buckets have
    one; elsewhere they are lists with None, and ``has_last`` is None. :meth:`lists` gives the list form.
    """

    x: Any
    x_min: Any
    x_max: Any
    count: Any
    min: Any
    max: Any
    last: Any
    last_x: Any
    has_last: Any = None  # a NumPy bool array, or None (the list form)

    def __len__(self) -> int:
        return len(self.x)

    def lists(self) -> BucketColumns:
        """The columns as Python lists, None where a bucket has no numeric value."""
        if self.has_last is None and isinstance(self.x, list):
            return self

        def plain(column: Any) -> list[Any]:
            return column.tolist() if hasattr(column, "tolist") else list(column)

        def nullable(column: Any) -> list[Any]:
            return [None if v != v else v for v in plain(column)]

        keep = plain(self.has_last) if self.has_last is not None else None
        last_x = plain(self.last_x)
        if keep is not None:
            last_x = [v if ok else None for v, ok in zip(last_x, keep)]
        return BucketColumns(
            x=plain(self.x),
            x_min=plain(self.x_min),
            x_max=plain(self.x_max),
            count=plain(self.count),
            min=nullable(self.min),
            max=nullable(self.max),
            last=nullable(self.last),
            last_x=last_x,
        )

    def buckets(self) -> list[Bucket]:
        """The same buckets as :class:`Bucket` objects."""
        c = self.lists()
        return list(map(Bucket, c.x_min, c.x_max, c.count, c.min, c.max, c.last, c.last_x))


@dataclass(frozen=True)
class BlockInfo:
    """A block's summary columns, and whether its values are all numbers and none NaN (``clean``): then its
    last point holds ``vlast`` at ``step_max``."""

    block_no: int
    step_min: int
    step_max: int
    count: int
    vmin: float | None
    vmax: float | None
    vlast: float | None
    clean: bool


def _number(value: Any) -> float | None:
    """A value as the block summaries count it: ints (not bools) and non-NaN floats, as floats."""
    kind = type(value)
    if kind is float:
        return value if value == value else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # beyond float range: as the block summaries count it
            return math.inf if value > 0 else -math.inf
    return None


class _Axis:
    """``n`` equal-width buckets over ``[lo, hi]``: integer steps split exactly, other x values by float."""

    def __init__(self, lo: float, hi: float, buckets: int, integer: bool) -> None:
        self.lo, self.hi, self.integer = lo, hi, integer
        if integer:
            self._span = int(hi) - int(lo) + 1
            self.n = max(1, min(buckets, self._span))
        else:
            self._width = hi - lo
            self.n = buckets if self._width > 0 else 1

    def index(self, x: float) -> int:
        if self.integer:
            return (int(x) - int(self.lo)) * self.n // self._span
        if self._width <= 0:
            return 0
        return min(self.n - 1, max(0, int((x - self.lo) / self._width * self.n)))

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi


class _Acc:
    """A bucket being filled; the ``*_step`` fields locate the rows holding its extremes (None: not yet
    known, the value came from the summary of block ``*_block``)."""

    __slots__ = (
        "count",
        "last",
        "last_block",
        "last_step",
        "last_x",
        "max",
        "max_block",
        "max_step",
        "min",
        "min_block",
        "min_step",
        "tail_step",
        "x_max",
        "x_min",
    )

    def __init__(self) -> None:
        self.count = 0
        self.x_min: float = math.inf
        self.x_max: float = -math.inf
        self.min: float | None = None
        self.max: float | None = None
        self.last: float | None = None
        self.last_x: float | None = None
        self.min_step: int | None = None
        self.max_step: int | None = None
        self.last_step: int | None = None
        self.min_block: int | None = None
        self.max_block: int | None = None
        self.last_block: int | None = None
        self.tail_step: int | None = None  # the step of the bucket's last point, whatever its value

    def add_point(self, x: float, step: int, value: Any) -> None:
        self.count += 1
        self.x_min = min(self.x_min, x)
        self.x_max = max(self.x_max, x)
        self.tail_step = step
        number = _number(value)
        if number is None:
            return
        if self.min is None or number < self.min:
            self.min, self.min_step, self.min_block = number, step, None
        if self.max is None or number > self.max:
            self.max, self.max_step, self.max_block = number, step, None
        self.last, self.last_x, self.last_step, self.last_block = number, x, step, None

    def add_run(self, xs: Sequence[float], steps: Sequence[int], values: Sequence[Any]) -> None:
        """Points that follow every point added so far, with non-decreasing ``xs``: plain numbers are
        summarised by C-level ``min``/``max`` over the whole run, anything else point by point."""
        if not values:
            return
        types = set(map(type, values))
        plain = types <= _PLAIN
        if plain and float in types:
            try:
                plain = not any(map(math.isnan, values))
            except OverflowError:  # an int beyond float range: the point-by-point path converts it
                plain = False
        if plain:
            low, high = min(values), max(values)
            plain = low >= -_FLOAT_MAX and high <= _FLOAT_MAX  # huge ints compare as ±inf, point by point
        if not plain:
            for x, step, value in zip(xs, steps, values):
                self.add_point(x, step, value)
            return
        self.count += len(values)
        self.x_min = min(self.x_min, xs[0])
        self.x_max = max(self.x_max, xs[-1])
        self.tail_step = steps[-1]
        if self.min is None or low < self.min:
            self.min, self.min_step, self.min_block = float(low), steps[values.index(low)], None
        if self.max is None or high > self.max:
            self.max, self.max_step, self.max_block = float(high), steps[values.index(high)], None
        self.last, self.last_x, self.last_step, self.last_block = float(values[-1]), xs[-1], steps[-1], None

    def add_array(self, steps: list[int], values: Any) -> None:
        """:meth:`add_run` along ``_step`` for a numpy array of numbers (float64 or int64), by numpy: the same
        extremes at the same (first) steps."""
        if not len(values):
            return
        if values.dtype.kind == "f" and not bool(values.min() > -math.inf and values.max() < math.inf):
            self.add_run(steps, steps, values.tolist())  # NaN or ±inf: the exact path
            return
        lo_at, hi_at = int(values.argmin()), int(values.argmax())
        low, high, last = values[lo_at].item(), values[hi_at].item(), values[-1].item()
        self.count += len(values)
        self.x_min = min(self.x_min, steps[0])
        self.x_max = max(self.x_max, steps[-1])
        self.tail_step = steps[-1]
        if self.min is None or low < self.min:
            self.min, self.min_step, self.min_block = float(low), steps[lo_at], None
        if self.max is None or high > self.max:
            self.max, self.max_step, self.max_block = float(high), steps[hi_at], None
        self.last, self.last_x, self.last_step, self.last_block = float(last), steps[-1], steps[-1], None

    def add_block(self, info: BlockInfo) -> None:
        """A whole block, from its summary: its steps are its x values."""
        self.count += info.count
        self.x_min = min(self.x_min, info.step_min)
        self.x_max = max(self.x_max, info.step_max)
        self.tail_step = info.step_max
        if info.vmin is not None and (self.min is None or info.vmin < self.min):
            self.min, self.min_step, self.min_block = info.vmin, None, info.block_no
        if info.vmax is not None and (self.max is None or info.vmax > self.max):
            self.max, self.max_step, self.max_block = info.vmax, None, info.block_no
        if info.vlast is not None:
            self.last = info.vlast
            if info.clean:
                self.last_x, self.last_step, self.last_block = info.step_max, info.step_max, None
            else:
                self.last_x, self.last_step, self.last_block = None, None, info.block_no

    def pending(self, locate: bool) -> list[int]:
        """The blocks :meth:`resolve` will decode."""
        found = [self.last_block] + ([self.min_block, self.max_block] if locate else [])
        return [block for block in found if block is not None]

    def resolve(
        self,
        decode: Callable[[int], tuple[list[int], list[Any]]],
        locate: bool,
        typed: Callable[[int], tuple[Any, Any] | None] | None = None,
    ) -> None:
        """Decode what the summaries left unknown: the step of ``last`` (always), of ``min``/``max`` (if
        ``locate``)."""
        if self.last_block is not None:
            steps, values = decode(self.last_block)
            for step, value in zip(reversed(steps), reversed(values)):
                if _number(value) is not None:
                    self.last_x = self.last_step = step
                    break
            self.last_block = None
        if not locate:
            return
        if self.min_block is not None:
            self.min_step = _find_in(self.min_block, self.min, decode, typed)
            self.min_block = None
        if self.max_block is not None:
            self.max_step = _find_in(self.max_block, self.max, decode, typed)
            self.max_block = None

    def bucket(self) -> Bucket:
        return Bucket(self.x_min, self.x_max, self.count, self.min, self.max, self.last, self.last_x)

    def sample_steps(self) -> Iterator[int]:
        """The steps of the rows a sample must keep: min, max and last, or the last point if none is numeric."""
        found = [s for s in (self.min_step, self.max_step, self.last_step) if s is not None]
        if not found and self.tail_step is not None:
            found.append(self.tail_step)
        yield from found


def _find_in(
    block_no: int,
    target: float | None,
    decode: Callable[[int], tuple[list[int], list[Any]]],
    typed: Callable[[int], tuple[Any, Any] | None] | None,
) -> int | None:
    """The step of the first point of a block whose numeric value is ``target``: by numpy for a numbers-only
    block, else point by point."""
    arrays = None if typed is None or target is None else typed(block_no)
    if arrays is None:
        return _find(decode(block_no), target)
    import numpy as np

    hits = np.flatnonzero(arrays[1].astype(np.float64) == target)
    return int(arrays[0][hits[0]]) if len(hits) else None


def _find(block: tuple[list[int], list[Any]], target: float | None) -> int | None:
    for step, value in zip(*block):
        if _number(value) == target:
            return step
    return None


def _bucket_points(points: Iterable[tuple[float, int, Any]], axis: _Axis) -> dict[int, _Acc]:
    """Bucket ``(x, step, value)`` points (in step order) by x; points outside the axis range are skipped."""
    accs: dict[int, _Acc] = {}
    for x, step, value in points:
        if not axis.contains(x):
            continue
        index = axis.index(x)
        acc = accs.get(index)
        if acc is None:
            acc = accs[index] = _Acc()
        acc.add_point(x, step, value)
    return accs


def _bucket_sorted(
    xs: Sequence[float], steps: Sequence[int], values: Sequence[Any], axis: _Axis, accs: dict[int, _Acc]
) -> None:
    """Add points whose ``xs`` never decrease (and which follow everything in ``accs``), one slice per bucket."""
    i = bisect.bisect_left(xs, axis.lo)
    stop = bisect.bisect_right(xs, axis.hi)
    while i < stop:
        index = axis.index(xs[i])
        j = bisect.bisect_right(xs, index, i, stop, key=axis.index)  # the first point of a later bucket
        acc = accs.get(index)
        if acc is None:
            acc = accs[index] = _Acc()
        acc.add_run(xs[i:j], steps[i:j], values[i:j])
        i = j


def _bucket_array(steps: list[int], values: Any, axis: _Axis, accs: dict[int, _Acc]) -> None:
    """:func:`_bucket_sorted` along ``_step`` for one numbers-only block: ``values`` a numpy array."""
    i = bisect.bisect_left(steps, axis.lo)
    stop = bisect.bisect_right(steps, axis.hi)
    while i < stop:
        index = axis.index(steps[i])
        j = bisect.bisect_right(steps, index, i, stop, key=axis.index)
        acc = accs.get(index)
        if acc is None:
            acc = accs[index] = _Acc()
        acc.add_array(steps[i:j], values[i:j])
        i = j


def _bucket_blocks(
    infos: Sequence[BlockInfo],
    decode: Callable[[int], tuple[list[int], list[Any]]],
    axis: _Axis,
    locate: bool,
    prefetch: Callable[[Iterable[int]], None] | None = None,
    typed: Callable[[int], tuple[Any, Any] | None] | None = None,
) -> dict[int, _Acc]:
    """Bucket a series by step from its blocks: summaries for blocks inside one bucket, decoding the rest."""
    accs: dict[int, _Acc] = {}
    wanted = [info for info in infos if not (info.step_max < axis.lo or info.step_min > axis.hi or info.count == 0)]
    whole = {
        info.block_no
        for info in wanted
        if axis.lo <= info.step_min
        and info.step_max <= axis.hi
        and axis.index(info.step_min) == axis.index(info.step_max)
    }
    if prefetch is not None:
        prefetch(info.block_no for info in wanted if info.block_no not in whole)
    for info in wanted:
        if info.block_no in whole:
            index = axis.index(info.step_min)
            acc = accs.get(index)
            if acc is None:
                acc = accs[index] = _Acc()
            acc.add_block(info)
            continue
        arrays = None if typed is None else typed(info.block_no)
        if arrays is not None:  # numbers only: summarised by numpy, a slice per bucket
            _bucket_array(arrays[0].tolist(), arrays[1], axis, accs)
            continue
        steps, values = decode(info.block_no)
        _bucket_sorted(steps, steps, values, axis, accs)
    if prefetch is not None:
        prefetch(block for acc in accs.values() for block in acc.pending(locate))
    for acc in accs.values():
        acc.resolve(decode, locate, typed)
    return dict(sorted(accs.items()))


# -- reading series -----------------------------------------------------------------------------------------


class _SeriesReader:
    """One series of one run: its block summaries up front, block data read ahead and decoded on demand."""

    def __init__(self, conn: Connection, series_id: int) -> None:
        self.conn = conn
        self.series_id = series_id
        kind = sa.func.substr(blocks.c.data, 1, 1, type_=sa.LargeBinary)
        query = (
            sa.select(
                blocks.c.block_no,
                blocks.c.step_min,
                blocks.c.step_max,
                blocks.c.count,
                blocks.c.nan_count,
                blocks.c.vmin,
                blocks.c.vmax,
                blocks.c.vlast,
                kind.label("kind"),
            )
            .where(blocks.c.series_id == series_id)
            .order_by(blocks.c.block_no)
        )
        self.infos = [
            BlockInfo(
                block_no=int(row["block_no"]),
                step_min=int(row["step_min"]),
                step_max=int(row["step_max"]),
                count=int(row["count"]),
                vmin=row["vmin"],
                vmax=row["vmax"],
                vlast=row["vlast"],
                clean=row["nan_count"] == 0 and bytes(row["kind"] or b"") in _CLEAN_KINDS,
            )
            for row in conn.execute(query).mappings()
        ]
        self._starts = [info.step_min for info in self.infos]
        self._raw: dict[int, bytes] = {}  # compressed block data read so far
        self._cache: dict[int, tuple[list[int], list[Any]]] = {}  # a few decoded blocks

    def decode(self, block_no: int) -> tuple[list[int], list[Any]]:
        found = self._cache.get(block_no)
        if found is None:
            data = self._raw_data(block_no)
            typed = None if data is None else _decode_typed(data)
            if typed is not None:  # numbers only: unpacked by numpy, several times faster than decode_block
                found = (typed[0].tolist(), typed[1].tolist())
            else:
                found = decode_block(data) if data is not None else ([], [])
            if len(self._cache) >= _DECODED_CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[block_no] = found
        return found

    def typed(self, block_no: int) -> tuple[Any, Any] | None:
        """A numbers-only block as numpy arrays ``(steps, values)`` (see
        :func:`runyard.store.block_arrays.decode_typed`); None for other blocks."""
        data = self._raw_data(block_no)
        return None if data is None else _decode_typed(data)

    def _raw_data(self, block_no: int) -> bytes | None:
        data = self._raw.get(block_no)
        if data is None:
            self.prefetch([block_no])
            data = self._raw.get(block_no)
        return data

    def prefetch(self, block_nos: Iterable[int]) -> None:
        """Read the compressed data of these blocks, a batch per query (kept: small, and a second pass over
        the same blocks then costs no query)."""
        wanted = sorted({n for n in block_nos if n not in self._raw})
        for start in range(0, len(wanted), _FETCH_BATCH):
            query = sa.select(blocks.c.block_no, blocks.c.data).where(
                blocks.c.series_id == self.series_id, blocks.c.block_no.in_(wanted[start : start + _FETCH_BATCH])
            )
            for number, data in self.conn.execute(query):
                self._raw[int(number)] = bytes(data)

    def values_at(self, steps: Sequence[int]) -> dict[int, Any]:
        """The values at those of ``steps`` (sorted) where the series has a point.

        Each touched block is searched for the wanted steps (``searchsorted`` on a numbers-only block, a
        bisection otherwise), so the cost follows the number of steps asked, not the points of the blocks."""
        out: dict[int, Any] = {}
        wanted_by_block: dict[int, list[int]] = {}
        for step in steps:
            i = bisect.bisect_right(self._starts, step) - 1
            if i >= 0 and step <= self.infos[i].step_max:
                wanted_by_block.setdefault(i, []).append(step)
        self.prefetch(self.infos[i].block_no for i in wanted_by_block)
        for i, wanted in wanted_by_block.items():
            block_no = self.infos[i].block_no
            cached = self._cache.get(block_no)
            data = None if cached is not None else self._raw_data(block_no)
            typed = None if data is None else _decode_typed(data)
            if typed is not None:
                out.update(_pick(typed[0], typed[1], wanted))
                continue
            block_steps, values = cached if cached is not None else self.decode(block_no)
            for step in wanted:
                j = bisect.bisect_left(block_steps, step)
                if j < len(block_steps) and block_steps[j] == step:
                    out[step] = values[j]
        return out


def _decode_typed(data: bytes) -> tuple[Any, Any] | None:
    from runyard.store.block_arrays import decode_typed  # numpy: loaded by the read path only

    return decode_typed(data)


def _pick(block_steps: Any, values: Any, wanted: list[int]) -> Iterator[tuple[int, Any]]:
    """``(step, value)`` for those of ``wanted`` (sorted) that are among ``block_steps`` (a sorted int64 array)."""
    import numpy as np

    targets = np.asarray(wanted, dtype=np.int64)
    at = np.minimum(np.searchsorted(block_steps, targets), len(block_steps) - 1)
    hit = block_steps[at] == targets
    return zip(targets[hit].tolist(), values[at[hit]].tolist(), strict=True)


def _series_ids(conn: Connection, run_pk: int, keys: Sequence[str] | None) -> dict[str, int]:
    query = sa.select(series.c.key, series.c.id).where(series.c.run_pk == run_pk).order_by(series.c.key)
    if keys is not None:
        query = query.where(series.c.key.in_(sorted(set(keys))))
    return {str(key): int(sid) for key, sid in conn.execute(query)}


class _XAxis:
    """The x values of a non-step axis: its series' finite numeric values, by step."""

    def __init__(self, reader: _SeriesReader) -> None:
        steps: list[int] = []
        xs: list[float] = []
        reader.prefetch(info.block_no for info in reader.infos)
        for info in reader.infos:
            block_steps, values = reader.decode(info.block_no)
            try:
                numbers = list(map(float, values)) if set(map(type, values)) <= _PLAIN else None
            except OverflowError:
                numbers = None
            if numbers is not None and all(map(math.isfinite, numbers)):
                steps += block_steps
                xs += numbers
                continue
            for step, value in zip(block_steps, values):
                number = _number(value)
                if number is not None and math.isfinite(number):
                    steps.append(step)
                    xs.append(number)
        self.steps, self.xs = steps, xs
        self._by_step: dict[int, float] | None = None

    def points(self, reader: _SeriesReader) -> tuple[list[float], list[int], list[Any]]:
        """``reader``'s points that have an x, as parallel lists ``(xs, steps, values)`` in step order."""
        steps: list[int] = []
        values: list[Any] = []
        reader.prefetch(info.block_no for info in reader.infos)
        for info in reader.infos:
            block_steps, block_values = reader.decode(info.block_no)
            steps += block_steps
            values += block_values
        if steps == self.steps:  # the usual case: x logged with every row that holds the key
            return self.xs, steps, values
        if self._by_step is None:
            self._by_step = dict(zip(self.steps, self.xs))
        by_step = self._by_step
        kept = [i for i, step in enumerate(steps) if step in by_step]
        return [by_step[steps[i]] for i in kept], [steps[i] for i in kept], [values[i] for i in kept]


def _buckets_of(
    reader: _SeriesReader,
    x_of: _XAxis | None,
    buckets: int,
    min_x: float | None,
    max_x: float | None,
    locate: bool,
) -> list[_Acc]:
    """The filled buckets of one series, by step (``x_of`` None) or by the x that ``x_of`` gives its steps."""
    if min_x is not None and min_x == -math.inf:
        min_x = None
    if max_x is not None and max_x == math.inf:
        max_x = None
    if (min_x is not None and not math.isfinite(min_x)) or (max_x is not None and not math.isfinite(max_x)):
        return []  # NaN, or a range that starts at +inf or ends at -inf: no finite x lies in it
    if x_of is None:
        if not reader.infos:
            return []
        first = min(info.step_min for info in reader.infos) if min_x is None else math.ceil(min_x)
        last = max(info.step_max for info in reader.infos) if max_x is None else math.floor(max_x)
        if first > last:
            return []
        axis = _Axis(first, last, buckets, integer=True)
        return list(_bucket_blocks(reader.infos, reader.decode, axis, locate, reader.prefetch, reader.typed).values())
    xs, steps, values = x_of.points(reader)
    inside = [x for x in xs if (min_x is None or x >= min_x) and (max_x is None or x <= max_x)]
    if not inside:
        return []
    axis = _Axis(min(inside) if min_x is None else min_x, max(inside) if max_x is None else max_x, buckets, False)
    if all(map(operator.le, xs, xs[1:])):  # x grows with the step (_runtime, _timestamp, an epoch): slices
        accs: dict[int, _Acc] = {}
        _bucket_sorted(xs, steps, values, axis, accs)
        return [accs[index] for index in sorted(accs)]
    return [acc for _, acc in sorted(_bucket_points(zip(xs, steps, values), axis).items())]


def _check_positive(name: str, value: int) -> None:
    if type(value) is not int or value < 1:
        raise UsageError(f"{name} must be a positive integer, not {value!r}")


def bucket_series(
    conn: Connection,
    run_pk: int,
    key: str,
    *,
    buckets: int = 1000,
    x_axis: str = STEP,
    min_x: float | None = None,
    max_x: float | None = None,
) -> list[Bucket]:
    """The non-empty buckets of one series over ``[min_x, max_x]`` (default: all of it), in x order."""
    _check_positive("buckets", buckets)
    ids = _series_ids(conn, run_pk, [key] if x_axis == STEP else [key, x_axis])
    if key not in ids or (x_axis != STEP and x_axis not in ids):
        return []
    reader = _SeriesReader(conn, ids[key])
    x_of = None if x_axis == STEP else _XAxis(_SeriesReader(conn, ids[x_axis]))
    return [acc.bucket() for acc in _buckets_of(reader, x_of, buckets, min_x, max_x, locate=False)]


def bucket_columns_many(
    conn: Connection,
    entity: str,
    project: str,
    run_ids: Sequence[str],
    keys: Sequence[str],
    *,
    buckets: int = 1000,
    x_axis: str = STEP,
    min_x: float | None = None,
    max_x: float | None = None,
) -> dict[tuple[str, str], BucketColumns]:
    """The buckets of every (run, key) pair that has some, as columns, in the order of ``run_ids`` then ``keys``.

    Along ``_step`` all series are read together, from rollups where they pay (:mod:`runyard.store.chart_reads`,
    which says where bucket edges then fall); along another x axis each series is bucketed in turn.
    """
    _check_positive("buckets", buckets)
    pks = _run_pks(conn, entity, project, run_ids)
    wanted = list(dict.fromkeys(keys))
    out: dict[tuple[str, str], BucketColumns] = {}
    if x_axis != STEP:
        for run_id, run_pk in pks.items():
            for key in wanted:
                found = bucket_series(conn, run_pk, key, buckets=buckets, x_axis=x_axis, min_x=min_x, max_x=max_x)
                if found:
                    out[(run_id, key)] = _columns(found)
        return out
    from runyard.store.chart_reads import bucket_steps_many  # numpy: loaded by chart reads only

    ids = _series_ids_many(conn, list(pks.values()), wanted)
    by_id = bucket_steps_many(conn, list(ids.values()), buckets, min_x, max_x)
    for run_id, run_pk in pks.items():
        for key in wanted:
            sid = ids.get((run_pk, key))
            if sid is not None and sid in by_id:
                out[(run_id, key)] = by_id[sid]
    return out


def _columns(found: list[Bucket]) -> BucketColumns:
    return BucketColumns(
        x=[b.x_max if b.last_x is None else b.last_x for b in found],
        x_min=[b.x_min for b in found],
        x_max=[b.x_max for b in found],
        count=[b.count for b in found],
        min=[b.min for b in found],
        max=[b.max for b in found],
        last=[b.last for b in found],
        last_x=[b.last_x for b in found],
    )


def _series_ids_many(conn: Connection, run_pks: list[int], keys: list[str]) -> dict[tuple[int, str], int]:
    """The series ids of those (run, key) pairs that have one."""
    out: dict[tuple[int, str], int] = {}
    if not keys:
        return out
    for key_start in range(0, len(keys), _KEY_CHUNK):
        some_keys = keys[key_start : key_start + _KEY_CHUNK]
        for start in range(0, len(run_pks), _KEY_CHUNK):
            query = sa.select(series.c.run_pk, series.c.key, series.c.id).where(
                series.c.run_pk.in_(run_pks[start : start + _KEY_CHUNK]), series.c.key.in_(some_keys)
            )
            for run_pk, key, sid in conn.execute(query):
                out[(int(run_pk), str(key))] = int(sid)
    return out


def _run_pks(conn: Connection, entity: str, project: str, run_ids: Sequence[str]) -> dict[str, int]:
    """The primary keys of those of ``run_ids`` that exist, in the order given."""
    wanted = list(dict.fromkeys(run_ids))
    found: dict[str, int] = {}
    join = runs.join(projects, runs.c.project_id == projects.c.id).join(entities, projects.c.entity_id == entities.c.id)
    for start in range(0, len(wanted), _KEY_CHUNK):
        query = (
            sa.select(runs.c.run_id, runs.c.id)
            .select_from(join)
            .where(
                entities.c.name == entity,
                projects.c.name == project,
                runs.c.run_id.in_(wanted[start : start + _KEY_CHUNK]),
            )
        )
        found.update((str(run_id), int(pk)) for run_id, pk in conn.execute(query))
    return {run_id: found[run_id] for run_id in wanted if run_id in found}


def sampled_history(
    conn: Connection,
    run_pk: int,
    keys: Sequence[str] | None = None,
    samples: int = 500,
    x_axis: str = STEP,
) -> list[dict[str, Any]]:
    """Rows in step order keeping, for every key, each bucket's min, max and last value (see the module)."""
    _check_positive("samples", samples)
    ids = _series_ids(conn, run_pk, None if keys is None else [*keys, x_axis])
    if x_axis != STEP and x_axis not in ids:
        return []  # rows without the x key are skipped: here, all of them
    wanted = [key for key in (ids if keys is None else dict.fromkeys(keys)) if key not in (STEP, x_axis)]
    readers = {key: _SeriesReader(conn, ids[key]) for key in wanted if key in ids}
    x_of = None
    if x_axis != STEP:
        readers[x_axis] = _SeriesReader(conn, ids[x_axis])
        x_of = _XAxis(readers[x_axis])
    per_key = max(1, samples // 3)
    steps: set[int] = set()
    for key in wanted:
        if key in readers:
            for acc in _buckets_of(readers[key], x_of, per_key, None, None, locate=True):
                steps.update(acc.sample_steps())
    ordered = sorted(steps)
    rows: dict[int, dict[str, Any]] = {step: {STEP: step} for step in ordered}
    for key, reader in sorted(readers.items()):
        for step, value in reader.values_at(ordered).items():
            rows[step][key] = value
    return [rows[step] for step in ordered]
