"""Record framing: round trips, torn tails and real damage."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.errors import RunLogError
from runyard.runlog import RunLogReader, RunLogWriter, decode_frames, encode_frame, read_all

payloads = st.lists(st.binary(max_size=300), max_size=30)


@given(payloads)
def test_frames_round_trip(items: list[bytes]) -> None:
    buf = b"".join(encode_frame(p) for p in items)
    assert [p for _, p in decode_frames(buf)] == items


@given(payloads.filter(bool), st.data())
def test_any_truncation_yields_a_prefix(items: list[bytes], data: st.DataObject) -> None:
    buf = b"".join(encode_frame(p) for p in items)
    cut = data.draw(st.integers(min_value=0, max_value=len(buf)))
    decoded = [p for _, p in decode_frames(buf[:cut])]
    assert decoded == items[: len(decoded)]
    ends = [end for end, _ in decode_frames(buf)]
    # Exactly the records that end at or before the cut survive.
    assert len(decoded) == sum(1 for e in ends if e <= cut)


@given(payloads.filter(lambda x: len(x) >= 1 and len(x[-1]) > 0), st.data())
def test_corrupt_last_record_is_dropped(items: list[bytes], data: st.DataObject) -> None:
    buf = bytearray(b"".join(encode_frame(p) for p in items))
    last_len = len(items[-1])
    index = len(buf) - 1 - data.draw(st.integers(min_value=0, max_value=last_len - 1))
    buf[index] ^= 0xFF
    assert [p for _, p in decode_frames(bytes(buf))] == items[:-1]


def test_corruption_before_the_end_is_reported() -> None:
    buf = bytearray(encode_frame(b"first record") + encode_frame(b"second"))
    buf[10] ^= 0xFF
    with pytest.raises(RunLogError, match="damaged"):
        list(decode_frames(bytes(buf)))


def test_writer_and_reader_tail(tmp_path: Path) -> None:
    path = tmp_path / "s.rylog"
    writer = RunLogWriter(path)
    reader = RunLogReader(path)
    assert reader.read() == []
    writer.append(msgpack.packb([1, "row", {"a": 1.5}]))
    assert reader.read() == [[1, "row", {"a": 1.5}]]
    # A half-written record stays unread until it is complete.
    frame = encode_frame(msgpack.packb([2, "row", {"a": float("inf")}]))
    os.write(writer._fd, frame[:5])
    assert reader.read() == []
    assert reader.pending_bytes == 5
    os.write(writer._fd, frame[5:])
    assert reader.read() == [[2, "row", {"a": float("inf")}]]
    writer.close()
    reader.close()
    assert len(read_all(path)) == 2


@settings(max_examples=30)
@given(st.integers(min_value=0, max_value=200))
def test_torn_file_reads_whole_records_only(tmp_path_factory: pytest.TempPathFactory, cut: int) -> None:
    path = tmp_path_factory.mktemp("torn") / "s.rylog"
    writer = RunLogWriter(path)
    for i in range(1, 6):
        writer.append(msgpack.packb([i, "row", {"x": i}]))
    writer.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut])
    got = read_all(path)
    assert [r[0] for r in got] == list(range(1, len(got) + 1))
    if cut == 0:
        assert len(got) == 5


def test_not_a_run_log(tmp_path: Path) -> None:
    path = tmp_path / "x.rylog"
    path.write_bytes(b"something else entirely")
    with pytest.raises(RunLogError, match="not a runyard run log"):
        read_all(path)
