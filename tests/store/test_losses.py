"""Records lost to a damaged run log: a gap is accepted only when a reader accounts for it, and is recorded.

And text with NUL characters: stored alike on both backends (PostgreSQL text cannot hold NUL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pytest
from store_fakes import FakeSession

from runyard.errors import IngestGapError
from runyard.runlog import RunLogReader, RunLogWriter
from runyard.store import Store


def _gap(first: int, last: int) -> list[Any]:
    return [last, "gap", {"first": first, "last": last, "start": 100, "end": 200}]


def test_a_gap_record_lets_the_records_after_it_in_and_is_kept(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(6):
        s.log({"x": i})
    s.exit()
    records = s.records
    # Records 3 and 4 (rows x=1, x=2) were in damaged bytes: the reader hands on a gap record in their place.
    damaged = [*records[:2], _gap(3, 4), *records[4:]]
    assert store.ingest(damaged) == len(records)
    assert [r["x"] for r in store.history("alice", "proj", "run1")] == [0, 3, 4, 5]
    run = store.get_run("alice", "proj", "run1")
    assert run is not None and run.state == "finished"
    (lost,) = store.lost_records("alice", "proj", "run1")
    assert (lost.session, lost.first_seq, lost.last_seq, lost.count, lost.log_start, lost.log_end) == (
        s.session,
        3,
        4,
        2,
        100,
        200,
    )
    # Replaying the same reading changes nothing.
    assert store.ingest(damaged) == len(records)
    assert len(store.lost_records("alice", "proj", "run1")) == 1
    assert store.stored_steps(s.session) == 4


def test_a_gap_over_records_the_store_already_holds_records_only_the_rest(
    store: Store, fake_session: type[FakeSession]
) -> None:
    s = fake_session()
    for i in range(5):
        s.log({"x": i})
    store.ingest(s.records[:3])  # the live ingester took records 1..3 before the log was damaged
    store.ingest([_gap(2, 4), *s.records[4:]], session=s.session)
    (lost,) = store.lost_records("alice", "proj", "run1")
    assert (lost.first_seq, lost.last_seq) == (4, 4)
    assert [r["x"] for r in store.history("alice", "proj", "run1")] == [0, 1, 3, 4]


def test_a_jump_without_a_gap_record_is_still_refused(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(4):
        s.log({"x": i})
    store.ingest(s.records[:2])
    with pytest.raises(IngestGapError, match="Nothing said records were lost"):
        store.ingest(s.records[3:], session=s.session)
    with pytest.raises(IngestGapError, match="does not cover"):
        store.ingest([_gap(5, 5), *s.records[5:]], session=s.session)  # 3 and 4 unaccounted for
    assert store.session_progress(s.session) == 2
    assert store.lost_records("alice", "proj", "run1") == []


def test_a_damaged_run_log_stores_every_intact_record(
    store: Store, fake_session: type[FakeSession], tmp_path: Path
) -> None:
    s = fake_session()
    for i in range(200):
        s.log({"x": i, "pad": "p" * (i % 13)})
    s.exit()
    path = tmp_path / f"{s.session}.rylog"
    writer = RunLogWriter(path)
    starts = []
    for record in s.records:
        starts.append(path.stat().st_size)
        writer.append(msgpack.packb(record))
    writer.close()
    raw = bytearray(path.read_bytes())
    for seq in (50, 51, 120):  # bits flipped in three records, two of them adjacent
        raw[starts[seq - 1] + 20] ^= 0x10
    path.write_bytes(raw)
    reader = RunLogReader(path)
    store.ingest(reader.read_all())
    reader.close()
    xs = [r["x"] for r in store.history("alice", "proj", "run1")]
    lost_rows = {50 - 2, 51 - 2, 120 - 2}  # record seq n holds row n - 2 (1 is start, then rows from 0)
    assert xs == [i for i in range(200) if i not in lost_rows]
    assert [(g.first_seq, g.last_seq) for g in store.lost_records("alice", "proj", "run1")] == [(50, 51), (120, 120)]
    run = store.get_run("alice", "proj", "run1")
    assert run is not None and run.state == "finished"


NUL = "\x00"
SAFE = "\ufffd"


def test_nul_characters_are_stored_alike_on_both_backends(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session(
        config={f"opt{NUL}": f"adam{NUL}", "nested": {f"k{NUL}": [f"v{NUL}"]}},
        tags=[f"t{NUL}ag"],
        notes=f"n{NUL}",
        group=f"g{NUL}",
        job_type=f"j{NUL}",
        name=f"name{NUL}",
    )
    s.log({f"loss{NUL}": 1.0, "text": f"a{NUL}b", "ok": 1})
    s.log({f"loss{NUL}": 2.0, "ok": 2, f"deep{NUL}": {"x": 1}})
    s.add("summary", {"set": {f"best{NUL}": f"b{NUL}"}, "delete": []})
    s.add("meta", {"tags": [f"t{NUL}2"]})
    s.add("console", {"lines": [[1.0, "stdout", f"line{NUL}"]]})
    s.add("file", {"name": f"f{NUL}.txt", "content": b"x"})
    s.exit()
    assert store.ingest(s.records) == len(s.records)

    run = store.get_run("alice", "proj", "run1")
    assert run is not None
    assert (run.name, run.notes, run.group, run.job_type, run.tags, run.state) == (
        f"name{SAFE}",
        f"n{SAFE}",
        f"g{SAFE}",
        f"j{SAFE}",
        [f"t{SAFE}2"],
        "finished",
    )
    assert run.config == {f"opt{SAFE}": f"adam{SAFE}", "nested": {f"k{SAFE}": [f"v{SAFE}"]}}
    assert run.summary[f"best{SAFE}"] == f"b{SAFE}"
    assert run.summary[f"loss{SAFE}"] == 2.0
    assert store.history_keys("alice", "proj", "run1") == sorted(
        ["_runtime", "_timestamp", f"deep{SAFE}.x", f"loss{SAFE}", "ok", "text"]
    )
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in store.history("alice", "proj", "run1")]
    # History values are stored as they were logged (binary blocks keep NUL on both backends).
    assert rows == [
        {f"loss{SAFE}": 1.0, "text": f"a{NUL}b", "ok": 1},
        {f"loss{SAFE}": 2.0, "ok": 2, f"deep{SAFE}.x": 1},
    ]
    assert [line.text for line in store.console("alice", "proj", "run1")] == [f"line{SAFE}"]
    # File names go through the safe-name rule, which turns every control character into "_".
    assert "f_.txt" in {f.name for f in store.files("alice", "proj", "run1")}
