"""Ingestion: a whole session read back exactly, replays, overlaps and gaps."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
import sqlalchemy as sa
from store_fakes import FakeSession

from runyard.errors import IngestGapError, StoreError
from runyard.store import Store
from runyard.store.schema import blocks, runs, series


def _canon(value: Any) -> Any:
    """Floats by bit pattern so that NaN equals NaN and -0.0 differs from 0.0."""
    if type(value) is float:
        return ("float", struct.pack("<d", value))
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


ROWS: list[dict[str, Any]] = [
    {"loss": 1.5, "acc": 0, "text": "a", "flag": True, "nested": {"x": 1.0, "y": {"z": "deep"}}},
    {"loss": math.nan, "acc": 1, "text": None, "flag": False, "list": [1, "two", 3.0]},
    {"loss": math.inf, "acc": 2**40, "nested": {"x": -0.0}},
    {"loss": -math.inf, "acc": -7, "text": "c", "big": 2**70},
    {"loss": 0.25, "mixed": 1},
    {"mixed": 2.5, "empty": {}},
]


def _expected_rows(session: FakeSession) -> list[dict[str, Any]]:
    from runyard.flatten import flatten

    return [flatten(body) for _, kind, body in session.records if kind == "row"]


def test_full_session_reads_back_exactly(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session(config={"lr": 0.1, "arch": {"depth": 3}, "bad": math.nan}, tags=["x", "y"], notes="hi")
    for row in ROWS:
        s.log(row)
    s.add("config", {"set": {"epochs": 10, "lr": 0.2}, "delete": ["arch"]})
    s.add("summary", {"set": {"best": 0.9}, "delete": []})
    s.add("meta", {"name": "renamed", "tags": ["z"], "group": "g1"})
    s.exit(exit_code=0)
    assert store.ingest(s.records) == len(s.records)

    rows = list(store.history("alice", "proj", "run1"))
    assert _canon(rows) == _canon(_expected_rows(s))
    assert store.history_keys("alice", "proj", "run1") == sorted(
        [
            "_runtime",
            "_timestamp",
            "acc",
            "big",
            "flag",
            "list",
            "loss",
            "mixed",
            "nested.x",
            "nested.y.z",
            "text",
        ]
    )
    steps, values = store.series("alice", "proj", "run1", "loss")
    assert steps == [0, 1, 2, 3, 4]
    assert _canon(values) == _canon([1.5, math.nan, math.inf, -math.inf, 0.25])
    assert store.series("alice", "proj", "run1", "nope") == ([], [])

    run = store.get_run("alice", "proj", "run1")
    assert run is not None
    assert (run.name, run.tags, run.group, run.notes, run.state, run.exit_code) == (
        "renamed",
        ["z"],
        "g1",
        "hi",
        "finished",
        0,
    )
    assert _canon(run.config) == _canon({"lr": 0.2, "bad": math.nan, "epochs": 10})
    assert run.last_step == 5
    assert run.runtime == 42.0
    assert run.finished_at is not None
    assert (run.host, run.username, run.program) == ("host1", "alice", "train.py")
    assert run.summary["best"] == 0.9
    assert run.summary["nested"] == {"x": -0.0, "y": {"z": "deep"}}
    assert run.summary["_step"] == 5
    assert run.summary["mixed"] == 2.5
    assert math.isinf(run.summary["loss"]) is False and run.summary["loss"] == 0.25


def test_history_filters(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(20):
        s.log({"a": i} if i % 2 else {"b": float(i)})
    store.ingest(s.records)
    rows = list(store.history("alice", "proj", "run1", keys=["a"]))
    assert rows == [{"_step": i, "a": i} for i in range(1, 20, 2)]
    rows = list(store.history("alice", "proj", "run1", keys=["a", "b"], min_step=5, max_step=8))
    assert rows == [
        {"_step": 5, "a": 5},
        {"_step": 6, "b": 6.0},
        {"_step": 7, "a": 7},
        {"_step": 8, "b": 8.0},
    ]
    assert [r["_step"] for r in store.history("alice", "proj", "run1", keys=["_step"])] == list(range(20))
    assert list(store.history("alice", "proj", "nope")) == []


def test_replay_never_duplicates(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(10):
        s.log({"v": i})
    assert store.ingest(s.records[:6]) == 6
    assert store.ingest(s.records[:6]) == 6  # the same batch again
    assert store.ingest(s.records[3:9], session=s.session) == 9  # overlapping
    assert store.ingest(s.records, session=s.session) == 11  # everything again, plus the rest
    assert store.ingest(s.records[4:], session=s.session) == 11
    assert store.session_progress(s.session) == 11
    assert store.session_progress("unknown") == 0
    assert list(store.history("alice", "proj", "run1", keys=["v"])) == [{"_step": i, "v": i} for i in range(10)]
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(series)).scalar() == 3
        assert conn.execute(sa.select(sa.func.sum(blocks.c.count))).scalar() == 30


def test_gap_raises_and_applies_nothing(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(10):
        s.log({"v": i})
    store.ingest(s.records[:4])
    with pytest.raises(IngestGapError, match=s.session) as info:
        store.ingest(s.records[2:3] + s.records[5:8], session=s.session)
    assert "expected record seq 5" in str(info.value)
    with pytest.raises(IngestGapError):
        store.ingest(s.records[6:], session=s.session)
    assert store.session_progress(s.session) == 4
    assert [r["v"] for r in store.history("alice", "proj", "run1")] == [0, 1, 2]
    # A batch that is fine up to a hole applies nothing either.
    with pytest.raises(IngestGapError):
        store.ingest(s.records[4:6] + s.records[7:], session=s.session)
    assert store.session_progress(s.session) == 4
    assert store.ingest(s.records[4:], session=s.session) == 11


def test_unknown_session_without_start(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    s.log({"v": 1})
    with pytest.raises(IngestGapError):
        store.ingest(s.records[1:], session=s.session)
    with pytest.raises(StoreError, match="session="):
        store.ingest(s.records[1:])
    with pytest.raises(StoreError):
        store.ingest(s.records, session="other")
    assert store.ingest([], session=s.session) == 0


def test_two_runs_in_two_projects(store: Store, fake_session: type[FakeSession]) -> None:
    first = fake_session("r1", created_at=100.0)
    second = fake_session("r2", created_at=200.0)
    other = fake_session("r3", project="other", entity="bob")
    for s in (first, second, other):
        s.log({"v": 1})
        store.ingest(s.records)
    assert [r.run_id for r in store.list_runs("alice", "proj")] == ["r2", "r1"]
    projects = store.list_projects()
    assert {(p.entity, p.name, p.run_count) for p in projects} == {("alice", "proj", 2), ("bob", "other", 1)}
    assert [p.name for p in store.list_projects("bob")] == ["other"]
    assert store.list_runs("alice", "nope") == []
    assert store.get_run("alice", "proj", "nope") is None


def test_summary_and_metrics_through_ingestion(store: Store, fake_session: type[FakeSession]) -> None:
    metric = {"step_metric": None, "step_sync": None, "hidden": None, "goal": None}
    s = fake_session()
    s.add("metric", {"name": "loss", "summary": ["min", "mean"], **metric})
    s.add("metric", {"name": "val/*", "summary": ["max"], **metric})
    s.log({"loss": 3.0, "val/acc": 0.1, "lr": 1.0})
    store.ingest(s.records)
    s.log({"loss": 1.0, "val/acc": 0.7, "lr": 0.5})
    s.add("metric", {"name": "lr", "summary": ["none"], **metric})
    s.log({"loss": math.nan, "val/acc": 0.5, "lr": 0.25})
    s.add("metric", {"name": "loss", "summary": ["min"], **metric})  # replaces the first definition
    s.log({"loss": 5.0})
    store.ingest(s.records, session=s.session)
    run = store.get_run("alice", "proj", "run1")
    assert run is not None
    assert math.isnan(run.summary["loss"]["min"]) and set(run.summary["loss"]) == {"min"}
    assert run.summary["val/acc"] == {"max": 0.7}
    assert "lr" not in run.summary
    assert [m["name"] for m in run.metrics] == ["loss", "val/*", "lr"]
    assert run.metrics[0]["summary"] == ["min"]
    state = store.resume_state("alice", "proj", "run1")
    assert state is not None
    assert state.summary_state["loss"]["n"] == 4


def test_json_columns_keep_nonfinite_values(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session(config={"a": [math.nan, math.inf, -math.inf], "b": {"$nonfinite": "x"}})
    s.add("summary", {"set": {"x": math.nan}, "delete": []})
    store.ingest(s.records)
    run = store.get_run("alice", "proj", "run1")
    assert run is not None
    assert _canon(run.config) == _canon({"a": [math.nan, math.inf, -math.inf], "b": {"$nonfinite": "x"}})
    assert math.isnan(run.summary["x"])
    with store.engine.connect() as conn:
        raw = conn.execute(sa.select(sa.cast(runs.c.config, sa.Text))).scalar()
    assert "NaN" not in raw and "Infinity" not in raw


def test_malformed_record_raises_store_error(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    s.add("exit", {"state": "finished"})  # no "t"
    with pytest.raises(StoreError, match="malformed"):
        store.ingest(s.records)
    assert store.session_progress(s.session) == 0


def test_long_names_and_keys(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session("r" * 300, name="n" * 1000, project="p" * 300)
    s.log({"k" * 1000: 1.0})
    store.ingest(s.records)
    assert store.history_keys("alice", "p" * 300, "r" * 300)[-1] == "k" * 1000
