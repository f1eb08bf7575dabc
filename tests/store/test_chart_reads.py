"""Charts of many series from rollups: exactly what bucketing the raw points gives, with rollup-aligned edges.

The oracle below buckets the decoded points straight from the definition in :mod:`runyard.store.chart_reads`:
in rollup mode a point of a rollup-covered chunk lying inside the range is placed by its chunk's first step,
every other point by its own step. Stores are built through real ingestion (live small blocks, merges,
compaction, resumed sessions), on both backends.
"""

from __future__ import annotations

import importlib
import math
import random
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_fakes import FakeSession

from runyard.store import Store
from runyard.store.blocks import BLOCK_SIZE, decode_block
from runyard.store.chart_reads import uses_rollups
from runyard.store.rollups import CHUNK, RECORD, SEGMENT_BLOCKS, as_number, chunk_records
from runyard.store.sampling import Bucket, _Axis
from runyard.store.schema import blocks, rollups, runs, series

E, P = "alice", "proj"
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


# -- the oracle -----------------------------------------------------------------------------------------------


def _series_id(store: Store, run_id: str, key: str) -> int | None:
    with store.engine.connect() as conn:
        found: int | None = conn.execute(
            sa.select(series.c.id)
            .select_from(series.join(runs, series.c.run_pk == runs.c.id))
            .where(runs.c.run_id == run_id, series.c.key == key)
        ).scalar()
        return found


def _layout(store: Store, sid: int) -> tuple[list[tuple[int, list[int], list[Any]]], int]:
    """The series' blocks (number, steps, values) and the last block of the gap-free rollup-covered prefix."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(blocks.c.block_no, blocks.c.data).where(blocks.c.series_id == sid).order_by(blocks.c.block_no)
        ).all()
        masks = conn.execute(
            sa.select(rollups.c.seg_no, rollups.c.mask, rollups.c.data).where(rollups.c.series_id == sid)
        ).all()
    per_block = RECORD.size * BLOCK_SIZE // CHUNK
    covered = {
        seg * SEGMENT_BLOCKS + i
        for seg, mask, data in masks
        if len(data) == bin(mask).count("1") * per_block  # a row that does not add up covers nothing
        for i in range(SEGMENT_BLOCKS)
        if mask >> i & 1
    }
    prefix = 0
    while prefix in covered:
        prefix += 1
    return [(int(n), *decode_block(bytes(d))) for n, d in rows], prefix - 1


def oracle(store: Store, run_id: str, key: str, buckets: int, min_x: float | None, max_x: float | None) -> list[Bucket]:
    sid = _series_id(store, run_id, key)
    if sid is None:
        return []
    layout, covered_to = _layout(store, sid)
    if min_x == -math.inf:
        min_x = None
    if max_x == math.inf:
        max_x = None
    if (min_x is not None and not math.isfinite(min_x)) or (max_x is not None and not math.isfinite(max_x)):
        return []
    lo = INT64_MIN if min_x is None else math.ceil(min_x)
    hi = INT64_MAX if max_x is None else math.floor(max_x)
    overlapping = sum(len(steps) for _, steps, _ in layout if steps and steps[-1] >= lo and steps[0] <= hi)
    rollup_mode = uses_rollups(overlapping, buckets)
    points: list[tuple[int, int, Any]] = []  # key, step, value
    for block_no, steps, values in layout:
        for start in range(0, len(steps), CHUNK):
            chunk = list(zip(steps[start : start + CHUNK], values[start : start + CHUNK]))
            as_chunk = rollup_mode and block_no <= covered_to and lo <= chunk[0][0] and chunk[-1][0] <= hi
            points += [(chunk[0][0] if as_chunk else s, s, v) for s, v in chunk if lo <= s <= hi]
    if not points:
        return []
    axis = _Axis(points[0][1] if min_x is None else lo, points[-1][1] if max_x is None else hi, buckets, True)
    groups: dict[int, list[tuple[int, Any]]] = {}
    for k, s, v in points:
        groups.setdefault(axis.index(k), []).append((s, v))
    out = []
    for _, group in sorted(groups.items()):
        numbers = [(s, as_number(v)) for s, v in group if as_number(v) is not None]
        values = [n for _, n in numbers]
        out.append(
            Bucket(
                x_min=group[0][0],
                x_max=group[-1][0],
                count=len(group),
                min=min(values) if values else None,  # type: ignore[type-var]
                max=max(values) if values else None,  # type: ignore[type-var]
                last=numbers[-1][1] if numbers else None,
                last_x=numbers[-1][0] if numbers else None,
            )
        )
    return out


# -- stores ---------------------------------------------------------------------------------------------------


def _value(rng: random.Random, i: int) -> Any:
    roll = rng.random()
    if roll < 0.01:
        return math.nan
    if roll < 0.012:
        return rng.choice([math.inf, -math.inf])
    return 1.0 / (1 + i) + rng.gauss(0, 0.1)


def _odd(rng: random.Random, i: int) -> Any:
    return rng.choice([i, float(i) / 3, None, True, "x", 2**70, -(2**70), math.nan, -i])


def _ingest(store: Store, session: FakeSession, rng: random.Random) -> None:
    """Ingest a session's records in batches of varied size: small live blocks, merges, compactions."""
    done = 0
    while done < len(session.records):
        size = rng.choice([1, 3, 17, 100, 700, 2500])
        store.ingest(session.records[done : done + size], session=session.session)
        done += size


