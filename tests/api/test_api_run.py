"""One run through ``runyard.Api``: properties, sampled and full history, edits, deletion, files."""

from __future__ import annotations

import getpass
import math
import random
import re
import sys
import time
import types
from pathlib import Path
from typing import Any

import msgpack
import pytest
from places import Place, raw_run_records

import runyard
from runyard.api import Api, HistoryScan
from runyard.errors import NotFoundError, UsageError
from runyard.runlog import RunLogWriter

PROJECT = "single"
ENTITY = getpass.getuser()
STEPS = 3000
_rng = random.Random(7)
LOSS = [1.0 / (k + 1) + _rng.random() * 0.01 + (3.0 if k in (137, 1500, 2999) else 0.0) for k in range(STEPS)]
LOSS[2222] = -1.0  # a dip
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


@pytest.fixture(scope="module", autouse=True)
def seeded(place: Place) -> None:
    rows: list[dict[str, Any]] = []
    for k in range(STEPS):
        row: dict[str, Any] = {"loss": LOSS[k]}
        if k % 7 == 0:
            row["sparse"] = k // 7
        rows.append(row)
    place.make_run(
        PROJECT, "spiky", name="spiky-run", config={"lr": 0.1, "batch": 32}, tags=["a", "b"], notes="n",
        group="grp", job_type="train", rows=rows, summary={"best": 0.01},
    )  # fmt: skip
    t = time.time()
    records = raw_run_records(PROJECT, "live", created_at=t - 10, tags=["live"])
    records += [
        [2, "row", {"loss": 2.0, "_step": 0, "_runtime": 0.5, "_timestamp": t}],
        [3, "system", {"t": t, "runtime": 0.5, "values": {"system/cpu": 12.5, "system/memory": 40.0}}],
        [4, "metadata", {"host": "otherhost", "python": "3.11.7", "gpu_count": 0}],
        [5, "file", {"name": "notes/readme.txt", "content": b"hello\n"}],
    ]
    place.ingest(records)


# -- reading --------------------------------------------------------------------------------------------------


def test_run_properties(api: Api) -> None:
    run = api.run(f"{ENTITY}/{PROJECT}/spiky")
    assert (run.id, run.name, run.display_name, run.entity, run.project) == ("spiky", "spiky-run", "spiky-run",
                                                                              ENTITY, PROJECT)  # fmt: skip
    assert run.path == [ENTITY, PROJECT, "spiky"]
    assert run.url is None  # no server has served this store (tests/server/test_server_cli.py: with one)
    assert (run.state, run.exit_code) == ("finished", 0)
    assert (run.tags, run.notes, run.group, run.job_type) == (["a", "b"], "n", "grp", "train")
    assert run.config == {"lr": 0.1, "batch": 32}
    assert run.summary["best"] == 0.01
    assert run.summary["loss"] == LOSS[-1] and run.summary["sparse"] == (STEPS - 1) // 7
    assert run.summary["_step"] == STEPS - 1 and "_runtime" in run.summary and "best" in run.summary
    assert dict(run.summary.items())["best"] == 0.01 and len(run.summary) == len(list(run.summary))
    assert run.lastHistoryStep == STEPS - 1
    assert ISO.match(run.created_at) and ISO.match(run.heartbeat_at) and run.heartbeat_at >= run.created_at
    assert run.user == run.username == getpass.getuser()
    assert run.metadata is None or isinstance(run.metadata, dict)
    assert repr(run) == f"<Run {ENTITY}/{PROJECT}/spiky (finished)>"
    assert run.sweep is None

    live = api.run(f"{PROJECT}/live")
    assert live.state == "running" and live.exit_code is None
    assert live.metadata == {"host": "otherhost", "python": "3.11.7", "gpu_count": 0}
    assert live.lastHistoryStep == 0
    assert live.system_metrics["system/cpu"] == 12.5


def test_history_keeps_every_bucket_min_and_max(api: Api) -> None:
    run = api.run(f"{PROJECT}/spiky")
    rows = run.history(samples=90, keys=["loss"], pandas=False)
    assert 30 <= len(rows) <= 90
    assert all(set(row) == {"_step", "loss"} and row["loss"] == LOSS[row["_step"]] for row in rows)
    assert [row["_step"] for row in rows] == sorted({row["_step"] for row in rows})
    for bucket in range(30):  # 30 buckets of 100 steps
        window = LOSS[100 * bucket : 100 * bucket + 100]
        kept = [row["loss"] for row in rows if 100 * bucket <= row["_step"] < 100 * bucket + 100]
        assert min(window) in kept and max(window) in kept and window[-1] in kept
    assert {137, 1500, 2222, 2999} <= {row["_step"] for row in rows}  # the spikes and the dip

    whole = run.history(samples=30, pandas=False)
    assert {"_step", "_runtime", "_timestamp", "loss"} <= set().union(*whole)
    assert any("sparse" in row for row in whole)
    by_time = run.history(samples=30, keys=["loss"], x_axis="_runtime", pandas=False)
    assert by_time and all("_runtime" in row and "loss" in row for row in by_time)
    assert max(row["loss"] for row in by_time) == max(LOSS)


