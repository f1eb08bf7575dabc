"""History blocks: appends cost what they add, small blocks compact into full ones that match one big batch,
rollover at BLOCK_SIZE with the right statistics, and the open-tail cache."""

from __future__ import annotations

import itertools
import math
import random
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fakes import FakeSession
from test_blocks import encode_v1

from runyard.flatten import flatten
from runyard.store import Store, history
from runyard.store import blocks as blocks_module
from runyard.store.blocks import BLOCK_SIZE, block_stats, build_block, decode_block
from runyard.store.history import MERGE_LIMIT, OpenBlock, OpenBlockCache, TailBlock
from runyard.store.schema import blocks, series


def _blocks(store: Store, key: str, run_id: str = "run1") -> list[dict[str, Any]]:
    from runyard.store.schema import runs

    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(blocks)
            .join(series, blocks.c.series_id == series.c.id)
            .join(runs, series.c.run_pk == runs.c.id)
            .where(series.c.key == key, runs.c.run_id == run_id)
            .order_by(blocks.c.block_no)
        ).mappings()
        return [dict(row) for row in rows]


def _bits(values: list[Any]) -> list[Any]:
    """Floats by bit pattern: NaN equals NaN, -0.0 differs from 0.0."""
    return [("f", struct.pack("<d", v)) if type(v) is float else (type(v).__name__, v) for v in values]


def _expected(session: FakeSession) -> dict[str, tuple[list[int], list[Any]]]:
    out: dict[str, tuple[list[int], list[Any]]] = {}
    for _, kind, body in session.records:
        if kind != "row":
            continue
        for key, value in flatten(body).items():
            if key != "_step":
                entry = out.setdefault(key, ([], []))
                entry[0].append(body["_step"])
                entry[1].append(value)
    return out


def _check_series(store: Store, run_id: str, key: str, steps: list[int], values: list[Any]) -> None:
    """The block invariants, and full blocks exactly as one batch of all the points would have written them."""
    size = history.BLOCK_SIZE  # tests may shrink it
    rows = _blocks(store, key, run_id)
    assert [r["block_no"] for r in rows] == list(range(len(rows)))  # dense numbers
    for before, after in itertools.pairwise(rows):
        assert before["step_min"] <= before["step_max"] < after["step_min"]  # ordered, no overlap
    counts = [r["count"] for r in rows]
    assert sum(counts) == len(steps)
    full = len(steps) // size
    assert counts[:full] == [size] * full  # full blocks first...
    assert all(0 < count < size for count in counts[full:])  # ...then the open tail
    assert len(counts) - full <= history.TAIL_BLOCKS_MAX
    decoded_steps: list[int] = []
    decoded_values: list[Any] = []
    for i, row in enumerate(rows):
        got_steps, got_values = decode_block(row["data"])
        assert (row["step_min"], row["step_max"], row["count"]) == (min(got_steps), max(got_steps), len(got_steps))
        decoded_steps += got_steps
        decoded_values += got_values
        if i < full:  # the very block one big batch writes: same statistics, same bytes
            chunk = slice(i * size, (i + 1) * size)
            stats, data = build_block(steps[chunk], values[chunk])
            assert row["data"] == data
            assert _bits([row["vmin"], row["vmax"], row["vsum"], row["vlast"]]) == _bits(
                [stats.vmin, stats.vmax, stats.vsum, stats.vlast]
            )
            assert row["nan_count"] == stats.nan_count
    assert decoded_steps == steps
    assert _bits(decoded_values) == _bits(values)
    # The tail's summaries add up to those of the one block that one batch would have written.
    tail = rows[full:]
    if tail:
        whole = block_stats(steps[full * size :], values[full * size :])
        assert sum(r["nan_count"] for r in tail) == whole.nan_count
        numeric = [r for r in tail if r["vmin"] is not None]
        assert (min((r["vmin"] for r in numeric), default=None), max((r["vmax"] for r in numeric), default=None)) == (
            whole.vmin,
            whole.vmax,
        )
        assert (numeric[-1]["vlast"] if numeric else None) == whole.vlast
        if whole.vsum is not None and all(r["vsum"] is not None for r in numeric):
            assert math.isclose(sum(r["vsum"] for r in numeric), whole.vsum, rel_tol=1e-9, abs_tol=1e-6)