def _fill(store: Store) -> None:
    rng = random.Random(7)
    first = FakeSession("r1", entity=E, project=P)
    for i in range(9000):
        row: dict[str, Any] = {"loss": _value(rng, i)}
        if i % 3 == 0:
            row["odd"] = _odd(rng, i)  # every third step: a sparse series with mixed types
        first.log(row)
    _ingest(store, first, rng)
    resumed = FakeSession("r1", entity=E, project=P, resumed=True, start_step=9500)
    for i in range(5200):
        resumed.log({"loss": _value(rng, i), "odd": _odd(rng, i)})
    _ingest(store, resumed, rng)
    other = FakeSession("r2", entity=E, project=P)
    for i in range(4500):
        other.log({"loss": float(i % 250) - 100.0})  # a plain sawtooth
    _ingest(store, other, rng)


@pytest.fixture
def filled(store: Store) -> Store:
    _fill(store)
    return store


_QUERY = dict(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=25)


def _check(store: Store, buckets: int, min_x: float | None, max_x: float | None) -> None:
    pairs = [(r, k) for r in ("r1", "r2", "nope") for k in ("loss", "odd", "missing")]
    got = store.bucket_series_many(
        E, P, ["r1", "r2", "nope"], ["loss", "odd", "missing"], buckets=buckets, min_x=min_x, max_x=max_x
    )
    expected = {(r, k): oracle(store, r, k, buckets, min_x, max_x) for r, k in pairs}
    assert got == {pair: found for pair, found in expected.items() if found}
    assert list(got) == [pair for pair in pairs if pair in got]  # runs, then keys, in the order asked


# -- tests ----------------------------------------------------------------------------------------------------


def test_full_range_reads_rollups_and_matches_the_points(filled: Store) -> None:
    # 14,200 points in 10 buckets: rollup mode; in 1,000: point by point. Both as the oracle says.
    for buckets in (1, 3, 10, 27, 1000):
        _check(filled, buckets, None, None)
    found = filled.bucket_series_many(E, P, ["r1"], ["loss"], buckets=10)[("r1", "loss")]
    assert sum(b.count for b in found) == 14200


