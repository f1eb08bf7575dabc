"""Recovering damaged run logs with ``runyard sync``; per-store sync markers; NUL characters on both backends."""

from __future__ import annotations

import getpass
import struct
from pathlib import Path

from durability_helpers import offline_logs, sync, train

from runyard.store import Store

ENTITY = getpass.getuser()

OFFLINE_2000 = """
import runyard
run = runyard.init(project="p", id="dmg", mode="offline")
for i in range(2000):
    run.log({"i": i, "loss": 1.0 / (i + 1)})
run.finish()
"""


def _frames(raw: bytes) -> list[tuple[int, int, list[object]]]:
    """(offset, length field offset, record) of each frame of an intact run log (version 2, or 1 as older
    runyard wrote: the length field first, no marker)."""
    import msgpack

    v2 = raw.startswith(b"RUNYARD-RUNLOG-2\n")
    header = 16 if v2 else 8
    length_at = 4 if v2 else 0
    out = []
    pos = len(b"RUNYARD-RUNLOG-2\n")
    while pos < len(raw):
        length = struct.unpack_from("<I", raw, pos + length_at)[0]
        out.append((pos, pos + length_at, msgpack.unpackb(raw[pos + header : pos + header + length])))
        pos += header + length
    return out


def _row_frame(frames: list[tuple[int, int, list[object]]], i: int) -> tuple[int, int, int]:
    """(offset, length field offset, seq) of the frame of the row with ``"i": i``."""
    for pos, length_at, record in frames:
        if record[1] == "row" and record[2]["i"] == i:  # type: ignore[index]
            return pos, length_at, record[0]  # type: ignore[return-value]
    raise AssertionError(f"no row {i}")


