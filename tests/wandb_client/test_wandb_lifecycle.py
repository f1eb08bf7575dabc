"""A wandb client run's lifecycle: resume, a stop asked from outside, preemption, and a process that dies."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from wandb_clients import ENTITY, LATEST, OLDER, LiveServer, last_line, ok, wait_for

from runyard.store import Store


@pytest.mark.parametrize("version", [LATEST, OLDER[0]])
def test_resume_must_and_allow_continue_the_run(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    run_id = "res" + uuid.uuid4().hex[:8]
    store = server.store
    # "allow" on a run that does not exist yet creates it.
    ok(server.run_client(version, "resume", project, run_id, "allow", "a", tmp_path=tmp_path))
    second = ok(server.run_client(version, "resume", project, run_id, "must", "b", tmp_path=tmp_path))
    # The client got the stored config and summary back (and, below, continued at the right step).
    assert last_line(second, "CONFIG") == "['a', 'b']"
    assert last_line(second, "SUMMARY") == "4"
    ok(server.run_client(version, "resume", project, run_id, "allow", "c", tmp_path=tmp_path))

    run = store.get_run(ENTITY, project, run_id)
    assert run.state == "finished"
    assert run.config == {"a": 1, "b": 1, "c": 1}
    rows = list(store.history(ENTITY, project, run_id))
    assert [r["_step"] for r in rows] == list(range(15))
    assert [r["n"] for r in rows] == [0, 1, 2, 3, 4] * 3
    assert run.summary["n"] == 4
    assert run.summary["_step"] == 14
    # Runtime carries on from the stored runtime's whole seconds (as W&B resumes it), never from a bogus offset.
    assert all(0 <= r["_runtime"] < 600 for r in rows), [r["_runtime"] for r in rows]


def test_resume_must_of_a_missing_run_fails(server: LiveServer, project: str, tmp_path: Path) -> None:
    result = server.run_client(
        LATEST, "resume", project, "missing" + uuid.uuid4().hex[:6], "must", "a", tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert server.store.list_runs(ENTITY, project) == []


def _stop_and_check(server: LiveServer, project: str, tmp_path: Path, version: str, via_api: bool) -> None:
    proc = server.start_client(version, "stop", project, tmp_path=tmp_path)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[-1]
    store = server.store
    wait_for(lambda: len(list(store.history(ENTITY, project, run_id))) >= 3, what="rows of the live run")
    if via_api:
        stopped = ok(server.run_client(version, "api_stop", f"{ENTITY}/{project}/{run_id}", tmp_path=tmp_path))
        assert "STOPPED" in stopped.stdout
    else:
        store.request_stop(ENTITY, project, run_id)  # the web app's stop button
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "KEYBOARD_INTERRUPT" in out, err
    assert "NOT_STOPPED" not in out
    assert "KeyboardInterrupt" in err
    run = wait_for(lambda: (r := store.get_run(ENTITY, project, run_id)).state != "running" and r, what="the end")
    assert run.state == "killed"
    rows = list(store.history(ENTITY, project, run_id))
    assert [r["x"] for r in rows] == list(range(len(rows)))


def test_stop_from_the_web_app_interrupts_the_client(server: LiveServer, project: str, tmp_path: Path) -> None:
    _stop_and_check(server, project, tmp_path, LATEST, via_api=False)


@pytest.mark.parametrize("version", [LATEST, OLDER[-1]])
def test_stop_through_wandb_api(server: LiveServer, project: str, tmp_path: Path, version: str) -> None:
    _stop_and_check(server, project, tmp_path, version, via_api=True)


def test_mark_preempting_is_recorded(server: LiveServer, project: str, tmp_path: Path) -> None:
    before = time.time()
    result = ok(server.run_client(LATEST, "preempt", project, tmp_path=tmp_path))
    run = server.store.get_run(ENTITY, project, last_line(result, "RUN_ID"))
    assert run.state == "finished"
    assert run.preempting_at is not None and before <= run.preempting_at <= time.time()
    assert [r["x"] for r in server.store.history(ENTITY, project, run.run_id)] == [1, 2]


def test_a_client_that_dies_reads_crashed(server: LiveServer, project: str, tmp_path: Path) -> None:
    proc = server.start_client(LATEST, "crash", project, tmp_path=tmp_path)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[-1]
    store = server.store
    wait_for(lambda: len(list(store.history(ENTITY, project, run_id))) == 5, what="the rows before the crash")
    os.killpg(proc.pid, signal.SIGKILL)  # the script and its wandb-core: nothing reaches the server again
    proc.communicate(timeout=30)
    killed_at = time.time()
    # The store reads a run crashed once its heartbeat is older than the crash timeout (here 2 s).
    with Store.open(server.store_url, crash_timeout=2.0) as reader:
        run = wait_for(lambda: (r := reader.get_run(ENTITY, project, run_id)).state == "crashed" and r, what="crashed")
        assert run.exit_code is None
        assert time.time() - killed_at < 10
    assert [r["x"] for r in store.history(ENTITY, project, run_id)] == list(range(5))