def test_history_as_a_data_frame(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    run = api.run(f"{PROJECT}/spiky")
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    with pytest.warns(UserWarning, match="pandas is not installed"):
        rows = run.history(samples=9, keys=["loss"])
    assert isinstance(rows, list) and rows

    received: list[Any] = []
    fake = types.ModuleType("pandas")
    fake.DataFrame = types.SimpleNamespace(from_records=lambda records: received.append(records) or "frame")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert run.history(samples=9, keys=["loss"]) == "frame"
    assert received == [rows]


def test_history_as_a_real_data_frame(api: Api) -> None:
    pd = pytest.importorskip("pandas")
    frame = api.run(f"{PROJECT}/spiky").history(samples=30, keys=["loss"])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["_step", "loss"]
    assert frame["loss"].max() == max(LOSS)


def test_system_stream_and_bad_arguments(api: Api) -> None:
    live = api.run(f"{PROJECT}/live")
    rows = live.history(stream="system", pandas=False)
    assert len(rows) == 1 and rows[0]["system/cpu"] == 12.5 and rows[0]["system/memory"] == 40.0
    assert live.history(stream="system", keys=["system/cpu"], pandas=False)[0]["system/cpu"] == 12.5
    assert live.history(keys=["loss"], pandas=False) == [{"_step": 0, "loss": 2.0}]
    with pytest.raises(UsageError, match="stream"):
        live.history(stream="events")
    with pytest.raises(UsageError, match="keys must be a list"):
        live.history(keys="loss")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="keys must be a list"):
        live.scan_history(keys=("loss",))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="samples"):
        live.history(samples=0, pandas=False)


