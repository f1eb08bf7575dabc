"""Record framing v2: round trips, torn tails, and recovery from damage anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.errors import RunLogError
from runyard.runlog import FILE_MAGIC, RunLogReader, RunLogWriter, decode_frames, encode_frame, read_all

payloads = st.lists(st.binary(max_size=300), max_size=30)


def _records(n: int, *, big: dict[int, int] | None = None) -> list[list[object]]:
    big = big or {}
    return [[i, "row", {"x": i, "pad": "p" * big.get(i, i % 7)}] for i in range(1, n + 1)]


def _log(path: Path, records: list[list[object]]) -> list[int]:
    """Write ``records`` as a run log; return each frame's start offset."""
    writer = RunLogWriter(path)
    starts = []
    for record in records:
        starts.append(path.stat().st_size)
        writer.append(msgpack.packb(record))
    writer.close()
    return starts


@settings(deadline=None)
@given(payloads)
def test_frames_round_trip(items: list[bytes]) -> None:
    buf = b"".join(encode_frame(p) for p in items)
    assert [p for _, p in decode_frames(buf)] == items


@settings(deadline=None)
@given(payloads.filter(bool), st.data())
def test_any_truncation_yields_a_prefix(items: list[bytes], data: st.DataObject) -> None:
    buf = b"".join(encode_frame(p) for p in items)
    cut = data.draw(st.integers(min_value=0, max_value=len(buf)))
    decoded = [p for _, p in decode_frames(buf[:cut])]
    assert decoded == items[: len(decoded)]
    ends = [end for end, _ in decode_frames(buf)]
    # Exactly the records that end at or before the cut survive.
    assert len(decoded) == sum(1 for e in ends if e <= cut)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=25), st.data())
