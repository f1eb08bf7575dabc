from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.errors import StoreError
from runyard.store.blocks import block_stats, build_block, decode_block, encode_block

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
steps_strategy = st.lists(st.integers(min_value=0, max_value=2**40), min_size=0, max_size=300).map(sorted)


def _bits(values: list[Any]) -> list[Any]:
    """Values with floats replaced by their bit patterns: NaN, -0.0 and 0.0 compare exactly."""
    return [("f", struct.pack("<d", v)) if type(v) is float else (type(v).__name__, v) for v in values]


def _roundtrip(steps: list[int], values: list[Any]) -> None:
    data = encode_block(steps, values)
    out_steps, out_values = decode_block(data)
    assert out_steps == steps
    assert _bits(out_values) == _bits(values)


@given(st.data())
def test_floats_roundtrip_exactly(data: st.DataObject) -> None:
    steps = data.draw(steps_strategy)
    values = data.draw(st.lists(st.floats(), min_size=len(steps), max_size=len(steps)))
    _roundtrip(steps, values)
    if steps:
        assert encode_block(steps, values)[:1] == b"f"


@given(st.data())
def test_ints_roundtrip_exactly(data: st.DataObject) -> None:
    steps = data.draw(steps_strategy)
    values = data.draw(st.lists(INT64, min_size=len(steps), max_size=len(steps)))
    _roundtrip(steps, values)


mixed_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond int64 too
    st.floats(),
    st.text(max_size=5),
    st.lists(st.one_of(st.integers(min_value=-5, max_value=5), st.text(max_size=2)), max_size=3),
)


@given(st.data())
def test_mixed_values_roundtrip_exactly(data: st.DataObject) -> None:
    steps = data.draw(steps_strategy)
    values = data.draw(st.lists(mixed_value, min_size=len(steps), max_size=len(steps)))
    _roundtrip(steps, values)


def test_special_values() -> None:
    values = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
    _roundtrip(list(range(len(values))), values)
    _roundtrip([0, 1, 2, 3], [2**63 - 1, -(2**63), 0, 2**63 - 1])  # deltas overflow int64: falls back
    _roundtrip([0, 1, 2], [2**64, -(2**70), 3])
    _roundtrip([0, 1, 2], [1, 1.5, True])
    _roundtrip([5, 7, 7, 100], [None, "s", [1, "a"], {"k": 1}])


def test_kinds() -> None:
    assert encode_block([1, 2], [1.0, 2.0])[:1] == b"f"
    assert encode_block([1, 2], [1, 2])[:1] == b"i"
    assert encode_block([1, 2], [1, 2.0])[:1] == b"o"
    assert encode_block([1, 2], [True, False])[:1] == b"o"


def test_compresses_float_scalars_below_20_bytes_per_point() -> None:
    rng = random.Random(0)
    steps = list(range(4096))
    loss = [1.0 / (1 + i) + rng.gauss(0, 0.01) for i in steps]
    runtime = [i * 0.137 + rng.random() * 1e-3 for i in steps]
    timestamps = [1.7e9 + i * 0.137 + rng.random() * 1e-3 for i in steps]
    for values in (loss, runtime, timestamps):
        assert len(encode_block(steps, values)) / len(steps) <= 20
    assert len(encode_block(steps, list(range(4096)))) < 200


def test_bad_steps_raise() -> None:
    with pytest.raises(StoreError):
        encode_block([2**63], [1.0])
    with pytest.raises(ValueError):
        encode_block([1, 2], [1.0])


def test_stats() -> None:
    stats = block_stats([3, 4, 5, 6, 7, 8], [2.0, math.nan, "x", -1, True, 5.5])
    assert (stats.step_min, stats.step_max, stats.count, stats.nan_count) == (3, 8, 6, 1)
    assert (stats.vmin, stats.vmax, stats.vsum, stats.vlast) == (-1.0, 5.5, 6.5, 5.5)
    empty = block_stats([1, 2], ["a", None])
    assert (empty.vmin, empty.vmax, empty.vsum, empty.vlast, empty.nan_count) == (None, None, None, None, 0)
    infs = block_stats([1, 2], [math.inf, -math.inf])
    assert (infs.vmin, infs.vmax, infs.vsum, infs.vlast) == (-math.inf, math.inf, None, -math.inf)


@given(st.lists(st.one_of(st.floats(allow_infinity=False, min_value=-1e100, max_value=1e100), INT64), min_size=1))
def test_stats_match_python(values: list[float]) -> None:
    stats = block_stats(list(range(len(values))), values)
    numeric = [float(v) for v in values if not (isinstance(v, float) and math.isnan(v))]
    assert stats.nan_count == len(values) - len(numeric)
    if not numeric:
        assert stats.vmin is None and stats.vlast is None
        return
    assert stats.vmin == min(numeric)
    assert stats.vmax == max(numeric)
    assert stats.vlast == numeric[-1]
    assert stats.vsum is not None
    assert math.isclose(stats.vsum, math.fsum(numeric), rel_tol=1e-9, abs_tol=1e-6 * max(map(abs, numeric)))


@given(st.data())
def test_build_block_agrees_with_encode_and_stats(data: st.DataObject) -> None:
    steps = data.draw(st.one_of(steps_strategy, st.integers(0, 2**62).map(lambda s: list(range(s, s + 50)))))
    values = data.draw(st.lists(mixed_value, min_size=len(steps), max_size=len(steps)))
    stats, encoded = build_block(steps, values)
    assert encoded == encode_block(steps, values)
    expected = block_stats(steps, values)
    assert _bits([stats.vmin, stats.vmax, stats.vsum, stats.vlast]) == _bits(
        [expected.vmin, expected.vmax, expected.vsum, expected.vlast]
    )
    assert (stats.step_min, stats.step_max, stats.count, stats.nan_count) == (
        expected.step_min,
        expected.step_max,
        expected.count,
        expected.nan_count,
    )
    _roundtrip(steps, values)
