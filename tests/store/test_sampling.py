"""Bucketing history series and sampled history: every bucket's min and max survive, nothing is invented."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fakes import FakeSession

from runyard.errors import UsageError
from runyard.store import Store, sampling
from runyard.store.blocks import build_block
from runyard.store.sampling import BlockInfo, Bucket, _Axis, _bucket_blocks, _bucket_points
from runyard.store.schema import blocks, series

# -- series strategies ----------------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-1000, 1000)
with_nan = finite | st.just(math.nan) | st.sampled_from([math.inf, -math.inf])
odd_values = st.none() | st.booleans() | st.text(max_size=2) | st.sampled_from([2**70, -(2**70)])  # beyond int64


@st.composite
def series_points(draw: st.DrawFn, values: st.SearchStrategy[Any] = finite) -> tuple[list[int], list[Any]]:
    """Increasing steps (with gaps) and their values."""
    n = draw(st.integers(1, 120))
    gaps = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    start = draw(st.integers(0, 50))
    steps = list(itertools.accumulate(gaps, initial=start))[1:]
    return steps, draw(st.lists(values, min_size=n, max_size=n))


@st.composite
def partitions(draw: st.DrawFn, n: int) -> list[int]:
    """Block sizes adding up to ``n``."""
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(draw(st.integers(1, 25)), n - sum(sizes)))
    return sizes


def _blocks(steps: list[int], values: list[Any], sizes: list[int]) -> tuple[list[BlockInfo], dict[int, Any]]:
    infos: list[BlockInfo] = []
    decoded: dict[int, Any] = {}
    start = 0
    for block_no, size in enumerate(sizes):
        chunk = (steps[start : start + size], values[start : start + size])
        stats, data = build_block(*chunk)
        clean = stats.nan_count == 0 and data[:1] in (b"f", b"i")
        infos.append(
            BlockInfo(block_no, stats.step_min, stats.step_max, stats.count, stats.vmin, stats.vmax, stats.vlast, clean)
        )
        decoded[block_no] = chunk
        start += size
    return infos, decoded


def _number(value: Any) -> float | None:
    if type(value) in (int, float) and value == value:
        return float(value)
    return None


def _brute_buckets(steps: list[int], values: list[Any], axis: _Axis) -> list[Bucket]:
    """The buckets, straight from the definition."""
    groups: dict[int, list[tuple[int, Any]]] = {}
    for step, value in zip(steps, values):
        if axis.contains(step):
            groups.setdefault(axis.index(step), []).append((step, value))
    out = []
    for _, points in sorted(groups.items()):
        numbers = [(step, _number(v)) for step, v in points if _number(v) is not None]
        out.append(
            Bucket(
                x_min=min(s for s, _ in points),
                x_max=max(s for s, _ in points),
                count=len(points),
                min=min((v for _, v in numbers), default=None),  # type: ignore[type-var]
                max=max((v for _, v in numbers), default=None),  # type: ignore[type-var]
                last=numbers[-1][1] if numbers else None,
                last_x=numbers[-1][0] if numbers else None,
            )
        )
    return out


# -- the pure bucketing ---------------------------------------------------------------------------------------


@given(data=st.data(), points=series_points(finite | with_nan | odd_values), buckets=st.integers(1, 30))
@settings(max_examples=300)
def test_block_summaries_give_the_same_buckets_as_decoding(data: st.DataObject, points: Any, buckets: int) -> None:
    steps, values = points
    infos, decoded = _blocks(steps, values, data.draw(partitions(len(steps))))
    lo = data.draw(st.integers(steps[0] - 3, steps[-1]))
    hi = data.draw(st.integers(lo, steps[-1] + 3))
    axis = _Axis(lo, hi, buckets, integer=True)
    used: list[int] = []

    def decode(block_no: int) -> Any:
        used.append(block_no)
        return decoded[block_no]

    from_blocks = _bucket_blocks(infos, decode, axis, locate=True)
    from_points = _bucket_points(zip(steps, steps, values), axis)
    assert [a.bucket() for a in from_blocks.values()] == [a.bucket() for a in from_points.values()]
    assert [a.bucket() for a in from_blocks.values()] == _brute_buckets(steps, values, axis)
    for a, b in zip(from_blocks.values(), from_points.values()):
        assert (a.min_step, a.max_step, a.last_step) == (b.min_step, b.max_step, b.last_step)


@given(
    xs=st.lists(st.floats(-100, 100), min_size=1, max_size=80).map(sorted),
    data=st.data(),
    buckets=st.integers(1, 20),
)
@settings(max_examples=200)
def test_slices_of_a_growing_x_give_the_same_buckets_as_points(
    xs: list[float], data: st.DataObject, buckets: int
) -> None:
    values = data.draw(st.lists(finite | with_nan | odd_values, min_size=len(xs), max_size=len(xs)))
    steps = list(range(len(xs)))
    axis = _Axis(min(xs), max(xs), buckets, integer=False)
    sliced: dict[int, Any] = {}
    sampling._bucket_sorted(xs, steps, values, axis, sliced)
    pointwise = _bucket_points(zip(xs, steps, values), axis)
    assert sorted(sliced) == sorted(pointwise)
    for index, acc in sliced.items():
        other = pointwise[index]
        assert acc.bucket() == other.bucket()
        assert (acc.min_step, acc.max_step, acc.last_step, acc.tail_step) == (
            other.min_step, other.max_step, other.last_step, other.tail_step
        )  # fmt: skip


def test_whole_blocks_inside_a_bucket_are_not_decoded() -> None:
    steps = list(range(100))
    values = [float(i % 17) for i in steps]
    infos, decoded = _blocks(steps, values, [10] * 10)
    used: list[int] = []

    def decode(block_no: int) -> Any:
        used.append(block_no)
        return decoded[block_no]

    accs = _bucket_blocks(infos, decode, _Axis(0, 99, 4, integer=True), locate=False)  # edges at 25, 50, 75
    assert [a.count for a in accs.values()] == [25, 25, 25, 25]
    assert sorted(set(used)) == [2, 7]  # the blocks holding steps 20..29 and 70..79 straddle an edge


# -- the store ------------------------------------------------------------------------------------------------


class _Series:
    """Writes series straight into the blocks table, cut into blocks of any size (ingest always uses 4096)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ingest(FakeSession("run1").records)
        with store.engine.connect() as conn:
            self.run_pk = conn.execute(sa.text("SELECT id FROM runs WHERE run_id = 'run1'")).scalar_one()
        self.keys = itertools.count()

    def add(self, steps: list[int], values: list[Any], sizes: list[int]) -> str:
        key = f"k{next(self.keys)}"
        with self.store.engine.begin() as conn:
            series_id = conn.execute(
                sa.insert(series).values(run_pk=self.run_pk, key=key).returning(series.c.id)
            ).scalar_one()
            start = 0
            for block_no, size in enumerate(sizes):
                stats, data = build_block(steps[start : start + size], values[start : start + size])
                conn.execute(
                    sa.insert(blocks).values(
                        series_id=series_id,
                        block_no=block_no,
                        step_min=stats.step_min,
                        step_max=stats.step_max,
                        count=stats.count,
                        nan_count=stats.nan_count,
                        vmin=stats.vmin,
                        vmax=stats.vmax,
                        vsum=stats.vsum,
                        vlast=stats.vlast,
                        data=data,
                    )
                )
                start += size
        return key