def test_zoomed_and_odd_ranges_match_the_points(filled: Store) -> None:
    @given(
        buckets=st.integers(1, 40),
        lo=st.none() | st.floats(-50, 15000) | st.sampled_from([-math.inf, math.nan, -1e30]),
        width=st.none() | st.floats(0, 16000) | st.sampled_from([math.inf, 1e30]),
    )
    @settings(**_QUERY)  # type: ignore[arg-type]
    def check(buckets: int, lo: float | None, width: float | None) -> None:
        hi = None if width is None else (width if lo is None or lo != lo else lo + width)
        _check(filled, buckets, lo, hi)

    check()


def test_rollups_are_the_chunk_records_of_every_full_block(filled: Store) -> None:
    with filled.engine.connect() as conn:
        full = conn.execute(
            sa.select(blocks.c.series_id, blocks.c.block_no, blocks.c.data).where(blocks.c.count == BLOCK_SIZE)
        ).all()
        stored = conn.execute(sa.select(rollups.c.series_id, rollups.c.seg_no, rollups.c.mask, rollups.c.data)).all()
    expected: dict[tuple[int, int], bytes] = {}
    for sid, block_no, data in full:
        steps, values = decode_block(bytes(data))
        expected[(int(sid), int(block_no))] = chunk_records(steps, values, clean=False)
    found: dict[tuple[int, int], bytes] = {}
    size = len(next(iter(expected.values())))
    for sid, seg_no, mask, data in stored:
        numbers = [seg_no * SEGMENT_BLOCKS + i for i in range(SEGMENT_BLOCKS) if mask >> i & 1]
        for i, block_no in enumerate(numbers):
            found[(int(sid), block_no)] = bytes(data)[i * size : (i + 1) * size]
    assert found == expected  # the clean fast path writes what the point-by-point one computes


def test_series_without_rollups_are_decoded(filled: Store) -> None:
    # A store written before migration 0004 (no rollups), or one with a gap in them: the same answers.
    with filled.engine.begin() as conn:
        sid = _series_id(filled, "r1", "loss")
        conn.execute(sa.delete(rollups).where(rollups.c.series_id == sid, rollups.c.seg_no == 0))
        conn.execute(sa.update(rollups).where(rollups.c.series_id != sid).values(mask=1, data=b"short"))
    for buckets in (2, 10, 1000):
        _check(filled, buckets, None, None)
        _check(filled, buckets, 1000.5, 12000)


def test_migration_backfills_rollups(filled: Store) -> None:
    with filled.engine.connect() as conn:
        before = conn.execute(sa.select(rollups).order_by(rollups.c.series_id, rollups.c.seg_no)).all()
    migration = importlib.import_module("runyard.store.migrations.versions.0004_rollups")
    with filled.engine.begin() as conn:
        conn.execute(sa.delete(rollups))
        migration._backfill(conn)
    with filled.engine.connect() as conn:
        after = conn.execute(sa.select(rollups).order_by(rollups.c.series_id, rollups.c.seg_no)).all()
    assert after == before and before


def test_other_x_axes_bucket_each_series(filled: Store) -> None:
    got = filled.bucket_series_many(E, P, ["r2", "r1"], ["loss"], x_axis="_runtime", buckets=50, min_x=10.0)
    assert list(got) == [("r2", "loss"), ("r1", "loss")]
    for (run_id, key), found in got.items():
        assert found == filled.bucket_series(E, P, run_id, key, x_axis="_runtime", buckets=50, min_x=10.0)


def test_columns_are_the_buckets(filled: Store) -> None:
    columns = filled.bucket_columns_many(E, P, ["r1"], ["odd"], buckets=7)[("r1", "odd")]
    found = columns.buckets()
    assert found == filled.bucket_series_many(E, P, ["r1"], ["odd"], buckets=7)[("r1", "odd")]
    assert columns.lists().x == [b.x_max if b.last_x is None else b.last_x for b in found]
    assert len(columns) == len(found)


