"""Run lifecycle: crash detection, coming back to life, resuming, exit states."""

from __future__ import annotations

import time

from store_fakes import FakeSession

from runyard.store import Store


def test_stale_heartbeat_reads_crashed_and_data_revives(store_url: str, fake_session: type[FakeSession]) -> None:
    store = Store.open(store_url, crash_timeout=0.5)
    try:
        s = fake_session()
        s.log({"v": 1})
        store.ingest(s.records)
        run = store.get_run("alice", "proj", "run1")
        assert run is not None and run.state == "running"
        time.sleep(0.8)
        assert store.get_run("alice", "proj", "run1").state == "crashed"  # type: ignore[union-attr]
        assert store.list_runs("alice", "proj")[0].state == "crashed"
        s.log({"v": 2})
        store.ingest(s.records, session=s.session)
        assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
        time.sleep(0.8)
        s.add("hb", {"t": time.time()})
        store.ingest(s.records, session=s.session)
        assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
        time.sleep(0.8)
        assert store.get_run("alice", "proj", "run1").state == "crashed"  # type: ignore[union-attr]
        store.heartbeat(s.session, time.time())  # out of band, between records
        store.heartbeat("unknown-session", time.time())  # ignored
        assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
        s.exit(exit_code=3, state="failed")
        store.ingest(s.records, session=s.session)
        time.sleep(0.6)
        run = store.get_run("alice", "proj", "run1")
        assert run is not None and (run.state, run.exit_code) == ("failed", 3)
    finally:
        store.close()


def test_resumed_session_continues_the_run(store: Store, fake_session: type[FakeSession]) -> None:
    metric = {"step_metric": None, "step_sync": None, "hidden": None, "goal": None}
    first = fake_session(config={"lr": 0.1}, created_at=1000.0, group="g", job_type="train", tags=["t"])
    first.add("metric", {"name": "loss", "summary": ["mean"], **metric})
    for i in range(5):
        first.log({"loss": float(i)})
    first.exit(exit_code=1, state="failed")
    store.ingest(first.records)
    assert store.get_run("alice", "proj", "run1").state == "failed"  # type: ignore[union-attr]

    state = store.resume_state("alice", "proj", "run1")
    assert state is not None
    assert state.next_step == 5
    assert state.runtime == 42.0
    assert state.config == {"lr": 0.1}
    assert state.summary["loss"] == {"mean": 2.0}
    assert state.metrics[0]["name"] == "loss"
    assert (state.created_at, state.name, state.group, state.job_type, state.tags) == (
        1000.0,
        "name-run1",
        "g",
        "train",
        ["t"],
    )
    assert store.resume_state("alice", "proj", "nope") is None

    second = fake_session(
        resumed=True,
        start_step=state.next_step,
        runtime_offset=state.runtime,
        config={**state.config, "epochs": 3},
        created_at=time.time(),  # ignored: a resumed run keeps its creation time
        group="g",
        job_type="train",
        tags=["t"],
    )
    for i in range(5, 8):
        second.log({"loss": float(i)})
    store.ingest(second.records)
    run = store.get_run("alice", "proj", "run1")
    assert run is not None
    assert (run.state, run.exit_code, run.finished_at) == ("running", None, None)
    assert run.created_at == 1000.0
    assert run.config == {"lr": 0.1, "epochs": 3}
    assert run.last_step == 7
    assert run.runtime >= 42.0
    assert run.summary["loss"] == {"mean": 3.5}  # the mean carried on over both sessions
    assert store.series("alice", "proj", "run1", "loss") == (list(range(8)), [float(i) for i in range(8)])
    assert store.session_progress(first.session) == len(first.records)
    assert store.session_progress(second.session) == len(second.records)
    second.exit()
    store.ingest(second.records[-1:], session=second.session)
    assert store.get_run("alice", "proj", "run1").state == "finished"  # type: ignore[union-attr]
    assert len(store.list_runs("alice", "proj")) == 1


def test_mark_crashed(store: Store, fake_session: type[FakeSession]) -> None:
    first = fake_session()
    first.log({"v": 1})
    store.ingest(first.records)
    assert store.mark_crashed(first.session)
    assert store.get_run("alice", "proj", "run1").state == "crashed"  # type: ignore[union-attr]
    assert not store.mark_crashed(first.session)  # already crashed
    assert not store.mark_crashed("unknown")
    store.heartbeat(first.session, time.time())  # alive after all
    assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
    store.mark_crashed(first.session)
    first.log({"v": 2})
    store.ingest(first.records, session=first.session)  # data arrives: running again
    assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
    first.exit()
    store.ingest(first.records, session=first.session)
    assert not store.mark_crashed(first.session)  # finished runs stay finished
    assert store.get_run("alice", "proj", "run1").state == "finished"  # type: ignore[union-attr]

    time.sleep(0.01)
    second = fake_session(resumed=True, start_step=2)
    store.ingest(second.records)
    assert not store.mark_crashed(first.session)  # superseded by the resumed session
    assert store.get_run("alice", "proj", "run1").state == "running"  # type: ignore[union-attr]
    assert store.mark_crashed(second.session)