def test_sync_keeps_every_intact_record_around_damage_and_names_what_is_lost(tmp_path: Path, store_url: str) -> None:
    done = train(OFFLINE_2000, tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    (log,) = offline_logs(tmp_path)
    raw = bytearray(log.read_bytes())
    frames = _frames(bytes(raw))
    flip_at, _, flip_seq = _row_frame(frames, 700)
    raw[flip_at + 30] ^= 0x04  # one flipped bit in the payload of row 700
    len_at, length_field, len_seq = _row_frame(frames, 1500)
    raw[length_field + 2] ^= 0x01  # the length field of row 1500 now claims 64 KiB more than it holds
    log.write_bytes(raw)

    synced = sync(tmp_path, store_url)
    assert synced.returncode == 1, synced.stdout + synced.stderr  # something is left behind: never exit 0
    with Store.open(store_url) as store:
        rows = list(store.history(ENTITY, "p", "dmg"))
        assert [r["i"] for r in rows] == [i for i in range(2000) if i not in (700, 1500)]
        run = store.get_run(ENTITY, "p", "dmg")
        assert run is not None and run.state == "finished"  # the exit record after the damage is intact
        lost = store.lost_records(ENTITY, "p", "dmg")
        assert [(g.first_seq, g.last_seq) for g in lost] == [(flip_seq, flip_seq), (len_seq, len_seq)]
        assert lost[0].log_start == flip_at and lost[1].log_start == len_at
    assert f"record #{flip_seq} lost in damaged bytes {flip_at}-" in synced.stderr
    assert f"record #{len_seq} lost in damaged bytes {len_at}-" in synced.stderr
    assert "1 with records left behind" in synced.stdout

    # Syncing again stores nothing twice and still says what is missing.
    again = sync(tmp_path, store_url)
    assert again.returncode == 1
    assert f"record #{flip_seq} lost" in again.stderr
    with Store.open(store_url) as store:
        assert len(list(store.history(ENTITY, "p", "dmg"))) == 1998
        assert len(store.lost_records(ENTITY, "p", "dmg")) == 2


def test_damage_at_the_end_of_a_log_is_reported_but_a_torn_tail_is_not(tmp_path: Path, store_url: str) -> None:
    done = train(OFFLINE_2000, tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    (log,) = offline_logs(tmp_path)
    raw = log.read_bytes()
    frames = _frames(raw)
    last_row_at, _, _ = _row_frame(frames, 1999)

    # A torn tail (a writer killed half-way through its last record): nothing acknowledged is lost.
    log.write_bytes(raw[: last_row_at + 25])
    torn = sync(tmp_path, store_url)
    assert torn.returncode == 0, torn.stderr
    assert "damaged" not in torn.stderr and "lost" not in torn.stderr
    with Store.open(store_url) as store:
        assert [r["i"] for r in store.history(ENTITY, "p", "dmg")][-1] == 1998

    # The whole log, its last record (the exit record) damaged: that is said, and everything before is stored.
    exit_at, _, exit_record = frames[-1]
    assert exit_record[1] == "exit"
    damaged = bytearray(raw)
    damaged[exit_at + 20] ^= 0x80
    log.write_bytes(damaged)
    synced = sync(tmp_path, store_url)
    assert synced.returncode == 1
    assert f"bytes {exit_at}-{len(raw)} at the end of the run log are damaged" in synced.stderr
    assert f"after record #{frames[-2][2][0]}" in synced.stderr
    with Store.open(store_url) as store:
        assert [r["i"] for r in store.history(ENTITY, "p", "dmg")] == list(range(2000))


def test_a_log_synced_into_one_store_is_still_synced_into_another(tmp_path: Path, store_url: str) -> None:
    done = train(OFFLINE_2000.replace("2000", "20"), tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    first_store = f"sqlite:///{tmp_path}/first/runyard.db"
    first = sync(tmp_path, first_store)
    assert first.returncode == 0, first.stderr
    (log,) = offline_logs(tmp_path)
    assert (log.parent / (log.name + ".synced")).exists()

    second = sync(tmp_path, store_url)  # another store: the marker of the first must not stop it
    assert second.returncode == 0, second.stderr
    with Store.open(store_url) as store:
        assert len(list(store.history(ENTITY, "p", "dmg"))) == 20
    assert "1 run log: 1 ingested (" in first.stdout and "0 already in the store, 0 with records left" in first.stdout
    assert "1 ingested" in second.stdout

    third = sync(tmp_path, store_url)
    assert third.returncode == 0, third.stderr
    assert "nothing new to store: every one of 1 run log is already in" in third.stdout


NUL_RUN = """
import runyard
run = runyard.init(
    project="p", id="nul", name="my\\x00run", tags=["a\\x00b"], notes="n\\x00", config={"opt\\x00": "x\\x00y"}
)
run.log({"loss\\x00": 0.5, "text": "t\\x00", "nested": {"k\\x00": 1}})
run.summary["best\\x00"] = "b\\x00"
run.log({"loss\\x00": 0.25})
run.finish()
"""


def test_nul_characters_are_stored_the_same_on_both_backends(tmp_path: Path, store_url: str) -> None:
    done = train(NUL_RUN, tmp_path, store_url)
    assert done.returncode == 0, done.stderr[-3000:]
    r = "\ufffd"
    with Store.open(store_url) as store:
        run = store.get_run(ENTITY, "p", "nul")
        assert run is not None and run.state == "finished", done.stderr[-3000:]
        assert (run.name, run.tags, run.notes, run.config) == (f"my{r}run", [f"a{r}b"], f"n{r}", {f"opt{r}": f"x{r}y"})
        assert run.summary[f"best{r}"] == f"b{r}" and run.summary[f"loss{r}"] == 0.25
        rows = list(store.history(ENTITY, "p", "nul"))
        assert [row[f"loss{r}"] for row in rows] == [0.5, 0.25]
        assert rows[0][f"nested.k{r}"] == 1 and rows[0]["text"] == "t\x00"
    assert "2 steps in the store" in done.stderr