def _check_run(store: Store, session: FakeSession, run_id: str) -> None:
    expected = _expected(session)
    assert store.history_keys("alice", "proj", run_id) == sorted(expected)
    for key, (steps, values) in expected.items():
        _check_series(store, run_id, key, steps, values)
        got_steps, got_values = store.series("alice", "proj", run_id, key)
        assert got_steps == steps and _bits(got_values) == _bits(values)


@contextmanager
def _small_blocks(monkeypatch: pytest.MonkeyPatch, size: int = 16, merge: int = 4, tail: int = 4) -> Iterator[None]:
    """Shrink the block geometry so that a few dozen points exercise merges, compaction and long tails."""
    with monkeypatch.context() as patch:
        patch.setattr(history, "BLOCK_SIZE", size)
        patch.setattr(history, "MERGE_LIMIT", merge)
        patch.setattr(history, "TAIL_BLOCKS_MAX", tail)
        patch.setattr(blocks_module, "COMPRESS_MIN", 8)  # compressed blocks too
        yield


def _row(rng: random.Random, i: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "loss": math.nan if rng.random() < 0.02 else math.exp(-i / 50) + rng.gauss(0, 0.01),
        "count": i * 3,
        "nested": {"flag": i % 5 == 0},
    }
    if i % 3 == 0:
        row["sparse"] = i / 7
    if rng.random() < 0.05:
        row["count"] = "n/a"  # a str among ints
    return row


def _ingest(store: Store, session: FakeSession, cuts: list[int]) -> None:
    """Ingest the session's records in batches ending at the (sorted) ``cuts``."""
    start = 0
    for end in [*cuts, len(session.records)]:
        if end > start:
            store.ingest(session.records[start:end], session=session.session)
            start = end