@pytest.fixture
def written(store: Store) -> _Series:
    return _Series(store)


def _same(a: Any, b: Any) -> bool:
    return a == b or (a != a and b != b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), nan=st.booleans(), samples=st.integers(3, 60))
def test_sampling_keeps_every_bucket_min_and_max_and_invents_nothing(
    written: _Series, data: st.DataObject, nan: bool, samples: int
) -> None:
    steps, values = data.draw(series_points(with_nan if nan else finite))
    key = written.add(steps, values, data.draw(partitions(len(steps))))
    store = written.store
    truth = dict(zip(steps, values))

    buckets = store.bucket_series("alice", "proj", "run1", key, buckets=samples // 3)
    assert buckets == _brute_buckets(steps, values, _Axis(steps[0], steps[-1], samples // 3, integer=True))

    rows = store.sampled_history("alice", "proj", "run1", keys=[key], samples=samples)
    row_steps = [row["_step"] for row in rows]
    assert row_steps == sorted(set(row_steps))  # step order, one row per step
    for row in rows:  # nothing invented: each value is the one logged at that step
        assert set(row) == {"_step", key}
        assert _same(row[key], truth[row["_step"]])
    for bucket in buckets:  # every bucket's min, max and last value is in the sample
        inside = [row[key] for row in rows if bucket.x_min <= row["_step"] <= bucket.x_max]
        numbers = [float(v) for v in inside if _number(v) is not None]
        if bucket.min is not None:
            assert bucket.min in numbers and bucket.max in numbers
            assert any(row["_step"] == bucket.last_x and float(row[key]) == bucket.last for row in rows)
        else:
            assert inside  # a bucket of NaNs still shows its last point


def test_bucket_series_over_ingested_blocks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    session = FakeSession()
    n = 10_000  # three blocks of 4096 points
    for i in range(n):
        session.log({"loss": 1.0 / (i + 1) + (5.0 if i == 7777 else 0.0), "acc": i % 13})
    store.ingest(session.records)
    decoded: list[int] = []
    real = sampling.decode_block
    monkeypatch.setattr(sampling, "decode_block", lambda data: decoded.append(1) or real(data))
    real_typed = sampling._decode_typed  # numbers-only blocks are decoded by numpy: count those too
    monkeypatch.setattr(sampling, "_decode_typed", lambda data: decoded.append(1) or real_typed(data))

    whole = store.bucket_series("alice", "proj", "run1", "loss", buckets=2)
    assert [(b.x_min, b.x_max, b.count) for b in whole] == [(0, 4999, 5000), (5000, 9999, 5000)]
    assert whole[0].max == 1.0 and whole[1].max == pytest.approx(5.0 + 1 / 7778)
    assert whole[1].last == 1.0 / n and whole[1].last_x == n - 1
    assert len(decoded) == 1  # block 0 (0..4095) lies in bucket 0 and comes from its summary; block 2 too

    zoom = store.bucket_series("alice", "proj", "run1", "acc", buckets=5, min_x=100, max_x=149)
    assert [(b.x_min, b.x_max, b.count) for b in zoom] == [(100 + 10 * i, 109 + 10 * i, 10) for i in range(5)]
    windows = [[i % 13 for i in range(100 + 10 * k, 110 + 10 * k)] for k in range(5)]
    assert [(b.min, b.max, b.last) for b in zoom] == [(min(w), max(w), w[-1]) for w in windows]

    assert store.bucket_series("alice", "proj", "run1", "loss", buckets=3, min_x=20_000) == []
    assert store.bucket_series("alice", "proj", "nope", "loss") == []
    assert store.bucket_series("alice", "proj", "run1", "nope") == []
    with pytest.raises(UsageError, match="buckets"):
        store.bucket_series("alice", "proj", "run1", "loss", buckets=0)
    with pytest.raises(UsageError, match="samples"):
        store.sampled_history("alice", "proj", "run1", samples=0)

    rows = store.sampled_history("alice", "proj", "run1", keys=["loss"], samples=30)
    assert any(row["_step"] == 7777 for row in rows)  # the spike survives
    assert 10 <= len(rows) <= 30


def test_other_x_axes_and_rows_lacking_them(store: Store) -> None:
    session = FakeSession()
    for i in range(200):
        row: dict[str, Any] = {"loss": float((i * 37) % 101), "label": f"s{i}"}
        if i % 10 == 0:
            row["epoch"] = i // 10
        if i == 50:
            row["loss"] = math.nan
        row["wobble"] = math.nan if i == 3 else float((i * 7) % 10)  # an x axis that goes back and forth
        session.log(row)
    store.ingest(session.records)

    by_runtime = store.bucket_series("alice", "proj", "run1", "loss", buckets=4, x_axis="_runtime")
    assert sum(b.count for b in by_runtime) == 200
    assert [b.x_min for b in by_runtime] == [0.0, 25.0, 50.0, 75.0]  # FakeSession's runtime is step / 2

    by_epoch = store.bucket_series("alice", "proj", "run1", "loss", buckets=20, x_axis="epoch")
    assert sum(b.count for b in by_epoch) == 20  # only the rows that hold "epoch"
    assert [b.x_min for b in by_epoch] == list(range(20))

    by_wobble = store.bucket_series("alice", "proj", "run1", "loss", buckets=5, x_axis="wobble")
    points = [(float((i * 7) % 10), i, float((i * 37) % 101)) for i in range(200) if i not in (3, 50)]
    expected = []
    for b in range(5):  # x in [0, 9] cut into 5 buckets of width 1.8
        inside = [(x, step, v) for x, step, v in points if min(4, int(x / 9 * 5)) == b]
        nan_here = 1 if b == min(4, int(((50 * 7) % 10) / 9 * 5)) else 0
        expected.append(
            (min(x for x, _, _ in inside), max(x for x, _, _ in inside), len(inside) + nan_here,
             min(v for _, _, v in inside), max(v for _, _, v in inside), inside[-1][2])
        )  # fmt: skip
    assert [(b.x_min, b.x_max, b.count, b.min, b.max, b.last) for b in by_wobble] == expected

    rows = store.sampled_history("alice", "proj", "run1", keys=["loss"], samples=9, x_axis="epoch")
    assert rows and all("epoch" in row and row["_step"] % 10 == 0 for row in rows)
    assert store.sampled_history("alice", "proj", "run1", keys=["loss"], x_axis="nope") == []

    everything = store.sampled_history("alice", "proj", "run1", samples=12)
    keys = set().union(*everything)
    assert keys == {"_step", "_runtime", "_timestamp", "loss", "label", "epoch", "wobble"}
    assert {row["_step"] for row in everything if "label" in row} >= {199}  # strings: each bucket's last point
    history = {row["_step"]: row for row in store.history("alice", "proj", "run1")}
    for row in everything:
        assert all(_same(value, history[row["_step"]][k]) for k, value in row.items())


# -- numbers-only blocks read by numpy ------------------------------------------------------------------------

kinds = st.sampled_from(["float", "int", "any"])


@given(data=st.data(), kind=kinds, buckets=st.integers(1, 30))
@settings(max_examples=300)
def test_numpy_read_blocks_give_the_same_buckets_and_values(data: st.DataObject, kind: str, buckets: int) -> None:
    from runyard.store.block_arrays import decode_typed

    values_of = {
        "float": st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, -0.0, math.nan, math.inf]),
        "int": st.integers(-(2**62), 2**62),
        "any": finite | with_nan | odd_values,
    }[kind]
    steps, values = data.draw(series_points(values_of))
    sizes = data.draw(partitions(len(steps)))
    infos, decoded = _blocks(steps, values, sizes)
    encoded = {}
    start = 0
    for block_no, size in enumerate(sizes):
        encoded[block_no] = build_block(steps[start : start + size], values[start : start + size])[1]
        start += size
    axis = _Axis(steps[0], steps[-1], buckets, integer=True)
    by_lists = _bucket_blocks(infos, decoded.__getitem__, axis, locate=True)
    by_arrays = _bucket_blocks(infos, decoded.__getitem__, axis, True, None, lambda n: decode_typed(encoded[n]))
    assert [a.bucket() for a in by_arrays.values()] == [a.bucket() for a in by_lists.values()]
    for a, b in zip(by_arrays.values(), by_lists.values()):
        assert (a.min_step, a.max_step, a.last_step) == (b.min_step, b.max_step, b.last_step)
    for block_no, data_ in encoded.items():
        typed = decode_typed(data_)
        if typed is not None:  # exactly what decode_block gives: the same types and values
            got = (typed[0].tolist(), typed[1].tolist())
            assert [list(map(type, part)) for part in got] == [list(map(type, part)) for part in decoded[block_no]]
            assert all(_same(x, y) for x, y in zip(got[1], decoded[block_no][1]))


def test_values_at_reads_only_the_steps_asked(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(10_000):  # full blocks (numbers only) and a tail; ints, floats and a mixed key
        s.log({"f": i / 7, "i": i * 3, "m": "x" if i % 1000 == 0 else i}, step=2 * i)
    store.ingest(s.records)
    rows = store.sampled_history("alice", "proj", "run1", keys=["f", "i", "m"], samples=60)
    assert rows and all(row["_step"] % 2 == 0 for row in rows)
    for row in rows:
        i = row["_step"] // 2
        assert row["f"] == i / 7 and type(row["f"]) is float
        assert row["i"] == i * 3 and type(row["i"]) is int
        assert row["m"] == ("x" if i % 1000 == 0 else i)
    with store.engine.connect() as conn:
        pk = conn.execute(sa.text("SELECT id FROM runs")).scalar_one()
        sid = conn.execute(sa.text("SELECT id FROM series WHERE key = 'f'")).scalar_one()
        reader = sampling._SeriesReader(conn, sid)
        assert pk is not None
        asked = [0, 1, 2, 8191, 8192, 9998, 19_998, 19_999, 40_000]
        assert reader.values_at(asked) == {s: (s // 2) / 7 for s in asked if s % 2 == 0 and s <= 19_998}