def test_steps_near_the_int64_limits(store: Store) -> None:
    session = FakeSession("big", entity=E, project=P)
    for step in (INT64_MIN + 1, -5, 0, INT64_MAX - 1):
        session.log({"v": float(step % 7)}, step=step)
    store.ingest(session.records, session=session.session)
    for buckets in (1, 3, 1000):
        got = store.bucket_series_many(E, P, ["big"], ["v"], buckets=buckets)
        assert got[("big", "v")] == oracle(store, "big", "v", buckets, None, None)


def test_rollup_rows_in_any_stored_order(store: Store) -> None:
    # More than one segment row a series, stored (and so scanned, on PostgreSQL) last segment first: segments
    # are read in segment order, whatever order the database returns them in.
    session = FakeSession("long", entity=E, project=P)
    points = (SEGMENT_BLOCKS + 3) * BLOCK_SIZE + 100
    for i in range(points):
        session.log({"v": float((i * 7919) % 1000) - 500.0})
    store.ingest(session.records, session=session.session)
    sid = _series_id(store, "long", "v")
    with store.engine.begin() as conn:
        mine = rollups.c.series_id == sid
        rows = conn.execute(sa.select(rollups).where(mine).order_by(rollups.c.seg_no.desc())).mappings().all()
        assert len(rows) == 2
        conn.execute(sa.delete(rollups).where(mine))
        for row in rows:
            conn.execute(sa.insert(rollups).values(**row))
    for buckets in (1, 7, 20, 150):
        got = store.bucket_series_many(E, P, ["long"], ["v"], buckets=buckets)
        assert got[("long", "v")] == oracle(store, "long", "v", buckets, None, None)
        assert sum(b.count for b in got[("long", "v")]) == points
    for lo, hi in ((100.5, 80_000), (BLOCK_SIZE * 15.0, None)):
        got = store.bucket_series_many(E, P, ["long"], ["v"], buckets=20, min_x=lo, max_x=hi)
        assert got[("long", "v")] == oracle(store, "long", "v", 20, lo, hi)


def test_many_series_are_read_on_two_connections(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL reads the rollups of many series half on a second pooled connection: the same answers.
    from runyard.store import chart_reads

    reads: list[list[int]] = []
    read = chart_reads._read

    def counted(conn: sa.Connection, ids: list[int], lo: int, hi: int) -> Any:
        reads.append(ids)
        return read(conn, ids, lo, hi)

    monkeypatch.setattr(chart_reads, "_SPLIT_MIN_SERIES", 2)
    monkeypatch.setattr(chart_reads, "_read", counted)
    for buckets, lo, hi in ((10, None, None), (1000, None, None), (7, 1000.5, 12000.0), (3, 9500.0, None)):
        reads.clear()
        _check(filled, buckets, lo, hi)
        assert len(reads) == (2 if filled.engine.dialect.name == "postgresql" else 1)
        assert sorted(sid for ids in reads for sid in ids) == sorted({sid for ids in reads for sid in ids})


def test_a_failed_second_read_is_raised(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.store import chart_reads

    read = chart_reads._read

    def failing(conn: sa.Connection, ids: list[int], lo: int, hi: int) -> Any:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("second read failed")
        return read(conn, ids, lo, hi)

    monkeypatch.setattr(chart_reads, "_SPLIT_MIN_SERIES", 2)
    monkeypatch.setattr(chart_reads, "_read", failing)
    if filled.engine.dialect.name != "postgresql":
        _check(filled, 10, None, None)  # one connection: nothing read elsewhere
        return
    with pytest.raises(RuntimeError, match="second read failed"):
        filled.bucket_series_many(E, P, ["r1", "r2"], ["loss", "odd"], buckets=10)


def test_series_are_bucketed_in_batches(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Many series are bucketed a few at a time (a batch of about _BATCH_RECORDS records): the same answers.
    from runyard.store import chart_reads

    for batch in (1, 60, 100_000):
        monkeypatch.setattr(chart_reads, "_BATCH_RECORDS", batch)
        for buckets, lo, hi in ((10, None, None), (1000, None, None), (7, 1000.5, 12000.0)):
            _check(filled, buckets, lo, hi)