def test_scan_history_reads_every_row(api: Api) -> None:
    run = api.run(f"{PROJECT}/spiky")
    scan = run.scan_history()
    assert isinstance(scan, HistoryScan)
    rows = list(scan)
    assert [row["_step"] for row in rows] == list(range(STEPS))
    assert [row["loss"] for row in rows] == LOSS
    assert all(("sparse" in row) == (row["_step"] % 7 == 0) for row in rows)
    assert all({"_runtime", "_timestamp"} <= set(row) for row in rows)
    assert list(run.scan_history(page_size=7)) == rows
    assert list(scan) == rows  # iterating again starts over

    # With keys, rows carry _step too, as W&B's scan_history adds it to the keys.
    both = list(run.scan_history(keys=["loss", "sparse"], page_size=50))
    assert both == [{"_step": k, "loss": LOSS[k], "sparse": k // 7} for k in range(0, STEPS, 7)]
    window = list(run.scan_history(keys=["loss"], min_step=100, max_step=200, page_size=30))
    assert window == [{"_step": 100 + i, "loss": v} for i, v in enumerate(LOSS[100:200])]  # max_step is exclusive
    assert [r["_step"] for r in run.scan_history(keys=["_step", "loss"], min_step=2990, max_step=10**9)] == list(
        range(2990, STEPS)
    )
    assert list(run.scan_history(min_step=STEPS)) == []
    assert list(run.scan_history(keys=["nope"])) == []
    with pytest.raises(UsageError, match="page_size"):
        run.scan_history(page_size=0)


# -- files ----------------------------------------------------------------------------------------------------


def test_files_and_download(api: Api, tmp_path: Path) -> None:
    live = api.run(f"{PROJECT}/live")
    names = [f.name for f in live.files()]
    assert "notes/readme.txt" in names
    assert [f.name for f in live.files(names=["notes/readme.txt"])] == ["notes/readme.txt"]
    readme = live.file("notes/readme.txt")
    assert (readme.size, readme.mimetype) == (6, "text/plain")
    assert readme.updated_at is not None and ISO.match(readme.updated_at)
    with readme.download(root=str(tmp_path)) as fh:
        assert fh.read() == "hello\n"
    target = tmp_path / "notes" / "readme.txt"
    assert target.read_bytes() == b"hello\n"

    with pytest.raises(ValueError, match="already exists"):
        readme.download(root=str(tmp_path))
    target.write_text("local edit\n")
    with readme.download(root=str(tmp_path), exist_ok=True) as fh:
        assert fh.read() == "local edit\n"  # left as it is
    with readme.download(root=str(tmp_path), replace=True) as fh:
        assert fh.read() == "hello\n"

    for file in live.files() + api.run(f"{PROJECT}/spiky").files():
        assert len(file.content()) == file.size, file.name
    with pytest.raises(NotFoundError):
        live.file("nope.txt")


# -- edits ----------------------------------------------------------------------------------------------------


def test_edits_persist(place: Place) -> None:
    place.make_run("edits", "e1", name="before", config={"lr": 0.1}, tags=["t1"], rows=[{"loss": 1.0}])
    with place.api() as api:
        run = api.run("edits/e1")
        run.name = "after"
        run.notes = "some notes"
        run.tags.append("t2")
        run.config["lr"] = 0.5
        run.config["added"] = {"x": 1}
        run.summary["best"] = 3
        run.update()
        assert (run.name, run.tags) == ("after", ["t1", "t2"])

    with place.api() as fresh:
        again = fresh.run("edits/e1")
        assert (again.name, again.display_name, again.notes, again.tags) == ("after", "after", "some notes",
                                                                             ["t1", "t2"])  # fmt: skip
        assert again.config == {"lr": 0.5, "added": {"x": 1}}
        assert again.summary["best"] == 3 and again.summary["loss"] == 1.0
        again.display_name = "third"
        again.tags = ["only"]
        again.summary.update({"extra": 7})  # stored at once, no update() needed; the summary only
        assert fresh.run("edits/e1").name == "after"
        again.update()
        stale = fresh.run("edits/e1")

    with place.api() as third:
        run = third.run("edits/e1")
        assert run.summary["extra"] == 7 and (run.name, run.tags) == ("third", ["only"])
        run.name = "unsaved"
        run.load()
        assert run.name == "third"
        with pytest.raises(UsageError, match="list of strings"):
            run.tags = "one"  # type: ignore[assignment]

    # An edit of an older copy writes only what it changed: the summary written since survives.
    stale.notes = "from a stale copy"
    stale.update()
    with place.api() as last:
        run = last.run("edits/e1")
        assert run.notes == "from a stale copy" and run.summary["extra"] == 7 and run.tags == ["only"]
        assert ids_of(last.runs("edits", filters={"display_name": "third"})) == ["e1"]


def ids_of(runs: Any) -> list[str]:
    return [run.id for run in runs]


def test_delete_removes_the_run_and_its_data(place: Place) -> None:
    place.make_run("deletions", "gone", config={"a": 1}, rows=[{"loss": float(k)} for k in range(20)])
    place.make_run("deletions", "kept", rows=[{"loss": 0.0}])
    with place.api() as api:
        run = api.run("deletions/gone")
        run.delete()
        with pytest.raises(NotFoundError):
            api.run("deletions/gone")
        assert ids_of(api.runs("deletions")) == ["kept"]
        assert api.project("deletions").run_count == 1
        with pytest.raises(NotFoundError):
            run.delete()
    # The id is free again, and the new run starts with none of the old one's history or config.
    place.make_run("deletions", "gone", rows=[{"other": 1}])
    with place.api() as api:
        again = api.run("deletions/gone")
        assert again.config == {} and again.lastHistoryStep == 0
        assert [set(row) - {"_runtime", "_timestamp"} for row in again.scan_history()] == [{"_step", "other"}]


# -- opening the API --------------------------------------------------------------------------------------------


def test_default_api_reads_settings_and_catches_up_leftover_run_logs(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_DIR", str(place.root))
    monkeypatch.setenv("RUNYARD_STORE_URL", place.url)
    # A run whose process died before anything was ingested: only its run log is left.
    records = raw_run_records("leftovers", "orphan", created_at=time.time(), tags=["orphan"])
    records.append([2, "row", {"loss": 0.25, "_step": 0, "_runtime": 0.1, "_timestamp": time.time()}])
    records.append([3, "exit", {"exit_code": 0, "state": "finished", "t": time.time(), "runtime": 0.2}])
    folder = place.root / "runyard" / "runs" / "run-20240101_000000-orphan"  # RUNYARD_DIR holds runyard/
    writer = RunLogWriter(folder / f"{records[0][2]['session']}.rylog")
    for record in records:
        writer.append(msgpack.packb(record, use_bin_type=True))
    writer.close()

    with runyard.Api() as api:
        assert api.store_url == place.url
        orphan = api.run("leftovers/orphan")
        assert orphan.state == "finished" and orphan.summary["loss"] == 0.25
        assert api.run(f"{PROJECT}/spiky").id == "spiky"
    monkeypatch.setenv("RUNYARD_PROJECT", PROJECT)
    monkeypatch.setenv("RUNYARD_ENTITY", ENTITY)
    with runyard.Api() as api:
        assert api.run("spiky").name == "spiky-run"
        assert api.settings["project"] == PROJECT and math.isfinite(len(api.runs()))
