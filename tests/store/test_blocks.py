from __future__ import annotations

import math
import random
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.errors import StoreError
from runyard.store.blocks import (
    BLOCK_SIZE,
    COMPRESS_MIN,
    block_stats,
    build_block,
    decode_block,
    encode_block,
    join_blocks,
    prepare_block,
)

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
    """Byte 0 is the value kind (readers such as the sampler look at it without decoding), byte 1 the format."""
    big = list(range(COMPRESS_MIN))
    for n in (2, COMPRESS_MIN):
        assert encode_block(big[:n], [1.0] * n)[:2] == b"f\x02"
        assert encode_block(big[:n], big[:n])[:2] == b"i\x02"
        assert encode_block(big[:n], [1, 2.0] * (n // 2))[:2] == b"o\x02"
        assert encode_block(big[:n], [True, False] * (n // 2))[:2] == b"o\x02"
    assert encode_block(big, [2**63 - 1, -(2**63)] * (COMPRESS_MIN // 2))[:1] == b"o"  # deltas overflow int64


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


def _float_pattern(rng: random.Random, pattern: str, n: int) -> list[float]:
    if pattern == "noisy":
        return [2.3 * math.exp(-i / 900) + rng.gauss(0, 0.05) for i in range(n)]
    if pattern == "integral":
        return [float(rng.randrange(-(10**9), 10**9)) for _ in range(n)]
    if pattern == "constant":
        return [0.1] * n
    if pattern == "ramp":
        return [i / 1000 for i in range(n)]
    if pattern == "bits":  # any 64-bit pattern: NaN payloads, subnormals, infinities
        return list(struct.unpack(f"<{n}d", rng.randbytes(8 * n)))
    return [rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.0]) for _ in range(n)]


FLOAT_PATTERNS = ("noisy", "integral", "constant", "ramp", "bits", "special")


def _steps(rng: random.Random, kind: str, n: int) -> list[int]:
    if kind == "consecutive":
        first = rng.randrange(0, 2**40)
        return list(range(first, first + n))
    if kind == "sparse":
        out, at = [], rng.randrange(0, 1000)
        for _ in range(n):
            out.append(at)
            at += rng.choice([1, 10, 100, rng.randrange(1, 2**20)])
        return out
    return sorted(rng.randrange(-(2**63), 2**63) for _ in range(n))  # deltas beyond int64 too


@given(
    st.integers(1, BLOCK_SIZE),
    st.sampled_from(FLOAT_PATTERNS),
    st.sampled_from(["consecutive", "sparse", "extreme"]),
    st.integers(0, 2**32),
)
def test_large_float_blocks_roundtrip_exactly(n: int, pattern: str, step_kind: str, seed: int) -> None:
    rng = random.Random(seed)
    values = _float_pattern(rng, pattern, n)
    for _ in range(rng.randrange(0, 4)):
        values[rng.randrange(n)] = rng.choice([math.nan, math.inf, -math.inf, -0.0])
    steps = _steps(rng, step_kind, n)
    _roundtrip(steps, values)
    stats, data = build_block(steps, values)
    assert data[:2] == b"f\x02"
    expected = block_stats(steps, values)
    assert _bits([stats.vmin, stats.vmax, stats.vsum, stats.vlast]) == _bits(
        [expected.vmin, expected.vmax, expected.vsum, expected.vlast]
    )
    assert (stats.step_min, stats.step_max, stats.count, stats.nan_count) == (
        min(steps),
        max(steps),
        n,
        sum(1 for v in values if v != v),
    )


@given(
    st.integers(1, BLOCK_SIZE),
    st.sampled_from(["counter", "small", "int64", "mixed"]),
    st.sampled_from(["consecutive", "sparse"]),
    st.integers(0, 2**32),
)
def test_large_int_and_mixed_blocks_roundtrip_exactly(n: int, pattern: str, step_kind: str, seed: int) -> None:
    rng = random.Random(seed)
    values: list[Any]
    if pattern == "counter":
        start = rng.randrange(-(2**62), 2**62)
        values = [start + i * 7 for i in range(n)]
    elif pattern == "small":
        values = [rng.randrange(-3, 4) for _ in range(n)]
    elif pattern == "int64":
        values = [rng.randrange(-(2**63), 2**63) for _ in range(n)]
    else:
        values = [rng.choice([1, 2.5, None, "x", True, 2**80, [1, "a"], math.nan]) for _ in range(n)]
    steps = _steps(rng, step_kind, n)
    _roundtrip(steps, values)
    stats = build_block(steps, values)[0]
    expected = block_stats(steps, values)
    assert _bits([stats.vmin, stats.vmax, stats.vlast, stats.nan_count]) == _bits(
        [expected.vmin, expected.vmax, expected.vlast, expected.nan_count]
    )


def test_noisy_planes_are_stored_raw_and_regular_ones_compressed() -> None:
    rng = random.Random(0)
    steps = list(range(BLOCK_SIZE))
    noisy = encode_block(steps, [1.0 / (1 + i) + rng.gauss(0, 0.01) for i in steps])
    assert noisy[3] != 0  # some planes raw
    assert len(noisy) / BLOCK_SIZE <= 8
    for regular in ([float(i) for i in steps], [i / 1000 for i in steps], [0.5] * BLOCK_SIZE):
        assert len(encode_block(steps, regular)) / BLOCK_SIZE < 3.5
    assert len(encode_block(steps, [7] * BLOCK_SIZE)) < 200


def test_corrupt_blocks_raise() -> None:
    data = encode_block([1, 2], [1.0, 2.0])
    with pytest.raises(StoreError, match="format"):
        decode_block(data[:1] + b"\x09" + data[2:])
    with pytest.raises(StoreError, match="kind"):
        decode_block(b"z" + data[1:])


@given(
    st.lists(st.integers(1, 1500), min_size=1, max_size=6),
    st.sampled_from(FLOAT_PATTERNS),
    st.integers(0, 2**32),
)
def test_joined_blocks_are_the_blocks_of_their_points(sizes: list[int], pattern: str, seed: int) -> None:
    """join_blocks reuses what preparing the parts found; the result is exactly preparing all the points."""
    rng = random.Random(seed)
    values = _float_pattern(rng, pattern, sum(sizes))
    first = rng.randrange(0, 2**40)
    steps = list(range(first, first + len(values)))
    parts, at = [], 0
    for size in sizes:
        part_values = values[at : at + size]
        parts.append((prepare_block(steps[at : at + size], part_values), part_values))
        at += size
    joined = join_blocks(parts)
    whole = prepare_block(steps, values)
    if not all(part.joinable for part, _ in parts) or whole.stats.vsum is None:
        assert joined is None
        return
    assert joined is not None
    assert _bits(list(vars(joined.stats).values())) == _bits(list(vars(whole.stats).values()))
    assert joined.encode() == whole.encode()
    # Steps must follow on: a gap, or a part at non-consecutive steps, cannot be joined.
    gap = prepare_block([steps[-1] + 2], [1.0])
    assert join_blocks([*parts, (gap, [1.0])]) is None


# -- format 1: blocks written by earlier versions --------------------------------------------------------------


def encode_v1(steps: list[int], values: list[Any]) -> bytes:
    """A block as format 1 wrote it (the encoder of the first release, kept here to pin the format down)."""

    def shuffled(typecode: str, numbers: list[int] | list[float]) -> bytes:
        raw = struct.pack(f"<{len(numbers)}{typecode}", *numbers)
        return b"".join(raw[i::8] for i in range(8))

    n = len(steps)
    step_deltas = [b - a for a, b in zip(steps[:1] + steps, steps)]
    head = struct.pack("<Iq", n, steps[0] if n else 0) + shuffled("q", step_deltas)
    if values and all(type(v) is float for v in values):
        kind, body = b"f", shuffled("d", values)
    elif values and all(type(v) is int for v in values):
        kind, body = b"i", shuffled("q", [b - a for a, b in zip([0, *values], values)])
    else:
        import msgpack

        kind, body = b"o", msgpack.packb(values, use_bin_type=True)
    return kind + zlib.compress(head + body, 6)


def test_format_1_blocks_still_decode() -> None:
    cases: list[tuple[list[int], list[Any]]] = [
        (list(range(5, 4101)), [1.0 / (1 + i) for i in range(4096)]),
        ([0, 3, 9, 10], [1.5, math.nan, -math.inf, -0.0]),
        ([1, 2, 3], [7, -(2**40), 2**62]),
        ([1, 2, 3], [None, "s", [1, "a"]]),
        ([], []),
    ]
    for steps, values in cases:
        data = encode_v1(steps, values)
        assert data[1] == 0x78
        got_steps, got_values = decode_block(data)
        assert got_steps == steps
        assert _bits(got_values) == _bits(values)
    # A block the first release wrote, byte for byte: kind f, steps 10..12, values 0.5, 1.5, 2.5.
    frozen = bytes.fromhex("66789c63666060e0628002464606e2c0831f2cf6f60e000f2002aa")
    assert decode_block(frozen) == ([10, 11, 12], [0.5, 1.5, 2.5])