def test_blocks_roll_over_with_correct_stats(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    total = 2 * BLOCK_SIZE + 100
    values = [float(i % 1000) for i in range(total)]
    values[5] = math.nan
    values[BLOCK_SIZE + 1] = math.nan
    for v in values:
        s.log({"v": v})
    # Uneven batches: the tail is merged, compacted, and rolls over in the middle of a batch.
    sizes = [1, 999, 3000, 200, 4000, 500]
    start = 0
    for size in sizes:
        store.ingest(s.records[start : start + size], session=s.session)
        start += size
    store.ingest(s.records[start:], session=s.session)
    rows = _blocks(store, "v")
    assert [r["block_no"] for r in rows] == [0, 1, 2]
    assert [r["count"] for r in rows] == [BLOCK_SIZE, BLOCK_SIZE, 100]
    for row in rows:
        lo = row["block_no"] * BLOCK_SIZE
        chunk = values[lo : lo + BLOCK_SIZE]
        finite = [v for v in chunk if not math.isnan(v)]
        assert (row["step_min"], row["step_max"]) == (lo, lo + len(chunk) - 1)
        assert row["nan_count"] == len(chunk) - len(finite)
        assert (row["vmin"], row["vmax"], row["vlast"]) == (min(finite), max(finite), finite[-1])
        assert row["vsum"] == sum(finite)
        steps, decoded = decode_block(row["data"])
        assert steps == list(range(lo, lo + len(chunk)))
        assert [str(v) for v in decoded] == [str(v) for v in chunk]
    steps, got = store.series("alice", "proj", "run1", "v")
    assert steps == list(range(total))
    assert [str(v) for v in got] == [str(v) for v in values]
    # Float scalars: on-disk data well under the 20 bytes per point target.
    assert sum(len(r["data"]) for r in rows) / total < 20


def test_history_spans_blocks_and_step_ranges(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(BLOCK_SIZE + 50):
        s.log({"v": i, "w": i * 0.5} if i % 3 else {"v": i})
    store.ingest(s.records)
    window = list(store.history("alice", "proj", "run1", keys=["w"], min_step=BLOCK_SIZE - 3, max_step=BLOCK_SIZE + 3))
    expected = [{"_step": i, "w": i * 0.5} for i in range(BLOCK_SIZE - 3, BLOCK_SIZE + 4) if i % 3]
    assert window == expected
    everything = store.history("alice", "proj", "run1")
    first = next(everything)
    assert first["_step"] == 0 and first["v"] == 0 and "w" not in first
    assert sum(1 for _ in everything) == BLOCK_SIZE + 49


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_batch_split_stores_what_one_batch_stores(
    store: Store, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(1, 120), label="rows")
    cuts = sorted(data.draw(st.lists(st.integers(1, rows), max_size=60), label="cuts"))
    run_id = uuid.uuid4().hex
    s = FakeSession(run_id)
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    for i in range(rows):
        s.log(_row(rng, i))
    with _small_blocks(monkeypatch):
        _ingest(store, s, cuts)
        _check_run(store, s, run_id)
    assert [r["_step"] for r in store.history("alice", "proj", run_id)] == list(range(rows))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_replayed_small_batches_never_duplicate(
    store: Store, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    rows = data.draw(st.integers(1, 80), label="rows")
    run_id = uuid.uuid4().hex
    s = FakeSession(run_id)
    rng = random.Random(rows)
    for i in range(rows):
        s.log(_row(rng, i))
    total = len(s.records)
    # Each batch starts anywhere at or before what was applied (a replay), and may stop short of it.
    batches = data.draw(st.lists(st.tuples(st.integers(0, total), st.integers(1, 20)), max_size=40), label="batches")
    with _small_blocks(monkeypatch):
        done = 0
        for at, length in [*batches, (total, total)]:
            start = min(at, done)
            end = min(total, start + length)
            assert store.ingest(s.records[start:end], session=s.session) == max(done, end)
            done = max(done, end)
        _check_run(store, s, run_id)


def test_tiny_batches_compact_without_losing_points(store: Store, fake_session: type[FakeSession]) -> None:
    """Real block geometry: batches of 1 to 9 rows merge in small blocks, then compact into a full block."""
    s = fake_session()
    rng = random.Random(1)
    for i in range(BLOCK_SIZE + 700):
        s.log({"loss": 2.0 * math.exp(-i / 3000) + rng.gauss(0, 0.01), "step_int": i, "epoch": i / 1000})
    cuts = []
    at = 1
    while at < len(s.records):
        cuts.append(at)
        at += 1 + at % 9
    _ingest(store, s, cuts)
    _check_run(store, s, "run1")
    rows = _blocks(store, "loss")
    assert rows[0]["count"] == BLOCK_SIZE
    assert len(rows) <= 1 + history.TAIL_BLOCKS_MAX
    assert all(r["count"] >= MERGE_LIMIT // 2 for r in rows[1:-4])  # merged: not hundreds of tiny blocks


def test_a_batch_writes_only_its_own_points(store: Store, fake_session: type[FakeSession]) -> None:
    """Appending to a long series writes one small block, never the blocks before it (no open-block rewrite)."""
    s = fake_session()
    for i in range(3 * BLOCK_SIZE + 2000):
        s.log({"v": float(i)})
    store.ingest(s.records)
    written: list[int] = []

    def count_rows(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO blocks "):
            rows = parameters if executemany else [parameters]
            written.extend(len(decode_block(row["data"])[0]) for row in rows)

    sa.event.listen(store.engine, "before_cursor_execute", count_rows)
    try:
        for _ in range(5):
            s.log({"v": 1.5})
            written.clear()
            store.ingest(s.records[-1:], session=s.session)
            # One row per series (v, _runtime, _timestamp), holding the new point merged with at most a few
            # earlier ones: never the 2,000-point block the first batch left open, never a full block.
            assert len(written) == 3 and max(written) <= 4
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count_rows)
    _check_run(store, s, "run1")


def test_format_1_tail_is_merged_and_compacted(store: Store, fake_session: type[FakeSession]) -> None:
    """A series left by an earlier version (one open format 1 block) is appended to and compacted in place."""
    s = fake_session()
    for i in range(BLOCK_SIZE + 300):
        s.log({"v": i * 0.25})
    store.ingest(s.records[:101])  # steps 0..99
    old_steps = list(range(100))
    old_values = [i * 0.25 for i in old_steps]
    with store._write_engine.begin() as conn:
        sid = conn.execute(sa.select(series.c.id).where(series.c.key == "v")).scalar_one()
        conn.execute(
            sa.update(blocks)
            .where(blocks.c.series_id == sid, blocks.c.block_no == 0)
            .values(data=encode_v1(old_steps, old_values))
        )
    store._cache = OpenBlockCache()  # as a freshly started process
    store.ingest(s.records[101:400], session=s.session)
    store.ingest(s.records[400:], session=s.session)
    steps, values = store.series("alice", "proj", "run1", "v")
    assert steps == list(range(BLOCK_SIZE + 300))
    assert values == [i * 0.25 for i in range(BLOCK_SIZE + 300)]
    rows = _blocks(store, "v")
    assert [r["count"] for r in rows] == [BLOCK_SIZE, 300]


def test_a_foreign_tail_of_more_than_a_block_is_cut_afresh(store: Store, fake_session: type[FakeSession]) -> None:
    """Blocks that are not full and together hold more than a block (no version writes them, another tool
    might) are rewritten into full blocks when the series next grows."""
    s = fake_session()
    for i in range(5200):
        s.log({"v": float(i)})
    store.ingest(s.records[:5001])  # steps 0..4999
    with store._write_engine.begin() as conn:
        sid = conn.execute(sa.select(series.c.id).where(series.c.key == "v")).scalar_one()
        conn.execute(sa.delete(blocks).where(blocks.c.series_id == sid))
        for block_no, (lo, hi) in enumerate([(0, 3000), (3000, 5000)]):
            steps, values = list(range(lo, hi)), [float(i) for i in range(lo, hi)]
            stats = block_stats(steps, values)
            conn.execute(
                sa.insert(blocks).values(series_id=sid, block_no=block_no, data=encode_v1(steps, values), **vars(stats))
            )
    store._cache = OpenBlockCache()
    store.ingest(s.records[5001:], session=s.session)
    _check_run(store, s, "run1")
    assert [r["count"] for r in _blocks(store, "v")] == [BLOCK_SIZE, 5200 - BLOCK_SIZE]


def test_open_block_cache_notices_another_writer(store_url: str, fake_session: type[FakeSession]) -> None:
    a = Store.open(store_url)
    b = Store.open(store_url)
    try:
        s = fake_session()
        for i in range(BLOCK_SIZE + 20):
            s.log({"v": i})
        a.ingest(s.records[:11])  # start + steps 0..9: open tail cached in a
        assert len(a._cache) > 0
        b.ingest(s.records[11:21], session=s.session)  # b merges into the same block
        a.ingest(s.records[21:31], session=s.session)  # a must not overwrite b's points
        b.ingest(s.records[31 : BLOCK_SIZE + 5], session=s.session)  # b compacts: a full block and a new tail
        a.ingest(s.records[BLOCK_SIZE + 5 :], session=s.session)  # a's cache is a full block behind
        for reader in (a, b):
            steps, values = reader.series("alice", "proj", "run1", "v")
            assert steps == list(range(BLOCK_SIZE + 20))
            assert values == list(range(BLOCK_SIZE + 20))
    finally:
        a.close()
        b.close()


def test_cache_notices_a_compaction_that_ends_like_its_tail(store_url: str, fake_session: type[FakeSession]) -> None:
    """Another writer compacts so that the last block has a's last block number and count again: the step range
    tells them apart (trusting the stale tail, a's next compaction would overwrite the other writer's points)."""
    a = Store.open(store_url)
    b = Store.open(store_url)
    try:
        s = fake_session()
        total = 300 + (BLOCK_SIZE - 100) + BLOCK_SIZE
        for i in range(total):
            s.log({"v": i})
        a.ingest(s.records[:101])  # tail [100]
        a.ingest(s.records[101:301], session=s.session)  # tail [100, 200]: a caches it
        before = _blocks(a, "v")
        assert [(r["block_no"], r["count"]) for r in before] == [(0, 100), (1, 200)]
        b.ingest(s.records[301 : 301 + BLOCK_SIZE - 100], session=s.session)  # full block 0, then 200 points
        after = _blocks(a, "v")
        assert [(r["block_no"], r["count"]) for r in after] == [(0, BLOCK_SIZE), (1, 200)]
        a.ingest(s.records[301 + BLOCK_SIZE - 100 :], session=s.session)
        steps, values = a.series("alice", "proj", "run1", "v")
        assert steps == list(range(total)) and values == list(range(total))
    finally:
        a.close()
        b.close()


def test_open_block_cache_is_bounded() -> None:
    def tail(n: int, block_no: int = 0) -> OpenBlock:
        return OpenBlock((TailBlock(block_no, 0, n - 1, list(range(n)), [1.0] * n),))

    cache = OpenBlockCache(max_points=10)
    cache.install({1: tail(3), 2: tail(6)})
    assert cache.get(1, (0, 3, 0, 2)) is not None
    cache.install({3: tail(4)})  # evicts the least recently used: 2
    assert cache.get(2, (0, 6, 0, 5)) is None
    assert cache.get(1, (0, 3, 0, 2)) is not None
    assert cache.get(1, (0, 4, 0, 3)) is None  # the last block moved on: dropped
    assert cache.get(1, (0, 3, 0, 2)) is None
    cache.install({4: OpenBlock(())})  # an empty tail (last block full) is not kept
    assert len(cache) == 1
    cache.discard({3: None})
    assert len(cache) == 0
