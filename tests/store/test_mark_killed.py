"""Marking a run killed by hand, when its stop cannot land (its process out of reach, its heartbeat stale)."""

from __future__ import annotations

import time

import pytest
from store_fakes import FakeSession

from runyard.errors import ConflictError, NotFoundError
from runyard.store import Store


def test_mark_killed_ends_a_running_run_with_who_and_why(store: Store, fake_session: type[FakeSession]) -> None:
    session = fake_session()
    session.log({"v": 1})
    store.ingest(session.records)
    before = time.time()
    run = store.mark_killed("alice", "proj", "run1", by="bob", reason="the host is gone")
    assert (run.state, run.exit_code) == ("killed", 255)
    assert run.finished_at is not None and run.finished_at >= before
    mark = run.metadata["marked_killed"]
    assert (mark["by"], mark["reason"], mark["at"]) == ("bob", "the host is gone", run.finished_at)
    stored = store.get_run("alice", "proj", "run1")
    assert stored is not None and (stored.state, stored.exit_code) == ("killed", 255)
    assert stored.metadata["marked_killed"] == mark
    assert [r.run_id for r in store.list_runs("alice", "proj") if r.state == "killed"] == ["run1"]
    # The ingester of a process that died later must not turn it into crashed.
    assert not store.mark_crashed(session.session)
    assert store.get_run("alice", "proj", "run1").state == "killed"  # type: ignore[union-attr]


def test_mark_killed_refuses_an_ended_run(store: Store, fake_session: type[FakeSession]) -> None:
    session = fake_session()
    session.log({"v": 1})
    session.exit()
    store.ingest(session.records)
    with pytest.raises(ConflictError, match=r"already ended \(finished\)"):
        store.mark_killed("alice", "proj", "run1")
    assert store.get_run("alice", "proj", "run1").exit_code == 0  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no run alice/proj/nope"):
        store.mark_killed("alice", "proj", "nope")


def test_mark_killed_refuses_twice(store: Store, fake_session: type[FakeSession]) -> None:
    session = fake_session()
    session.log({"v": 1})
    store.ingest(session.records)
    store.mark_killed("alice", "proj", "run1", by="bob")
    with pytest.raises(ConflictError, match=r"already ended \(killed\)"):
        store.mark_killed("alice", "proj", "run1", by="carol")
    assert store.get_run("alice", "proj", "run1").metadata["marked_killed"]["by"] == "bob"  # type: ignore[union-attr]


def test_a_run_with_a_stale_heartbeat_can_be_marked_killed(store_url: str, fake_session: type[FakeSession]) -> None:
    store = Store.open(store_url, crash_timeout=0.05)
    try:
        session = fake_session()
        session.log({"v": 1})
        store.ingest(session.records)
        time.sleep(0.2)
        assert store.get_run("alice", "proj", "run1").state == "crashed"  # type: ignore[union-attr]
        assert store.mark_killed("alice", "proj", "run1").state == "killed"
        time.sleep(0.2)
        assert store.get_run("alice", "proj", "run1").state == "killed"  # type: ignore[union-attr]
    finally:
        store.close()


def test_data_after_the_mark_reopens_the_run_and_keeps_the_mark(store: Store, fake_session: type[FakeSession]) -> None:
    session = fake_session()
    session.log({"v": 1})
    store.ingest(session.records)
    store.mark_killed("alice", "proj", "run1", by="bob")
    store.heartbeat(session.session, time.time() + 1)  # a beat alone does not reopen it
    assert store.get_run("alice", "proj", "run1").state == "killed"  # type: ignore[union-attr]
    session.log({"v": 2})
    store.ingest(session.records, session=session.session)  # the process was alive after all: as crashed does
    run = store.get_run("alice", "proj", "run1")
    assert run is not None and (run.state, run.exit_code, run.finished_at) == ("running", None, None)
    assert run.metadata["marked_killed"]["by"] == "bob"
    assert run.metadata["marked_killed"]["revived_at"] >= run.metadata["marked_killed"]["at"]
    assert store.series("alice", "proj", "run1", "v") == ([0, 1], [1.0, 2.0])
    session.exit()
    store.ingest(session.records, session=session.session)
    assert store.get_run("alice", "proj", "run1").state == "finished"  # type: ignore[union-attr]


def test_an_exit_after_the_mark_keeps_the_run_ended(store: Store, fake_session: type[FakeSession]) -> None:
    session = fake_session()
    session.log({"v": 1})
    store.ingest(session.records)
    store.mark_killed("alice", "proj", "run1")
    session.exit(exit_code=1, state="failed")
    store.ingest(session.records, session=session.session)
    run = store.get_run("alice", "proj", "run1")
    assert run is not None and (run.state, run.exit_code) == ("failed", 1)
    assert "revived_at" not in run.metadata["marked_killed"]


def test_a_run_its_ingester_marked_crashed_cannot_be_marked_killed(
    store: Store, fake_session: type[FakeSession]
) -> None:
    session = fake_session()
    session.log({"v": 1})
    store.ingest(session.records)
    assert store.mark_crashed(session.session)  # its process is known dead: it has ended
    with pytest.raises(ConflictError, match=r"already ended \(crashed\)"):
        store.mark_killed("alice", "proj", "run1")
    assert store.get_run("alice", "proj", "run1").state == "crashed"  # type: ignore[union-attr]
