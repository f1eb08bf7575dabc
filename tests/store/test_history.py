"""History blocks: rollover at BLOCK_SIZE with the right statistics, and the open-block cache."""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from store_fakes import FakeSession

from runyard.store import Store
from runyard.store.blocks import BLOCK_SIZE, decode_block
from runyard.store.schema import blocks, series


def _blocks(store: Store, key: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(blocks)
            .join(series, blocks.c.series_id == series.c.id)
            .where(series.c.key == key)
            .order_by(blocks.c.block_no)
        ).mappings()
        return [dict(row) for row in rows]


def test_blocks_roll_over_with_correct_stats(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    total = 2 * BLOCK_SIZE + 100
    values = [float(i % 1000) for i in range(total)]
    values[5] = math.nan
    values[BLOCK_SIZE + 1] = math.nan
    for v in values:
        s.log({"v": v})
    # Uneven batches, so the open block is rewritten and rolls over in the middle of a batch.
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


def test_open_block_cache_notices_another_writer(store_url: str, fake_session: type[FakeSession]) -> None:
    a = Store.open(store_url)
    b = Store.open(store_url)
    try:
        s = fake_session()
        for i in range(BLOCK_SIZE + 20):
            s.log({"v": i})
        a.ingest(s.records[:11])  # start + steps 0..9: open block cached in a
        assert len(a._cache) > 0
        b.ingest(s.records[11:21], session=s.session)  # b appends to the same open block
        a.ingest(s.records[21:31], session=s.session)  # a must not overwrite b's points
        b.ingest(s.records[31 : BLOCK_SIZE + 5], session=s.session)  # b fills the block and opens the next
        a.ingest(s.records[BLOCK_SIZE + 5 :], session=s.session)  # a's cache is a full block behind
        for reader in (a, b):
            steps, values = reader.series("alice", "proj", "run1", "v")
            assert steps == list(range(BLOCK_SIZE + 20))
            assert values == list(range(BLOCK_SIZE + 20))
    finally:
        a.close()
        b.close()


def test_open_block_cache_is_bounded() -> None:
    from runyard.store.history import OpenBlock, OpenBlockCache

    cache = OpenBlockCache(max_points=10)
    cache.install({1: OpenBlock(0, [1, 2, 3], [1, 2, 3]), 2: OpenBlock(0, [1] * 6, [1] * 6)})
    assert cache.get(1, 0, 3) is not None
    cache.install({3: OpenBlock(0, [1] * 4, [1] * 4)})  # evicts the least recently used: 2
    assert cache.get(2, 0, 6) is None
    assert cache.get(1, 0, 3) is not None
    assert cache.get(1, 0, 4) is None  # count moved on: dropped
    assert cache.get(1, 0, 3) is None
    cache.install({4: OpenBlock(0, [1] * BLOCK_SIZE, [1] * BLOCK_SIZE)})  # full blocks are not kept
    assert cache.get(4, 0, BLOCK_SIZE) is None
