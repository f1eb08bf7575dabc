"""Stopping a live run for real: a training process started by the real SDK, stopped through the API.

``POST .../stop`` marks the run; the run's ingester notices within about a second and interrupts the training
process, which gets KeyboardInterrupt in its main thread, and the SDK's exit hooks end the run ``killed``.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from live_server import ENTITY as SEEDED
from live_server import PROJECT, LiveServer, assert_error, seed_run

ENTITY = getpass.getuser()  # the SDK's default entity

TRAINER = """
import time, runyard
run = runyard.init(project="p", id="live1")
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1)})
    step += 1
    if step == 5:
        print("logging", flush=True)
    time.sleep(0.01)
"""

# The ingester as a thread of the training process (an offline run's log, ingested by a thread started here):
# the stop reaches the main thread through _thread.interrupt_main(). This script catches the first interrupt
# and goes on logging; a second stop request interrupts it again, like a second Ctrl-C.
THREADED = """
import sys, time, runyard
from runyard.sinks import Ingester, LocalSink
run = runyard.init(project="p", id="thread1", mode="offline")
ingester = Ingester(run._writer.path, run._session, lambda: LocalSink(sys.argv[1]), interval=0.05)
ingester.start()
step = 0
for attempt in range(2):
    try:
        while True:
            run.log({"loss": 1.0 / (step + 1)})
            step += 1
            if step == 5:
                print("logging", flush=True)
            time.sleep(0.01)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
run.finish()
print("drained", ingester.drain(run._seq, 30), flush=True)
"""


def _start(code: str, tmp_path: Path, store_url: str) -> subprocess.Popen[str]:
    script = tmp_path / "train.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update({"RUNYARD_DIR": str(tmp_path), "RUNYARD_STORE_URL": store_url, "RUNYARD_SILENT": "1"})
    return subprocess.Popen(
        [sys.executable, str(script), store_url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_running(live: LiveServer, proc: subprocess.Popen[str], path: str) -> None:
    """Wait until the trainer logs and the store holds its run as running."""
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "logging", proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + 30
    while True:
        answer = live.client.get(path)
        if answer.status_code == 200 and answer.json()["state"] == "running":
            return
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)


def test_stop_interrupts_the_training_process(live: LiveServer, tmp_path: Path, store_url: str) -> None:
    proc = _start(TRAINER, tmp_path, store_url)
    path = f"/runs/{ENTITY}/p/live1"
    try:
        _wait_running(live, proc, path)
        asked = live.client.post(path + "/stop")
        assert asked.status_code == 202, asked.text
        assert asked.json()["stop_requested_at"] is not None
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KeyboardInterrupt" in stderr, stderr
    run = live.client.get(path).json()
    assert (run["state"], run["exit_code"]) == ("killed", 255), stderr
    assert run["last_step"] >= 4
    # A killed run is not running: asking again is a conflict.
    assert_error(live.client.post(path + "/stop"), 409, "conflict", "killed")


def test_stop_reaches_an_ingester_thread_in_the_trainer(live: LiveServer, tmp_path: Path, store_url: str) -> None:
    proc = _start(THREADED, tmp_path, store_url)
    path = f"/runs/{ENTITY}/p/thread1"
    try:
        _wait_running(live, proc, path)
        assert live.client.post(path + "/stop").status_code == 202
        assert proc.stdout is not None and proc.stdout.readline().strip() == "interrupted"
        assert live.client.post(path + "/stop").status_code == 202  # the run still runs: stop it again
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stdout.split() == ["interrupted", "drained", "True"], stderr
    assert live.client.get(path).json()["state"] == "finished"  # this script caught the interrupt and finished


def test_a_resumed_session_is_not_stopped_by_an_earlier_request(live: LiveServer) -> None:
    seed_run(live.store, "r", state=None)
    assert live.client.post(f"/runs/{SEEDED}/{PROJECT}/r/stop").status_code == 202
    session = seed_run(live.store, "r", state=None)  # a new session of the run (a resume) starts
    assert live.client.get(f"/runs/{SEEDED}/{PROJECT}/r").json()["stop_requested_at"] is None
    assert live.store.stop_requested_at(session) is None
    assert not live.store.stop_requested(session)


# Logs for a minute at most, then says so: a stop that does not work lets it run to the end.
FINITE = """
import signal, sys, time, runyard
if "--catch" in sys.argv:
    signal.signal(signal.SIGINT, lambda *a: print("caught SIGINT", flush=True))
run = runyard.init(project="p", id=sys.argv[2])
for step in range(6000):
    run.log({"loss": 1.0 / (step + 1)})
    if step == 5:
        print("logging", flush=True)
    time.sleep(0.01)
print("ran to the end", flush=True)
"""


def _start_finite(tmp_path: Path, store_url: str, run_id: str, *, background: bool, catch: bool = False) -> Any:
    """The finite trainer; ``background``: started as ``python train.py &`` by a non-interactive shell, where
    it inherits SIGINT ignored. ``catch``: its own SIGINT handler carries on."""
    script = tmp_path / "train.py"
    script.write_text(FINITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "WANDB_"))}
    env.update({"RUNYARD_DIR": str(tmp_path / "runyard"), "RUNYARD_STORE_URL": store_url, "RUNYARD_SILENT": "1"})
    args = [sys.executable, str(script), store_url, run_id, *(["--catch"] if catch else [])]
    if background:
        args = ["sh", "-c", " ".join(args) + " & wait"]
    return subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_ended(live: LiveServer, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run: dict[str, Any] = live.client.get(path).json()
        if run["state"] != "running":
            return run
        assert time.monotonic() < deadline, f"still running 30 s after the stop: {run}"
        time.sleep(0.1)


def test_stop_ends_a_trainer_that_ignores_sigint(live: LiveServer, tmp_path: Path, store_url: str) -> None:
    proc = _start_finite(tmp_path, store_url, "bg1", background=True)
    path = f"/runs/{ENTITY}/p/bg1"
    try:
        _wait_running(live, proc, path)
        assert live.client.post(path + "/stop").status_code == 202
        run = _wait_ended(live, path)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ran to the end" not in stdout, stderr
    assert run["state"] == "killed", run  # not crashed: it ended because someone stopped it
    # Everything it logged before the signal is stored.
    rows = list(live.store.history(ENTITY, "p", "bg1"))
    assert len(rows) == run["last_step"] + 1 >= 6


def test_stopping_twice_forces_a_trainer_that_catches_sigint(live: LiveServer, tmp_path: Path, store_url: str) -> None:
    proc = _start_finite(tmp_path, store_url, "caught1", background=False, catch=True)
    path = f"/runs/{ENTITY}/p/caught1"
    try:
        _wait_running(live, proc, path)
        assert live.client.post(path + "/stop").status_code == 202
        assert proc.stdout is not None and proc.stdout.readline().strip() == "caught SIGINT"
        assert live.client.get(path).json()["state"] == "running"  # its handler chose to carry on
        assert live.client.post(path + "/stop").status_code == 202  # stop again: SIGTERM at once
        run = _wait_ended(live, path)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ran to the end" not in stdout, stderr
    assert proc.returncode == -signal.SIGTERM
    assert run["state"] == "killed", run