def test_one_damaged_byte_loses_at_most_its_own_record(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("flip") / "s.rylog"
    records = _records(n)
    starts = _log(path, records)
    raw = bytearray(path.read_bytes())
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    path.write_bytes(raw)

    reader = RunLogReader(path)
    got = reader.read_all()
    end = reader.end()
    reader.close()
    rows = [r for r in got if r[1] == "row"]
    hit = max((i for i, s in enumerate(starts) if s <= index), default=None)  # the frame holding the byte
    if hit is None:  # the file magic: nothing lost, the damage is still reported
        assert rows == records
        assert [(d.start, d.end) for d in reader.damage] == [(0, len(FILE_MAGIC))]
        return
    assert rows == records[:hit] + records[hit + 1 :]
    assert end.torn_bytes == 0
    (damage,) = reader.damage
    assert damage.start <= index < damage.end
    if hit == n - 1:
        assert damage.at_end and end.damage == damage
    else:
        assert not damage.at_end and end.damage is None
        gaps = [r for r in got if r[1] == "gap"]
        assert gaps == [[hit + 1, "gap", {"first": hit + 1, "last": hit + 1, "start": damage.start, "end": damage.end}]]
        assert got.index(gaps[0]) == hit  # in place of the lost record


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.data())
def test_garbage_between_records_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("garbage") / "s.rylog"
    records = _records(n)
    starts = _log(path, records)
    at = starts[data.draw(st.integers(min_value=1, max_value=n - 1))]
    junk = data.draw(st.binary(min_size=1, max_size=200))
    raw = path.read_bytes()
    path.write_bytes(raw[:at] + junk + raw[at:])
    reader = RunLogReader(path)
    assert reader.read_all() == records
    assert [(d.start, d.end) for d in reader.damage] == [(at, at + len(junk))]
    assert reader.end().damage is None
    reader.close()


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=10), st.data())
def test_torn_tail_is_not_damage(tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("torn") / "s.rylog"
    records = _records(n)
    starts = _log(path, records)
    raw = path.read_bytes()
    cut = data.draw(st.integers(min_value=starts[-1] + 1, max_value=len(raw) - 1))
    path.write_bytes(raw[:cut])
    reader = RunLogReader(path)
    assert reader.read_all() == records[:-1]
    end = reader.end()
    assert (end.torn_bytes, end.damage, reader.damage) == (cut - starts[-1], None, [])
    reader.close()


def test_a_damaged_length_never_hides_the_records_after_it(tmp_path: Path) -> None:
    # The length of record 3 now claims far more bytes than the file holds: without a header check, readers
    # take it for a record still being written and never read on.
    path = tmp_path / "s.rylog"
    records = _records(6)
    starts = _log(path, records)
    raw = bytearray(path.read_bytes())
    raw[starts[2] + 6] = 0x20  # ~2 MiB: within the record limit, past the end of the file
    path.write_bytes(raw)
    reader = RunLogReader(path)
    live = reader.read()  # the writer may still be appending: nothing is taken for a record in progress
    assert [r[0] for r in live] == [1, 2, 3, 4, 5, 6]
    assert live[2] == [3, "gap", {"first": 3, "last": 3, "start": starts[2], "end": starts[3]}]
    reader.close()


def test_a_partial_frame_followed_by_records_is_damage_once_the_writer_is_gone(tmp_path: Path) -> None:
    # A write that failed half-way and could not be truncated away, then more records.
    path = tmp_path / "s.rylog"
    writer = RunLogWriter(path)
    writer.append(msgpack.packb([1, "row", {"x": 1}]))
    half = encode_frame(msgpack.packb([2, "row", {"x": "lost" * 50}]))[:60]
    os.write(writer._fd, half)
    writer.append(msgpack.packb([2, "row", {"x": 2}]))
    writer.close()
    reader = RunLogReader(path)
    assert [r[0] for r in reader.read()] == [1]  # live: the partial frame may still be completing
    assert reader.read(final=True) == [[2, "row", {"x": 2}]]
    assert len(reader.damage) == 1 and reader.damage[0].end - reader.damage[0].start == 60
    reader.close()


def test_a_partial_frame_undone_by_its_writer_is_never_mixed_into_the_next(tmp_path: Path) -> None:
    # A full disk: the reader sees half a frame, the writer truncates it away and writes the next record there.
    path = tmp_path / "s.rylog"
    writer = RunLogWriter(path)
    writer.append(msgpack.packb([1, "row", {"x": 1}]))
    end = path.stat().st_size
    os.write(writer._fd, encode_frame(msgpack.packb([2, "row", {"x": "failed" * 100}]))[:300])
    reader = RunLogReader(path)
    assert [r[0] for r in reader.read()] == [1]
    assert reader.pending_bytes == 300
    os.ftruncate(writer._fd, end)
    writer.append(msgpack.packb([2, "row", {"x": 2}]))
    writer.append(msgpack.packb([3, "row", {"x": 3}]))
    assert reader.read() == [[2, "row", {"x": 2}], [3, "row", {"x": 3}]]
    assert reader.damage == [] and reader.end().torn_bytes == 0
    writer.close()
    reader.close()


def test_records_larger_than_the_read_size_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.rylog"
    records = _records(8, big={3: 3_000_000, 6: 700_000})
    _log(path, records)
    reader = RunLogReader(path)
    batches = []
    while batch := reader.read(64 * 1024):
        batches.append([r[0] for r in batch])
    assert [seq for batch in batches for seq in batch] == list(range(1, 9))
    assert [3] in batches or any(b[-1] == 3 for b in batches)  # the large one is returned, never stuck
    assert reader.end().torn_bytes == 0
    reader.close()


def test_writer_and_reader_tail(tmp_path: Path) -> None:
    path = tmp_path / "s.rylog"
    writer = RunLogWriter(path)
    reader = RunLogReader(path)
    assert reader.read() == []
    writer.append(msgpack.packb([1, "row", {"a": 1.5}]))
    assert reader.read() == [[1, "row", {"a": 1.5}]]
    # A half-written record stays unread until it is complete, however large it is.
    frame = encode_frame(msgpack.packb([2, "row", {"a": float("inf"), "b": "z" * 2_000_000}]))
    os.write(writer._fd, frame[:5])
    assert reader.read() == []
    assert reader.pending_bytes == 5
    os.write(writer._fd, frame[5:1_500_000])
    assert reader.read(4096) == []
    os.write(writer._fd, frame[1_500_000:])
    assert [r[0] for r in reader.read(4096)] == [2]
    writer.close()
    reader.close()
    assert len(read_all(path)) == 2


def test_version_1_logs_are_still_read_and_recovered(tmp_path: Path) -> None:
    import struct
    import zlib

    def v1_frame(payload: bytes) -> bytes:
        return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload

    records = _records(5)
    frames = [v1_frame(msgpack.packb(r)) for r in records]
    path = tmp_path / "old.rylog"
    path.write_bytes(b"RUNYARD-RUNLOG-1\n" + b"".join(frames))
    assert read_all(path) == records
    damaged = bytearray(path.read_bytes())
    damaged[17 + len(frames[0]) + 12] ^= 0x40  # inside record 2
    path.write_bytes(damaged)
    reader = RunLogReader(path)
    got = reader.read_all()
    assert [r for r in got if r[1] == "row"] == [records[0], *records[2:]]
    assert [r[1] for r in got] == ["row", "gap", "row", "row", "row"]
    reader.close()


def test_not_a_run_log(tmp_path: Path) -> None:
    path = tmp_path / "x.rylog"
    path.write_bytes(b"something else entirely")
    with pytest.raises(RunLogError, match="not a runyard run log"):
        read_all(path)
